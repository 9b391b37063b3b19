// Sequence classifiers on the encoder (spec adatape §4–§7): AdaTape and its baselines, one typed
// config. `model` picks the network; knobs that do not apply to it are ignored.
//   adatape     one input token (Dense of the flattened one-hot sequence) + an adaptive tape
//   no-tape     the same network without the tape (control)
//   transformer one token per element (Dense of its one-hot + learned position)
//   universal   element tokens through ONE shared block applied recurrently with per-position ACT
// input 'image' (spec adatape §2): every model is a ViT over non-overlapping patchSize patches
// (Dense of the patch's pixels + a learned position per patch); AdaTape's input-driven bank is the
// same image in finer bankPatchSize patches with its own position table and Dense.
import { invalidConfig } from '../../errors.js';
import type { PonderTerm } from './reader.js';

export type ClassifierKind = 'adatape' | 'no-tape' | 'transformer' | 'universal';

export type ClassifierInput = 'symbols' | 'image';

export interface ClassifierConfig {
  readonly model: ClassifierKind;
  /** 'symbols': values are symbol ids (parity); 'image': pixels, split into patches. */
  readonly input: ClassifierInput;
  /** Image input: the image's shape, the backbone's patch side and the input-driven bank's (finer) patch side. */
  readonly imageHeight: number;
  readonly imageWidth: number;
  readonly imageChannels: number;
  readonly patchSize: number;
  readonly bankPatchSize: number;
  /** Elements per example (parity: its length; image: the number of patches). */
  readonly sequenceLength: number;
  /** Distinct element values (parity: 3, for −1, 0, +1). */
  readonly symbols: number;
  readonly numClasses: number;
  readonly width: number;
  readonly numHeads: number;
  /** Blocks (universal: the most recurrent steps is maxSteps; it has one shared block). */
  readonly numLayers: number;
  readonly mlpRatio: number;
  readonly layerNormEps: number;
  /** Prepend a learned CLS token. */
  readonly cls: boolean;
  /** The tape reader's query: the mean of the input tokens at the reading layer, or the CLS token. */
  readonly query: 'mean' | 'cls';
  /** Classifier pooling: the mean over valid tokens (tape slots ≥ n excluded), or the CLS token. */
  readonly pool: 'mean' | 'cls';
  /** Tape bank: 'input' (one token per element, Dense(one-hot), no position) or a 'learnable' [bankSize, C] matrix. */
  readonly bank: 'input' | 'learnable';
  readonly bankSize: number;
  /** T: the most tape tokens read. */
  readonly maxTape: number;
  /** τ: halting threshold. */
  readonly threshold: number;
  /** K: candidates merged per step; 0 = ⌊T/τ⌋ (the paper's setting). */
  readonly candidates: number;
  /** The tape is read before block readLayer (0 = before the first). */
  readonly readLayer: number;
  /** Pass tape tokens through a GLU MLP (no residual) before appending them. */
  readonly tapeMlp: boolean;
  /** Tape rows get their own FFN in every later block. */
  readonly separateTapeFfn: boolean;
  /** λ: weight of the ponder loss mean_b(R_b). */
  readonly ponderWeight: number;
  readonly ponder: PonderTerm;
  /** Training only: probability of hiding each learnable-bank token for a batch row. */
  readonly bankHide: number;
  /** Training only: σ of Gaussian noise added to the reader's query. */
  readonly queryNoise: number;
  /** Universal Transformer: the most recurrent steps, the ACT ε and the ponder-cost weight. */
  readonly maxSteps: number;
  readonly haltingEps: number;
  readonly actWeight: number;
}

export const CLASSIFIER_DEFAULTS: ClassifierConfig = Object.freeze({
  model: 'adatape', input: 'symbols', imageHeight: 28, imageWidth: 28, imageChannels: 1, patchSize: 7, bankPatchSize: 4,
  sequenceLength: 32, symbols: 3, numClasses: 2, width: 64, numHeads: 4, numLayers: 4, mlpRatio: 4, layerNormEps: 1e-6,
  cls: false, query: 'mean', pool: 'mean', bank: 'input', bankSize: 32, maxTape: 10, threshold: 2, candidates: 0, readLayer: 0,
  tapeMlp: true, separateTapeFfn: false, ponderWeight: 0.01, ponder: 'sum-squares', bankHide: 0, queryNoise: 0,
  maxSteps: 8, haltingEps: 0.01, actWeight: 0.01,
}) as ClassifierConfig;

