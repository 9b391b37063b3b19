// One training run's state and steps: micro-batches with gradient accumulation, the learning-rate
// schedule, AdamW with clipping, validation (loss, bits/token, greedy accuracy for copy tasks).
// Everything random flows from two seeded generators whose states are checkpointed, so a resumed
// run continues exactly where an uninterrupted one would be.
import type { Engine } from '../engine.js';
import type { DataSource } from '../data/source.js';
import type { F32 } from '../kernels/types.js';
import type { Batch } from '../models/perceiver-ar/layout.js';
import type { ForwardResult } from '../models/perceiver-ar/model.js';
import type { ParamStore } from '../nn/params.js';
import { checkPositionReach, type PositionEncoding } from '../models/perceiver-ar/config.js';
import { Rng } from '../tensor/rng.js';
import type { TrainConfig } from './config.js';
import { greedyHits } from './metrics.js';
import { AdamW } from './optimizer.js';
import { learningRateAt } from './schedule.js';

/** Bytes of batches (training and validation) a run may hold in process memory. */
const MAX_BATCH_BYTES = 2 * 2 ** 30;
const gib = (bytes: number): string => (bytes < 2 ** 30 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`);

export interface TrainerState {
  /** Optimiser steps completed. */
  readonly step: number;
  readonly modelRng: number;
  readonly dataRng: number;
  /** Target tokens trained on so far. */
  readonly tokens: number;
  readonly elapsedSeconds: number;
}

export interface StepLog {
  readonly step: number;
  readonly loss: number;
  readonly crossEntropy: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly applied: boolean;
  readonly tokens: number;
  readonly seconds: number;
}

export interface EvalLog {
  readonly step: number;
  readonly loss: number;
  readonly nats: number;
  readonly bitsPerToken: number;
  readonly tokens: number;
  /** Greedy copy accuracy over the scored positions (copy tasks), else null. */
  readonly accuracy: number | null;
}

/** What the trainer needs of a model: Perceiver AR (and its N = M Transformer) and Transformer-XL. */
export interface TrainableModel {
  readonly config: {
    readonly contextLength: number; readonly vocabSize: number; readonly numLatents?: number;
    /** Absolute position tables ('sinusoidal' | 'learned') hold positions up to maxPosition. */
    readonly position?: string; readonly maxPosition?: number; readonly positionDims?: number; readonly positionOrigin?: string;
  };
  readonly params: ParamStore;
  /**
   * gradScale: models that must run their backward inside the forward (Transformer-XL's truncated
   * backpropagation, segment by segment) add gradScale × d(mean loss) to the gradients there.
   */
  forward(batch: Batch, opts: { readonly training?: boolean; readonly rng?: Rng; readonly gradScale?: number; readonly numLatents?: number }): ForwardResult;
  /** Throws, before allocating, when a batch of B × M cannot fit (models that plan their memory). */
  checkFits?(B: number, M: number, training: boolean): void;
  /** Adds lossScale × d(mean loss of the last forward) to the gradients (if forward has not already). */
  backward(lossScale?: number): void;
  logits(): F32;
}

/** Training updates the float32 values; a store decoding from bf16 copies would leave them stale. */
function checkTrainable(model: TrainableModel): void {
  if (model.params.weightFormat !== 'f32') {
    throw new Error(`the model's weights are held as ${model.params.weightFormat} for decoding (rounded, with packed copies that training would leave stale); ` +
      'train a model loaded with float32 weights');
  }
}

export class Trainer<Model extends TrainableModel = TrainableModel> {
  /** Things about this run a user should know before it starts (printed by the CLI), e.g. latents no example can fill. */
  readonly notices: string[] = [];
  private readonly optimizer: AdamW;
  private readonly modelRng: Rng;
  private readonly dataRng: Rng;
  private stepsDone: number;
  private tokens: number;
  private elapsed: number;

