// Run settings, separate from the architecture and the data: optimisation, schedule, evaluation,
// stopping. Validated with messages that say what is allowed. (Data configs: data/registry.ts.)
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

export const TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  batchSize: 8, gradAccumulation: 1, steps: 1000, learningRate: 3e-4, warmupSteps: 100, schedule: 'constant',
  minLearningRateRatio: 0.1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1, seed: 0,
  evalEvery: 100, evalBatches: 4, checkpointEvery: 0, timeBudgetSeconds: 0, minCropLength: 0, targetAccuracy: 0,
});

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
