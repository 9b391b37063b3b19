// Perceiver AR architecture config (spec §3), validated with messages that say what is allowed,
// frozen, and stored inside checkpoints so a model can be rebuilt from the file alone.
import { invalidConfig } from '../../errors.js';
import type { RotarySpacing } from '../../kernels/formulas.js';
import type { Activation } from '../../kernels/types.js';

/** 'learned+rotary': a learned absolute table and rotary positions together (the PyTorch port's abs_pos_emb). */
export type PositionEncoding = 'rotary' | 'sinusoidal' | 'learned' | 'learned+rotary';
/** Where the latents come from: a linear projection of their inputs' embeddings, or the embeddings themselves (embedDim = width). */
export type LatentInput = 'projection' | 'embedding';
/** Which bias vectors the linear maps have: all of them, or only the cross-attend's output projection (the port). */
export type LinearBiases = 'all' | 'cross-output';
/** The output: its own linear map, or the token embedding transposed (tied), with or without a bias. */
export type OutputHead = 'linear' | 'tied' | 'tied+bias';
export type CrossAttendDropoutMode = 'subsample' | 'mask';

export interface ModelConfig {
  /** V: ids, including PAD/EOS/SOS (259 for bytes). */
  readonly vocabSize: number;
  /** M: inputs per example. */
  readonly contextLength: number;
  /** N: latents, on the last N inputs (N = M gives the decoder-only Transformer). */
  readonly numLatents: number;
  /** L: causal self-attention layers over the latents. */
  readonly numLayers: number;
  /** C: latent width. */
  readonly width: number;
  /** C_in: input embedding width. */
  readonly embedDim: number;
  readonly numHeads: number;
  readonly crossAttendHeads: number;
  readonly mlpRatio: number;
  /** 'rotary' (relative, the reference default), or absolute 'sinusoidal' / 'learned' tables. */
  readonly position: PositionEncoding;
  /** Rotary: fraction of each head's dims rotated (floor_even(headDim × fraction)). */
  readonly rotaryFraction: number;
  /** The longest wavelength of the rotary or sinusoidal encoding (the base with rotarySpacing 'roformer'); rotary needs ≥ contextLength. */
  readonly maxWavelength: number;
  /** How the rotary frequencies are spaced: 'perceiver' (from 1 to 1/maxWavelength) or 'roformer' (base^(−2i/r)). */
  readonly rotarySpacing: RotarySpacing;
  /** Self-attention layers (from the first) whose queries and keys are rotated; −1: all. The cross-attend always is. */
  readonly rotaryLayers: number;
  /**
   * Absolute tables: 1 embeds each input's event index (sequences); P > 1 embeds P coordinates
   * from batch.coordinates (e.g. 3 for x, y, channel), one learned table each, summed. The event
   * index alone orders the inputs either way.
   */
  readonly positionDims: number;
  /** Absolute: the largest position a table holds (per dimension). */
  readonly maxPosition: number;
  /** Residual dropout on attention and MLP outputs (training only). */
  readonly dropout: number;
  /** Fraction of the prefix inputs dropped from the cross-attend during training. */
  readonly crossAttendDropout: number;
  readonly crossAttendDropoutMode: CrossAttendDropoutMode;
  readonly zLoss: number;
  readonly layerNormEps: number;
  /**
   * Causal AdaTape (spec adatape §8): T tape tokens read once per sequence from the prefix (the
   * inputs before the first latent) and appended to the cross-attend's keys/values as entries
   * every latent sees; 0 = no tape. Needs held keys (keyChunk not streaming).
   */
  readonly tapeLength: number;
  /** τ of the tape reader. */
  readonly tapeThreshold: number;
  /** K of the tape reader; 0 = ⌊tapeLength/tapeThreshold⌋. */
  readonly tapeCandidates: number;
  /** λ: weight of the ponder loss mean_b(R_b). */
  readonly tapePonderWeight: number;
  // The PyTorch port's architecture (spec krasserm-interop §4) is these switches away from ours.
  readonly latentInput: LatentInput;
  /** The norm of the latents' own keys/values in the cross-attend: the inputs' ('kv') or the queries' ('query', the port). */
  readonly latentKeyNorm: 'kv' | 'query';
  readonly linearBiases: LinearBiases;
  /** The MLP's activation. */
  readonly activation: Activation;
  /** A LayerNorm before the output. */
  readonly outputNorm: boolean;
  readonly outputHead: OutputHead;
  /**
   * The logit of PAD (id 0, never a target or a sample here): 'learned' as any other, or 'excluded'
   * (−1e30, so the softmax is over the other ids alone: models imported from vocabularies without a
   * PAD at 0, whose ids are shifted by one).
   */
  readonly padLogit: 'learned' | 'excluded';
  /**
   * Where positions count from: the event index in the whole sequence ('event'), or the first input
   * of each window ('window', the port: positions restart at every crop, so an absolute table
   * only ever sees 1…contextLength). Rotary attention depends on differences alone and is the same either way.
   */
  readonly positionOrigin: 'event' | 'window';
}

