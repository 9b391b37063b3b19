// Training loop for the sequence classifiers (AdaTape and baselines): AdamW with global-norm
// clipping and the learning-rate schedule of the sequence trainer, fresh batches from a generator,
// a fixed test set, and the tape diagnostics (mean and variance of the tape length per batch).
import type { Engine } from '../engine.js';
import type { ClassifierBatch, SequenceClassifier } from '../models/adatape/model.js';
import { Rng } from '../tensor/rng.js';
import type { TrainConfig } from './config.js';
import type { TrainerState } from './trainer.js';
import { AdamW } from './optimizer.js';
import { learningRateAt } from './schedule.js';

export interface TapeStats {
  /** Mean and variance over the examples of the tape length n (universal: mean ACT steps); null without a tape or ACT. */
  readonly mean: number | null;
  readonly variance: number | null;
}

export interface ClassifierStepLog {
  readonly step: number;
  readonly loss: number;
  readonly crossEntropy: number;
  /** Accuracy on this training batch. */
  readonly accuracy: number;
  readonly tape: TapeStats;
  readonly lr: number;
  readonly gradNorm: number;
  readonly applied: boolean;
  /** Examples trained on in this step. */
  readonly tokens: number;
}

export interface ClassifierEval {
  readonly step: number;
  readonly accuracy: number;
  readonly crossEntropy: number;
  readonly examples: number;
  readonly tape: TapeStats;
}

export function tapeStats(lengths: ArrayLike<number>[]): TapeStats {
  let n = 0, sum = 0, sumSq = 0;
  for (const l of lengths) for (let i = 0; i < l.length; i++) { n++; sum += l[i]!; sumSq += l[i]! * l[i]!; }
  if (n === 0) return { mean: null, variance: null };
  const mean = sum / n;
  return { mean, variance: Math.max(0, sumSq / n - mean * mean) };
}

export class ClassifierTrainer {
  private readonly optimizer: AdamW;
  private readonly dataRng: Rng;
  private readonly modelRng: Rng;
  private stepsDone: number;
  private examples: number;
  private elapsed: number;

  /**
   * makeBatch(rng, B): fresh training examples; testSet: the fixed evaluation batches; state: a
   * checkpoint's trainer state to resume from (with the model's AdamW moments loaded, the run
   * continues exactly as if it had not stopped).
   */
  constructor(engine: Engine, readonly model: SequenceClassifier, readonly config: TrainConfig,
    private readonly makeBatch: (rng: Rng, batchSize: number) => ClassifierBatch, private readonly testSet: readonly ClassifierBatch[],
    state?: TrainerState) {
    this.optimizer = new AdamW(engine.kernels, model.params, {
      beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, clipNorm: config.clipNorm,
    });
    this.dataRng = new Rng(0).setState(state?.dataRng ?? new Rng(config.seed * 7919 + 1).getState());
    this.modelRng = new Rng(0).setState(state?.modelRng ?? new Rng(config.seed * 104729 + 2).getState());
    this.stepsDone = state?.step ?? 0;
    this.examples = state?.tokens ?? 0;
    this.elapsed = state?.elapsedSeconds ?? 0;
  }

  get step(): number { return this.stepsDone; }

  /** The fixed test set is always there. */
  readonly hasValidation = true;

  /** For checkpoints (TrainerState's `tokens` counts training examples here). */
  state(): TrainerState {
    return { step: this.stepsDone, modelRng: this.modelRng.getState(), dataRng: this.dataRng.getState(), tokens: this.examples, elapsedSeconds: this.elapsed };
  }

  trainStep(): ClassifierStepLog {
    const c = this.config, m = this.model, started = performance.now();
    m.params.zeroGrads();
    let loss = 0, ce = 0, correct = 0, examples = 0;
    const lengths: Float64Array[] = [];
    for (let i = 0; i < c.gradAccumulation; i++) {
      const batch = this.makeBatch(this.dataRng, c.batchSize);
      const r = m.forward(batch, { training: true, rng: this.modelRng });
      m.backward();
      loss += r.loss / c.gradAccumulation; ce += r.crossEntropy / c.gradAccumulation;
      correct += r.correct; examples += batch.batchSize;
      if (r.tapeLengths) lengths.push(r.tapeLengths);
    }
    const t = this.stepsDone + 1, lr = learningRateAt(c, t);
    const s = this.optimizer.step(lr, t, 1 / c.gradAccumulation);
    this.stepsDone = t;
    this.examples += examples;
    this.elapsed += (performance.now() - started) / 1000;
    return { step: t, loss, crossEntropy: ce, accuracy: correct / examples, tape: tapeStats(lengths), lr, gradNorm: s.gradNorm, applied: s.applied, tokens: examples };
  }

  evaluate(): ClassifierEval {
    return evaluateClassifier(this.model, this.testSet, this.stepsDone);
  }
}

/** Test accuracy, cross-entropy and tape statistics of a classifier over fixed batches (no training). */
export function evaluateClassifier(model: SequenceClassifier, testSet: readonly ClassifierBatch[], step: number): ClassifierEval {
  let correct = 0, examples = 0, ce = 0;
  const lengths: Float64Array[] = [];
  for (const batch of testSet) {
    const r = model.forward(batch, { training: false });
    correct += r.correct; examples += batch.batchSize; ce += r.crossEntropy * batch.batchSize;
    if (r.tapeLengths) lengths.push(r.tapeLengths);
  }
  return { step, accuracy: correct / examples, crossEntropy: ce / examples, examples, tape: tapeStats(lengths) };
}