  constructor(private readonly engine: Engine, readonly model: Model, readonly config: TrainConfig, private readonly data: DataSource,
    state?: TrainerState) {
    const mc = model.config;
    checkTrainable(model);
    const tables = mc.position !== undefined && mc.position !== 'rotary' ? (mc.positionDims ?? 1) : 0;
    if (tables > 1 && data.coordinateDims !== tables) {
      throw new RangeError(`the model embeds ${tables} coordinates per event (positionDims ${tables}), but ${data.description} ` +
        `${data.coordinateDims ? `has ${data.coordinateDims}` : 'has none (a sequence: use positionDims 1)'}`);
    }
    if (data.minContextLength !== undefined && mc.contextLength < data.minContextLength) {
      throw new RangeError(`contextLength ${mc.contextLength} is too short for ${data.description}: a whole example needs ` +
        `${data.minContextLength} inputs in context (spec: every prediction sees the whole image prefix); raise contextLength to ${data.minContextLength}`);
    }
    if (data.minContextLength !== undefined && mc.numLatents !== undefined && mc.numLatents > data.minContextLength) {
      this.notices.push(`numLatents ${mc.numLatents} is more than ${data.description} has inputs per example (${data.minContextLength}): ` +
        `the first ${mc.numLatents - data.minContextLength} latents of every row have no input and train nothing (compute spent for nothing); ` +
        `numLatents ${data.minContextLength} or fewer would not waste them`);
    }
    if (mc.position !== undefined && mc.maxPosition !== undefined) {
      checkPositionReach({ position: mc.position as PositionEncoding, maxPosition: mc.maxPosition, positionOrigin: mc.positionOrigin === 'window' ? 'window' : 'event' },
        data.maxPosition(mc.contextLength), data.description);
    }
    // Sizes planned before anything is built: the batches (ids, positions, targets) held in this
    // process, then the model's workspace in the engine's memory.
    const batchBytes = config.batchSize * mc.contextLength * 12, held = batchBytes * (1 + (data.hasValidation ? config.evalBatches : 0));
    if (held > MAX_BATCH_BYTES) {
      throw new RangeError(`batches of ${config.batchSize} × ${mc.contextLength} tokens take ${gib(batchBytes)} each; with ${config.evalBatches} ` +
        `validation batches that is ${gib(held)}, over the ${gib(MAX_BATCH_BYTES)} a run may hold: lower batchSize, evalBatches or contextLength`);
    }
    model.checkFits?.(config.batchSize, mc.contextLength, true);
    this.optimizer = new AdamW(engine.kernels, model.params, {
      beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, clipNorm: config.clipNorm,
    });
    this.modelRng = new Rng(0).setState(state?.modelRng ?? new Rng(config.seed * 2 + 1).getState());
    this.dataRng = new Rng(0).setState(state?.dataRng ?? new Rng(config.seed * 2 + 2).getState());
    this.stepsDone = state?.step ?? 0;
    this.tokens = state?.tokens ?? 0;
    this.elapsed = state?.elapsedSeconds ?? 0;
  }

  get step(): number { return this.stepsDone; }

  get hasValidation(): boolean { return this.data.hasValidation; }

  state(): TrainerState {
    return { step: this.stepsDone, modelRng: this.modelRng.getState(), dataRng: this.dataRng.getState(), tokens: this.tokens, elapsedSeconds: this.elapsed };
  }

  /** One optimiser step over gradAccumulation micro-batches. */
  trainStep(): StepLog {
    const c = this.config, m = this.model, M = m.config.contextLength;
    checkTrainable(m);
    const started = performance.now();
    const minCrop = c.minCropLength || (m.config.numLatents ?? M);
    m.params.zeroGrads();
    let loss = 0, ce = 0, tokens = 0;
    for (let a = 0; a < c.gradAccumulation; a++) {
      const batch = this.data.trainBatch(this.dataRng, c.batchSize, M, minCrop);
      const r = m.forward(batch, { training: true, rng: this.modelRng, gradScale: 1 / c.gradAccumulation });
      m.backward(1 / c.gradAccumulation);
      loss += r.loss / c.gradAccumulation;
      ce += r.crossEntropy / c.gradAccumulation;
      tokens += r.tokens;
    }
    const t = this.stepsDone + 1;
    const lr = learningRateAt(c, t);
    const report = this.optimizer.step(lr, t);
    this.stepsDone = t;
    this.tokens += tokens;
    const seconds = (performance.now() - started) / 1000;
    this.elapsed += seconds;
    return { step: t, loss, crossEntropy: ce, lr, gradNorm: report.gradNorm, applied: report.applied, tokens, seconds };
  }

  /** Validation over the data's fixed validation batches (no dropout), with `numLatents` latents. */
  evaluate(numLatents?: number): EvalLog {
    return { step: this.stepsDone, ...evaluateBatches(this.model, this.data, { batchSize: this.config.batchSize, batches: this.config.evalBatches, numLatents }) };
  }
}

/**
 * Teacher-forced loss, bits/token and (copy tasks) greedy accuracy of a model over a source's
 * fixed validation batches, without dropout.
 */
export function evaluateBatches(m: TrainableModel, data: DataSource, o: { readonly batchSize: number; readonly batches: number; readonly numLatents?: number | undefined }):
  Omit<EvalLog, 'step'> {
  const M = m.config.contextLength, V = m.config.vocabSize;
  const scored = data.scoredInputs(M);
  let nats = 0, loss = 0, tokens = 0, correct = 0, total = 0;
  for (const batch of data.validationBatches(o.batchSize, M, o.batches)) {
    const r = m.forward(batch, o.numLatents === undefined ? {} : { numLatents: o.numLatents });
    nats += r.crossEntropy * r.tokens;
    loss += r.loss * r.tokens;
    tokens += r.tokens;
    if (scored) {
      const h = greedyHits(m.logits(), V, r.layout, scored);
      correct += h.correct;
      total += h.total;
    }
  }
  const mean = tokens ? nats / tokens : NaN;
  return { loss: tokens ? loss / tokens : NaN, nats: mean, bitsPerToken: mean / Math.LN2, tokens, accuracy: scored ? (total ? correct / total : 0) : null };
}