export const MODEL_DEFAULTS: ModelConfig = Object.freeze({
  vocabSize: 259, contextLength: 1024, numLatents: 256, numLayers: 4, width: 256, embedDim: 256,
  numHeads: 4, crossAttendHeads: 4, mlpRatio: 4, position: 'rotary', rotaryFraction: 0.5, maxWavelength: 1024,
  positionDims: 1, maxPosition: 1025, dropout: 0.1, crossAttendDropout: 0, crossAttendDropoutMode: 'subsample',
  zLoss: 1e-4, layerNormEps: 1e-5, tapeLength: 0, tapeThreshold: 2, tapeCandidates: 0, tapePonderWeight: 0.01,
  rotarySpacing: 'perceiver', rotaryLayers: -1, latentInput: 'projection', latentKeyNorm: 'kv', linearBiases: 'all', activation: 'squared-relu',
  outputNorm: true, outputHead: 'linear', padLogit: 'learned', positionOrigin: 'event',
});

/** Whether the model rotates queries and keys (rotary positions, alone or with a learned table). */
export const hasRotary = (c: Pick<ModelConfig, 'position'>): boolean => c.position === 'rotary' || c.position === 'learned+rotary';
/** Whether the model adds absolute position tables to its input embeddings. */
export const hasTable = (c: Pick<ModelConfig, 'position'>): boolean => c.position !== 'rotary';
/** Whether those tables are learned parameters (sinusoidal ones are fixed). */
export const hasLearnedTable = (c: Pick<ModelConfig, 'position'>): boolean => c.position === 'learned' || c.position === 'learned+rotary';
/** Whether self-attention layer l (0-based) rotates its queries and keys. */
export const rotatesLayer = (c: Pick<ModelConfig, 'position' | 'rotaryLayers'>, l: number): boolean =>
  hasRotary(c) && (c.rotaryLayers === -1 || l < c.rotaryLayers);

type Check = (c: ModelConfig) => string | null;

const int = (key: keyof ModelConfig, min: number): Check => (c) => {
  const v = c[key] as number;
  return Number.isInteger(v) && v >= min ? null : `${key} must be an integer ≥ ${min}, got ${v}`;
};
const range = (key: keyof ModelConfig, lo: number, hi: number, hiOpen = false): Check => (c) => {
  const v = c[key] as number;
  return typeof v === 'number' && v >= lo && (hiOpen ? v < hi : v <= hi) ? null : `${key} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`;
};
const oneOf = (key: keyof ModelConfig, allowed: readonly string[]): Check => (c) =>
  allowed.includes(c[key] as string) ? null : `${key} must be one of ${allowed.join(', ')}, got '${String(c[key])}'`;
const flag = (key: keyof ModelConfig): Check => (c) => (typeof c[key] === 'boolean' ? null : `${key} must be true or false, got ${String(c[key])}`);