export const hasTape = (c: ClassifierConfig): boolean => c.model === 'adatape';
export const elementTokens = (c: ClassifierConfig): boolean => c.model === 'transformer' || c.model === 'universal' || c.input === 'image';
/** Image input: patches of side `side` in raster order (rows of patches, then columns). */
export const patchGrid = (c: ClassifierConfig, side: number): { rows: number; cols: number; count: number; features: number } => {
  const rows = Math.floor(c.imageHeight / side), cols = Math.floor(c.imageWidth / side);
  return { rows, cols, count: rows * cols, features: side * side * c.imageChannels };
};
/** Bank tokens per example of an input-driven bank (parity: one per element; image: the finer patches). */
export const inputBankTokens = (c: ClassifierConfig): number => (c.input === 'image' ? patchGrid(c, c.bankPatchSize).count : c.sequenceLength);
/** Bank tokens one example reads from: the input-driven bank's, or the learnable bank's bankSize. */
export const bankTokens = (c: ClassifierConfig): number => (c.bank === 'input' ? inputBankTokens(c) : c.bankSize);
/** K actually used. */
export const candidatesOf = (c: ClassifierConfig): number => c.candidates || Math.floor(c.maxTape / c.threshold);
/** Input rows (CLS + element or flat tokens) and tape rows of the sequence. */
export function sequenceRows(c: ClassifierConfig): { inputRows: number; tapeRows: number } {
  return { inputRows: (c.cls ? 1 : 0) + (elementTokens(c) ? c.sequenceLength : 1), tapeRows: hasTape(c) ? c.maxTape : 0 };
}

export function validateClassifierConfig(c: ClassifierConfig): ClassifierConfig {
  const p: string[] = [];
  for (const k of Object.keys(c)) if (!(k in CLASSIFIER_DEFAULTS)) p.push(`unknown key '${k}'; allowed: ${Object.keys(CLASSIFIER_DEFAULTS).join(', ')}`);
  const int = (k: keyof ClassifierConfig, min: number): void => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < min) p.push(`${k} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  const oneOf = (k: keyof ClassifierConfig, allowed: readonly unknown[]): void => {
    if (!allowed.includes(c[k])) p.push(`${k} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(c[k])}`);
  };
  const range = (k: keyof ClassifierConfig, lo: number, hi: number): void => {
    const v = c[k] as number;
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) p.push(`${k} must be in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  };
  oneOf('model', ['adatape', 'no-tape', 'transformer', 'universal']); oneOf('input', ['symbols', 'image']);
  for (const k of ['imageHeight', 'imageWidth', 'imageChannels', 'patchSize', 'bankPatchSize'] as const) int(k, 1);
  if (c.input === 'image' && p.length === 0) {
    for (const [k, side] of [['patchSize', c.patchSize], ['bankPatchSize', c.bankPatchSize]] as const) {
      if (c.imageHeight % side !== 0 || c.imageWidth % side !== 0) p.push(`${k} (${side}) must divide the image's ${c.imageHeight}×${c.imageWidth} (patches do not overlap)`);
    }
    const patches = patchGrid(c, c.patchSize).count;
    if (p.length === 0 && c.sequenceLength !== patches) p.push(`sequenceLength must be the number of ${c.patchSize}×${c.patchSize} patches, ${patches}; got ${c.sequenceLength}`);
  }
  for (const k of ['sequenceLength', 'width', 'numHeads', 'mlpRatio', 'maxTape', 'maxSteps', 'bankSize'] as const) int(k, 1);
  int('symbols', 2); int('numClasses', 2); int('numLayers', 1); int('candidates', 0); int('readLayer', 0);
  oneOf('cls', [true, false]); oneOf('tapeMlp', [true, false]); oneOf('separateTapeFfn', [true, false]);
  oneOf('query', ['mean', 'cls']); oneOf('pool', ['mean', 'cls']); oneOf('bank', ['input', 'learnable']); oneOf('ponder', ['sum-squares', 'max']);
  range('threshold', 1e-3, 1e6); range('ponderWeight', 0, 1e3); range('bankHide', 0, 0.99); range('queryNoise', 0, 1e3);
  range('haltingEps', 0, 0.5); range('actWeight', 0, 1e3); range('layerNormEps', 1e-12, 1);
  if (Number.isInteger(c.width) && Number.isInteger(c.numHeads) && c.width % c.numHeads !== 0) {
    p.push(`width (${c.width}) must be divisible by numHeads (${c.numHeads})`);
  }
  if ((c.query === 'cls' || c.pool === 'cls') && !c.cls) p.push("query or pool 'cls' needs cls: true (a CLS token)");
  if (c.model === 'adatape') {
    if (c.readLayer >= c.numLayers) p.push(`readLayer (${c.readLayer}) must be < numLayers (${c.numLayers}): the tape is read before a block`);
    if (candidatesOf(c) < 1) p.push(`candidates: ⌊maxTape/threshold⌋ = ${candidatesOf(c)}; raise maxTape, lower threshold, or set candidates ≥ 1`);
    if (c.threshold > c.maxTape) p.push(`threshold (${c.threshold}) must be ≤ maxTape (${c.maxTape}): each step adds at most 1 to the halting score`);
  }
  if (p.length) throw invalidConfig('classifier config', p);
  return Object.freeze({ ...c });
}
