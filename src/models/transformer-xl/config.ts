// Transformer-XL baseline config (spec §8): L pre-LN causal layers over segments of S tokens,
// each layer also attending to the cached, gradient-free inputs it saw in the previous
// segment(s) (memory of up to Mem rows). Positions: rotary on absolute positions, which makes
// q·k depend only on the distance — a stand-in for XL's learned relative encoding (docs).
import { invalidConfig } from '../../errors.js';

export interface XLConfig {
  readonly vocabSize: number;
  /** Tokens per training example; processed as ceil(contextLength / segmentLength) segments. */
  readonly contextLength: number;
  /** S: tokens per segment (queries per layer per step of the recurrence). */
  readonly segmentLength: number;
  /** Mem: previous-segment rows each layer keeps and attends to (0: a plain segment-local Transformer). */
  readonly memoryLength: number;
  readonly numLayers: number;
  readonly width: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly rotaryFraction: number;
  /** Longest rotary wavelength; must be ≥ segmentLength + memoryLength (the widest distance attended). */
  readonly maxWavelength: number;
  readonly dropout: number;
  readonly zLoss: number;
  readonly layerNormEps: number;
}

export const XL_DEFAULTS: XLConfig = Object.freeze({
  vocabSize: 259, contextLength: 4096, segmentLength: 512, memoryLength: 512, numLayers: 6, width: 512, numHeads: 8, mlpRatio: 4,
  rotaryFraction: 0.5, maxWavelength: 4096, dropout: 0.1, zLoss: 1e-4, layerNormEps: 1e-5,
});

type Check = (c: XLConfig) => string | null;
const int = (key: keyof XLConfig, min: number): Check => (c) => {
  const v = c[key];
  return Number.isInteger(v) && v >= min ? null : `${key} must be an integer ≥ ${min}, got ${v}`;
};
const range = (key: keyof XLConfig, lo: number, hi: number, hiOpen = false): Check => (c) => {
  const v = c[key];
  return typeof v === 'number' && v >= lo && (hiOpen ? v < hi : v <= hi) ? null : `${key} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`;
};

const CHECKS: readonly Check[] = [
  int('vocabSize', 4), int('contextLength', 1), int('segmentLength', 1), int('memoryLength', 0), int('numLayers', 1), int('width', 1),
  int('numHeads', 1), int('mlpRatio', 1), range('rotaryFraction', 0, 1), range('dropout', 0, 1, true), range('zLoss', 0, 1),
  range('layerNormEps', 1e-12, 1),
  (c) => (c.width % c.numHeads === 0 ? null : `width (${c.width}) must be divisible by numHeads (${c.numHeads})`),
  (c) => (c.width / c.numHeads <= 256 ? null : 'head dimension width/numHeads must be ≤ 256; raise numHeads'),
  (c) => (c.segmentLength <= c.contextLength ? null : `segmentLength (${c.segmentLength}) must be ≤ contextLength (${c.contextLength})`),
  (c) => (c.maxWavelength >= c.segmentLength + c.memoryLength ? null
    : `maxWavelength (${c.maxWavelength}) must be ≥ segmentLength + memoryLength (${c.segmentLength + c.memoryLength})`),
];

/** Fills defaults, checks every field, and returns a frozen copy (or one error listing every problem). */
export function validateXLConfig(config: Partial<XLConfig>): XLConfig {
  const unknown = Object.keys(config).filter((k) => !(k in XL_DEFAULTS));
  const c = { ...XL_DEFAULTS, ...config } as XLConfig;
  const problems = [
    ...unknown.map((k) => `unknown key '${k}'; allowed: ${Object.keys(XL_DEFAULTS).join(', ')}`),
    ...CHECKS.map((check) => check(c)).filter((p): p is string => p !== null),
  ];
  if (problems.length) throw invalidConfig('Transformer-XL config', problems);
  return Object.freeze(c);
}

export function xlParameterCount(c: XLConfig): number {
  const C = c.width, F = c.mlpRatio * C;
  const layer = 2 * C + (C * C + C) + (C * 2 * C + 2 * C) + (C * C + C) + 2 * C + (C * F + F) + (F * C + C);
  return c.vocabSize * C + c.numLayers * layer + 2 * C + C * c.vocabSize + c.vocabSize;
}

/**
 * Training FLOPs per token (3× the forward): per layer the q, k|v (queries and memory rows: the
 * memory's k|v are recomputed each segment), output and MLP matmuls, and attention over on average
 * Mem + S/2 keys.
 */
export function xlFlopsPerToken(c: XLConfig): number {
  const C = c.width, F = c.mlpRatio * C, S = c.segmentLength, Mem = c.memoryLength;
  const layer = 2 * C * C + (2 * C * 2 * C) * (S + Mem) / S + 2 * C * C + 2 * 2 * C * F + 4 * (Mem + S / 2) * C;
  return 3 * (c.numLayers * layer + 2 * C * c.vocabSize);
}