const CHECKS: readonly Check[] = [
  int('vocabSize', 4), int('contextLength', 1), int('numLatents', 1), int('numLayers', 0), int('width', 1), int('embedDim', 1),
  int('numHeads', 1), int('crossAttendHeads', 1), int('mlpRatio', 1), int('positionDims', 1), int('maxPosition', 1),
  oneOf('position', ['rotary', 'sinusoidal', 'learned', 'learned+rotary']), oneOf('crossAttendDropoutMode', ['subsample', 'mask']),
  oneOf('rotarySpacing', ['perceiver', 'roformer']), oneOf('latentInput', ['projection', 'embedding']), oneOf('latentKeyNorm', ['kv', 'query']),
  oneOf('linearBiases', ['all', 'cross-output']), oneOf('activation', ['squared-relu', 'gelu', 'gelu-erf']), flag('outputNorm'),
  oneOf('outputHead', ['linear', 'tied', 'tied+bias']), oneOf('padLogit', ['learned', 'excluded']), oneOf('positionOrigin', ['event', 'window']),
  (c) => (c.positionOrigin === 'event' || c.positionDims === 1 ? null : `positionOrigin 'window' renumbers the event index; it needs positionDims 1`),
  (c) => (Number.isInteger(c.rotaryLayers) && c.rotaryLayers >= -1 && c.rotaryLayers <= c.numLayers ? null
    : `rotaryLayers must be an integer in [−1, numLayers = ${c.numLayers}] (−1: every layer), got ${c.rotaryLayers}`),
  (c) => (c.latentInput === 'projection' || c.embedDim === c.width ? null
    : `latentInput 'embedding' uses the input embeddings as latents: embedDim (${c.embedDim}) must equal width (${c.width})`),
  (c) => (c.latentKeyNorm === 'kv' || c.latentInput === 'embedding' ? null
    : `latentKeyNorm 'query' normalises the latents' inputs with the query norm: it needs latentInput 'embedding'`),
  (c) => (c.tapeLength === 0 || c.latentKeyNorm === 'kv' ? null : `a prefix tape (tapeLength ${c.tapeLength}) with latentKeyNorm 'query' is not supported; use latentKeyNorm 'kv'`),
  (c) => (c.outputHead === 'linear' || c.embedDim === c.width ? null
    : `outputHead '${c.outputHead}' multiplies by the token embedding: embedDim (${c.embedDim}) must equal width (${c.width})`),
  range('rotaryFraction', 0, 1), range('maxWavelength', 1, 1e15), range('dropout', 0, 1, true), range('crossAttendDropout', 0, 1, true), range('zLoss', 0, 1),
  range('layerNormEps', 1e-12, 1), int('tapeLength', 0), int('tapeCandidates', 0), range('tapeThreshold', 1e-3, 1e6), range('tapePonderWeight', 0, 1e3),
  (c) => (c.tapeLength === 0 || c.tapeThreshold <= c.tapeLength ? null : `tapeThreshold (${c.tapeThreshold}) must be ≤ tapeLength (${c.tapeLength})`),
  (c) => (c.tapeLength === 0 || (c.tapeCandidates || Math.floor(c.tapeLength / c.tapeThreshold)) >= 1 ? null
    : 'tape candidates ⌊tapeLength/tapeThreshold⌋ is 0; set tapeCandidates ≥ 1'),
  (c) => (c.tapeLength === 0 || c.embedDim % c.crossAttendHeads === 0 ? null
    : `with a tape, embedDim (${c.embedDim}) must be divisible by crossAttendHeads (${c.crossAttendHeads}): the reader's key width is embedDim/crossAttendHeads`),
  (c) => (c.numLatents <= c.contextLength ? null : `numLatents (${c.numLatents}) must be ≤ contextLength (${c.contextLength})`),
  (c) => (c.width % c.numHeads === 0 ? null : `width (${c.width}) must be divisible by numHeads (${c.numHeads})`),
  (c) => (c.width % c.crossAttendHeads === 0 ? null : `width (${c.width}) must be divisible by crossAttendHeads (${c.crossAttendHeads})`),
  (c) => (c.width / Math.min(c.numHeads, c.crossAttendHeads) <= 256 ? null : `head dimension width/heads must be ≤ 256; raise numHeads or crossAttendHeads`),
  (c) => (!hasRotary(c) || c.rotarySpacing === 'roformer' || c.maxWavelength >= c.contextLength ? null
    : `maxWavelength (${c.maxWavelength}) must be ≥ contextLength (${c.contextLength}) with rotary positions`),
  (c) => (!hasRotary(c) || c.positionDims === 1 ? null : `rotary positions use one position dimension; positionDims must be 1`),
  (c) => (c.position !== 'sinusoidal' || c.positionDims === 1 ? null
    : `sinusoidal positions embed the event index only (positionDims 1); for ${c.positionDims} coordinates use position=learned (one table per coordinate, summed, as the reference)`),
  // With one table the event index is embedded, so the table must reach the context; coordinate
  // tables (positionDims > 1) hold the coordinates' range instead.
  (c) => (!hasTable(c) || c.positionDims > 1 || c.maxPosition >= c.contextLength ? null
    : `maxPosition (${c.maxPosition}) must be ≥ contextLength (${c.contextLength}) with absolute positions`),
];

