// Run settings, separate from the architecture: optimisation, schedule, evaluation, stopping,
// and which data to train on. Validated with messages that say what is allowed.
import { invalidConfig } from '../errors.js';
import type { DecaySchedule } from './schedule.js';

export interface TrainConfig {
  readonly batchSize: number;
  /** Micro-batches whose gradients are summed before each optimiser step. */
  readonly gradAccumulation: number;
  readonly steps: number;
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly schedule: DecaySchedule;
  readonly minLearningRateRatio: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Global-norm gradient clipping; 0 disables. */
  readonly clipNorm: number;
  readonly seed: number;
  /** Steps between validations (0: only at the end). */
  readonly evalEvery: number;
  readonly evalBatches: number;
  /** Steps between checkpoints when a checkpoint path is given (0: only at the end). */
  readonly checkpointEvery: number;
  /** Stop after this much training time (0: no limit). */
  readonly timeBudgetSeconds: number;
  /** Shortest training crop from a token stream (0: numLatents). */
  readonly minCropLength: number;
  /** Copy tasks: stop once validation greedy accuracy reaches this (0: never). */
  readonly targetAccuracy: number;
}

export type DataKind = 'mirrored' | 'text' | 'ids' | 'images' | 'synthetic-images' | 'music' | 'synthetic-music';

export interface DataConfig {
  /**
   * 'mirrored': the built-in copy-task generator; 'text': a UTF-8 file as bytes; 'ids': a token-id
   * file; 'images': an image dataset (IDX files or PNGs, docs/images.md); 'synthetic-images': the
   * built-in generated 32×32 RGB images; 'music': a directory of MIDI files (docs/music.md);
   * 'synthetic-music': the built-in generated pieces with a returning theme.
   */
  readonly data: DataKind;
  readonly dataPath: string;
  /** Fraction of a file held out (from its end) for validation (for images: of a dataset without its own test split). */
  readonly validationFraction: number;
  /** Mirrored task: symbols drawn from [0, alphabet). */
  readonly alphabet: number;
  /**
   * Mirrored task: added to every position (input j at 1 + positionOffset + j). A window of M
   * placed at offset (M' − M)/2 has the pair geometry of an M'-token task (docs/long-context.md).
   */
  readonly positionOffset: number;
  /** Music: Music Transformer's augmentation of training pieces (transposition ±3, time stretch ±5%). */
  readonly augment: boolean;
  /** Music: keep the drum channel (10), skipped by default. */
  readonly keepDrums: boolean;
}

export const TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  batchSize: 8, gradAccumulation: 1, steps: 1000, learningRate: 3e-4, warmupSteps: 100, schedule: 'constant',
  minLearningRateRatio: 0.1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1, seed: 0,
  evalEvery: 100, evalBatches: 4, checkpointEvery: 0, timeBudgetSeconds: 0, minCropLength: 0, targetAccuracy: 0,
});

export const DATA_DEFAULTS: DataConfig = Object.freeze({ data: 'mirrored', dataPath: '', validationFraction: 0.05, alphabet: 256, positionOffset: 0, augment: false, keepDrums: false });

function problems(obj: Record<string, unknown>, defaults: Record<string, unknown>, rules: Record<string, (v: never) => string | null>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(obj)) if (!(k in defaults)) out.push(`unknown key '${k}'; allowed: ${Object.keys(defaults).join(', ')}`);
  for (const [k, rule] of Object.entries(rules)) {
    const p = rule(obj[k] as never);
    if (p) out.push(`${k} ${p}, got ${JSON.stringify(obj[k])}`);
  }
  return out;
}

const intAtLeast = (min: number) => (v: number): string | null => (Number.isInteger(v) && v >= min ? null : `must be an integer ≥ ${min}`);
const between = (lo: number, hi: number, hiOpen = false) => (v: number): string | null =>
  (typeof v === 'number' && v >= lo && (hiOpen ? v < hi : v <= hi) ? null : `must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}`);
const positive = (v: number): string | null => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : 'must be a positive number');

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  const p = problems(c as unknown as Record<string, unknown>, TRAIN_DEFAULTS as unknown as Record<string, unknown>, {
    batchSize: intAtLeast(1), gradAccumulation: intAtLeast(1), steps: intAtLeast(1), learningRate: positive, warmupSteps: intAtLeast(0),
    schedule: (v: string) => (v === 'constant' || v === 'cosine' ? null : "must be 'constant' or 'cosine'"),
    minLearningRateRatio: between(0, 1), weightDecay: between(0, 1), beta1: between(0, 1, true), beta2: between(0, 1, true), eps: positive,
    clipNorm: between(0, Infinity), seed: intAtLeast(0), evalEvery: intAtLeast(0), evalBatches: intAtLeast(1), checkpointEvery: intAtLeast(0),
    timeBudgetSeconds: between(0, Infinity), minCropLength: intAtLeast(0), targetAccuracy: between(0, 1),
  });
  if (p.length) throw invalidConfig('training config', p);
  return Object.freeze({ ...c });
}

export function validateDataConfig(c: DataConfig): DataConfig {
  const p = problems(c as unknown as Record<string, unknown>, DATA_DEFAULTS as unknown as Record<string, unknown>, {
    data: (v: string) => (['mirrored', 'text', 'ids', 'images', 'synthetic-images', 'music', 'synthetic-music'].includes(v) ? null
      : "must be 'mirrored', 'text', 'ids', 'images', 'synthetic-images', 'music' or 'synthetic-music'"),
    augment: (v: boolean) => (typeof v === 'boolean' ? null : 'must be true or false'),
    keepDrums: (v: boolean) => (typeof v === 'boolean' ? null : 'must be true or false'),
    dataPath: (v: string) => (typeof v === 'string' ? null : 'must be a path'),
    validationFraction: between(0, 1, true), alphabet: (v: number) => (Number.isInteger(v) && v >= 2 && v <= 256 ? null : 'must be an integer in [2, 256]'),
    positionOffset: intAtLeast(0),
  });
  if (c.data !== 'mirrored' && c.positionOffset !== 0) p.push(`positionOffset applies to the mirrored task only (data is '${c.data}'); leave it at 0`);
  const generated = c.data === 'mirrored' || c.data === 'synthetic-images' || c.data === 'synthetic-music';
  if ((c.augment || c.keepDrums) && c.data !== 'music' && c.data !== 'synthetic-music') p.push(`augment and keepDrums apply to music data only (data is '${c.data}')`);
  if (!generated && !c.dataPath) p.push(`dataPath is required when data is '${c.data}'`);
  if (generated && c.dataPath) p.push(`dataPath is not used by the ${c.data === 'mirrored' ? 'mirrored task' : c.data === 'synthetic-music' ? 'synthetic music' : 'synthetic images'} (data is '${c.data}'); give data=text, ids, images or music with it`);
  if (p.length) throw invalidConfig('data config', p);
  return Object.freeze({ ...c });
}
