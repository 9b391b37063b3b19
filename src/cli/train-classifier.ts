// `perceiver-ar train --task=parity --model=adatape|no-tape|transformer|universal …`: trains a
// sequence classifier on the parity task with progress, periodic test evaluation and the tape
// diagnostics (mean and variance of the tape length) in the logs.
import type { Engine } from '../engine.js';
import { parityBatch, PARITY_SYMBOLS } from '../data/parity.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../models/adatape/config.js';
import { SequenceClassifier } from '../models/adatape/model.js';
import { Rng } from '../tensor/rng.js';
import { ClassifierTrainer, type ClassifierEval, type TapeStats } from '../train/classifier-trainer.js';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/config.js';
import { coerce, take, takeFlag, type Args, UsageError } from './args.js';
import { createProgress, formatDuration } from './progress.js';

/** Parity defaults (spec adatape §6): C 64, 4 heads, 4 layers, batch 128, AdamW lr 1e-3, 2,000 steps. */
export const PARITY_TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  ...TRAIN_DEFAULTS, batchSize: 128, steps: 2000, learningRate: 1e-3, warmupSteps: 100, schedule: 'cosine', weightDecay: 1e-4,
  evalEvery: 250, evalBatches: 16,
});

const TEST_SEED = 0x7e57;

const fmtTape = (t: TapeStats): string => (t.mean === null ? '' : `, tape ${t.mean.toFixed(2)} ± ${Math.sqrt(t.variance!).toFixed(2)}`);

export function trainClassifierCommand(engine: Engine, args: Args): { metrics: Record<string, number | string | null> } {
  const task = take(args, 'task') ?? 'parity';
  if (task !== 'parity') throw new UsageError(`--task=${task} is not available: the classifiers train on --task=parity`);
  const json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const length = take(args, 'length');
  if (length !== undefined) {
    if (args.has('sequenceLength')) throw new UsageError('give --length or --sequenceLength, not both');
    args.set('sequenceLength', length);
  }
  const model: Record<string, unknown> = { ...CLASSIFIER_DEFAULTS, symbols: PARITY_SYMBOLS, numClasses: 2 };
  const train: Record<string, unknown> = { ...PARITY_TRAIN_DEFAULTS };
  for (const [key, raw] of args) {
    if (key in model) model[key] = coerce(model, key, raw);
    else if (key in train) train[key] = coerce(train, key, raw);
    else {
      throw new UsageError(`unknown option --${key} for a classifier run; model keys: ${Object.keys(CLASSIFIER_DEFAULTS).join(', ')}; ` +
        `training keys: ${Object.keys(TRAIN_DEFAULTS).join(', ')}; also --task, --length, --json, --quiet`);
    }
  }
  let mc: ClassifierConfig, tc: TrainConfig;
  try {
    mc = validateClassifierConfig(model as unknown as ClassifierConfig);
    tc = validateTrainConfig(train as unknown as TrainConfig);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const classifier = new SequenceClassifier(engine, mc, tc.seed);
  const L = mc.sequenceLength;
  const testRng = new Rng(TEST_SEED + L);
  const testSet = Array.from({ length: tc.evalBatches }, () => parityBatch(testRng, tc.batchSize, L));
  const trainer = new ClassifierTrainer(engine, classifier, tc, (rng, B) => parityBatch(rng, B, L), testSet);
  const progress = createProgress(tc.steps, 'train', { tty: process.stderr.isTTY === true && !json, quiet, every: Math.max(1, tc.evalEvery || 50),
    deadlineSeconds: tc.timeBudgetSeconds });
  progress.log(`parity, length ${L}: ${mc.model}, ${(classifier.params.count / 1e3).toFixed(1)}k parameters, C ${mc.width}, ${mc.numHeads} heads, ` +
    `${mc.model === 'universal' ? `1 shared block × ≤ ${mc.maxSteps} steps (ACT)` : `${mc.numLayers} blocks`}` +
    `${mc.model === 'adatape' ? `, tape T ${mc.maxTape}, τ ${mc.threshold}, λ ${mc.ponderWeight}, ${mc.bank} bank, read before block ${mc.readLayer}` : ''}; ` +
    `batch ${tc.batchSize}, ${tc.steps} steps, lr ${tc.learningRate}; test set ${tc.evalBatches * tc.batchSize} examples; ` +
    `engine ${engine.info.backend} ${engine.info.simd} ×${engine.info.threads}`);
  const started = performance.now();
  let last: ClassifierEval | null = null, best = 0, stopReason = 'steps';
  while (trainer.step < tc.steps) {
    const s = trainer.trainStep();
    if (!s.applied) progress.log(`step ${s.step}: non-finite gradient norm; update skipped`);
    progress.update(s.step, {
      loss: s.loss.toFixed(4), acc: `${(100 * s.accuracy).toFixed(1)}%`,
      ...(s.tape.mean !== null ? { tape: `${s.tape.mean.toFixed(2)}±${Math.sqrt(s.tape.variance!).toFixed(2)}` } : {}),
      lr: s.lr.toExponential(2),
    });
    const elapsed = (performance.now() - started) / 1000;
    if ((tc.evalEvery > 0 && trainer.step % tc.evalEvery === 0) || trainer.step === tc.steps) {
      last = trainer.evaluate();
      best = Math.max(best, last.accuracy);
      progress.log(`step ${trainer.step}: train loss ${s.loss.toFixed(4)} (batch tape${s.tape.mean === null ? ' —' : ` mean ${s.tape.mean.toFixed(2)}, ` +
        `variance ${s.tape.variance!.toFixed(2)}`}), test accuracy ${(100 * last.accuracy).toFixed(2)}%, cross-entropy ${last.crossEntropy.toFixed(4)}` +
        fmtTape(last.tape));
      if (tc.targetAccuracy > 0 && last.accuracy >= tc.targetAccuracy) { stopReason = 'target accuracy'; break; }
    }
    if (tc.timeBudgetSeconds > 0 && elapsed >= tc.timeBudgetSeconds) { stopReason = 'time budget'; break; }
  }
  progress.finish();
  if (!last || last.step !== trainer.step) { last = trainer.evaluate(); best = Math.max(best, last.accuracy); }
  const seconds = (performance.now() - started) / 1000;
  progress.log(`stopped at step ${trainer.step} (${stopReason}) after ${formatDuration(seconds)}: test accuracy ${(100 * last.accuracy).toFixed(2)}%` +
    fmtTape(last.tape));
  return {
    metrics: {
      task, model: mc.model, sequenceLength: L, seed: tc.seed, ponderWeight: mc.ponderWeight, steps: trainer.step, stopReason, seconds,
      accuracy: last.accuracy, bestAccuracy: best, crossEntropy: last.crossEntropy, testExamples: last.examples,
      tapeMean: last.tape.mean, tapeVariance: last.tape.variance,
    },
  };
}