/** Validates and freezes a model config, reporting every problem at once. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  const problems = CHECKS.map((check) => check(config)).filter((p): p is string => p !== null);
  const unknown = Object.keys(config).filter((k) => !(k in MODEL_DEFAULTS));
  for (const k of unknown) problems.push(`unknown model key '${k}'; allowed: ${Object.keys(MODEL_DEFAULTS).join(', ')}`);
  if (problems.length) throw invalidConfig('model config', problems);
  return Object.freeze({ ...config });
}

/**
 * Absolute position tables hold positions up to maxPosition; `what` reaches `longest`. Refused up
 * front (not at the first crop past the table, hours into a run), saying what to use instead.
 */
export function checkPositionReach(c: Pick<ModelConfig, 'position' | 'maxPosition'> & Partial<Pick<ModelConfig, 'positionOrigin'>>, longest: number,
  what: string): void {
  // Positions that restart at each window never pass the context, which the table holds.
  if (!hasTable(c) || c.positionOrigin === 'window' || longest <= c.maxPosition) return;
  throw new RangeError(`${what} reaches position ${longest}, beyond maxPosition ${c.maxPosition} of the model's ${c.position} position table; ` +
    `raise maxPosition to at least ${longest}, or use position=rotary (relative positions: any length)`);
}

export const headDim = (c: ModelConfig, heads: number): number => c.width / heads;

/** Parameter count (for `info`). */
export function parameterCount(c: ModelConfig): number {
  const C = c.width, Ci = c.embedDim, F = c.mlpRatio * C, all = c.linearBiases === 'all' ? 1 : 0;
  const mlp = C * F + all * F + F * C + all * C + 2 * C;
  const cross = 2 * C + 2 * Ci + C * C + all * C + Ci * 2 * C + all * 2 * C + C * C + C + mlp;
  const self = 2 * C + C * 3 * C + all * 3 * C + C * C + all * C + mlp;
  const positions = hasLearnedTable(c) ? c.positionDims * (c.maxPosition + 1) * Ci : 0;
  const tape = c.tapeLength > 0 ? 2 * Ci + Ci * 2 * Ci + 2 * Ci + Ci * Ci + Ci : 0;
  const latents = c.latentInput === 'projection' ? Ci * C + C : 0;
  const output = (c.outputNorm ? 2 * C : 0) + (c.outputHead === 'linear' ? C * c.vocabSize : 0) + (c.outputHead === 'tied' ? 0 : c.vocabSize);
  return c.vocabSize * Ci + positions + latents + cross + c.numLayers * self + output + tape;
}

/**
 * Training FLOPs per predicted token (forward + backward ≈ 3× forward), counting matmuls and
 * attention. Latent i of N sees M − N + i + 1 inputs (mean M − N/2) in the cross-attend and i + 1
 * latents (mean N/2) in each self-attention; the K/V projection of the M inputs is spread over the
 * N latents. `contextLength` may be lowered to the keys actually seen (cross-attend dropout).
 */
export function flopsPerToken(c: ModelConfig, numLatents = c.numLatents, contextLength = c.contextLength): number {
  const C = c.width, Ci = c.embedDim, F = c.mlpRatio * C, N = numLatents, M = contextLength;
  const mlp = 2 * 2 * C * F;
  const kvPerRow = 2 * M * Ci * 2 * C;
  const cross = 2 * Ci * C + 2 * C * C * 2 + mlp + 4 * (M - N / 2) * C;
  const self = 2 * C * 3 * C + 2 * C * C + mlp + 4 * (N / 2) * C;
  return 3 * (cross + c.numLayers * self + 2 * C * c.vocabSize + kvPerRow / N);
}
