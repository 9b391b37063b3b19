// Perceiver AR architecture config (spec §3), validated with messages that say what is allowed,
// frozen, and stored inside checkpoints so a model can be rebuilt from the file alone.
import { invalidConfig } from '../../errors.js';

export type PositionEncoding = 'rotary' | 'sinusoidal' | 'learned';
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
  /** The longest wavelength of the rotary or sinusoidal encoding; rotary needs ≥ contextLength. */
  readonly maxWavelength: number;
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
}

export const MODEL_DEFAULTS: ModelConfig = Object.freeze({
  vocabSize: 259, contextLength: 1024, numLatents: 256, numLayers: 4, width: 256, embedDim: 256,
  numHeads: 4, crossAttendHeads: 4, mlpRatio: 4, position: 'rotary', rotaryFraction: 0.5, maxWavelength: 1024,
  positionDims: 1, maxPosition: 1025, dropout: 0.1, crossAttendDropout: 0, crossAttendDropoutMode: 'subsample',
  zLoss: 1e-4, layerNormEps: 1e-5, tapeLength: 0, tapeThreshold: 2, tapeCandidates: 0, tapePonderWeight: 0.01,
});

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

const CHECKS: readonly Check[] = [
  int('vocabSize', 4), int('contextLength', 1), int('numLatents', 1), int('numLayers', 0), int('width', 1), int('embedDim', 1),
  int('numHeads', 1), int('crossAttendHeads', 1), int('mlpRatio', 1), int('positionDims', 1), int('maxPosition', 1),
  oneOf('position', ['rotary', 'sinusoidal', 'learned']), oneOf('crossAttendDropoutMode', ['subsample', 'mask']),
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
  (c) => (c.position !== 'rotary' || c.maxWavelength >= c.contextLength ? null
    : `maxWavelength (${c.maxWavelength}) must be ≥ contextLength (${c.contextLength}) with rotary positions`),
  (c) => (c.position !== 'rotary' || c.positionDims === 1 ? null : `rotary positions use one position dimension; positionDims must be 1`),
  (c) => (c.position !== 'sinusoidal' || c.positionDims === 1 ? null
    : `sinusoidal positions embed the event index only (positionDims 1); for ${c.positionDims} coordinates use position=learned (one table per coordinate, summed, as the reference)`),
  // With one table the event index is embedded, so the table must reach the context; coordinate
  // tables (positionDims > 1) hold the coordinates' range instead.
  (c) => (c.position === 'rotary' || c.positionDims > 1 || c.maxPosition >= c.contextLength ? null
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
export function checkPositionReach(c: Pick<ModelConfig, 'position' | 'maxPosition'>, longest: number, what: string): void {
  if (c.position === 'rotary' || longest <= c.maxPosition) return;
  throw new RangeError(`${what} reaches position ${longest}, beyond maxPosition ${c.maxPosition} of the model's ${c.position} position table; ` +
    `raise maxPosition to at least ${longest}, or use position=rotary (relative positions: any length)`);
}

export const headDim = (c: ModelConfig, heads: number): number => c.width / heads;

/** Parameter count (for `info`). */
export function parameterCount(c: ModelConfig): number {
  const C = c.width, Ci = c.embedDim, F = c.mlpRatio * C;
  const mlp = C * F + F + F * C + C + 2 * C;
  const cross = 2 * C + 2 * Ci + C * C + C + Ci * 2 * C + 2 * C + C * C + C + mlp;
  const self = 2 * C + C * 3 * C + 3 * C + C * C + C + mlp;
  const positions = c.position === 'learned' ? c.positionDims * (c.maxPosition + 1) * Ci : 0;
  const tape = c.tapeLength > 0 ? 2 * Ci + Ci * 2 * Ci + 2 * Ci + Ci * Ci + Ci : 0;
  return c.vocabSize * Ci + positions + Ci * C + C + cross + c.numLayers * self + 2 * C + C * c.vocabSize + c.vocabSize + tape;
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
