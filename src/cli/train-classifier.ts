// `perceiver-ar train --task=parity|images --model=adatape|no-tape|transformer|universal …`:
// trains a sequence classifier on parity or on labelled images (--dataPath) with progress,
// periodic test evaluation and the tape diagnostics (mean and variance of the tape length) in the
// logs; checkpoints (--checkpoint), resuming (--resume) and `perceiver-ar eval` of a classifier
// checkpoint on the same test set (images: with forward images/s and the bank-read heatmap).
import type { Engine } from '../engine.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../models/adatape/config.js';
import { SequenceClassifier } from '../models/adatape/model.js';
import { checkCheckpointTarget, loadClassifierCheckpoint, readCheckpointInfo, saveCheckpoint } from '../platform/node/checkpoint.js';
import { ClassifierTrainer, evaluateClassifier, type ClassifierEval, type TapeStats } from '../train/classifier-trainer.js';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/config.js';
import { writePng } from '../platform/node/image-files.js';
import { coerce, take, takePath, takeFlag, takeNumber, type Args, UsageError } from './args.js';
import { bankHeatmap, bankReadCounts, classifierTask, type ClassifierTask } from './classifier-tasks.js';
import { createProgress, formatDuration } from './progress.js';

/** Parity defaults (spec adatape §6): C 64, 4 heads, 4 layers, batch 128, AdamW lr 1e-3, 2,000 steps. */
export const PARITY_TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  ...TRAIN_DEFAULTS, batchSize: 128, steps: 2000, learningRate: 1e-3, warmupSteps: 100, schedule: 'cosine', weightDecay: 1e-4,
  evalEvery: 250, evalBatches: 16,
});

/** Image classification (docs/adatape-images.md): batch 128, AdamW lr 1e-3, 3,000 steps, test set 2,048 images while training. */
export const IMAGE_CLASSIFIER_TRAIN_DEFAULTS: TrainConfig = Object.freeze({ ...PARITY_TRAIN_DEFAULTS, steps: 3000, evalEvery: 500, evalBatches: 16 });

/** The task a checkpoint's model was trained on: image input → images (needs --dataPath), else parity of its length. */
function taskOfModel(c: ClassifierConfig, dataPath: string | undefined): ClassifierTask {
  if (c.input === 'image' && dataPath === undefined) throw new UsageError('this checkpoint classifies images: give --dataPath=DIR (the labelled images)');
  return c.input === 'image' ? classifierTask('images', { dataPath }) : classifierTask('parity', { length: c.sequenceLength });
}

/** Whether --resume names a classifier checkpoint (then `train` continues a parity run). */
export function resumesClassifier(args: Args): boolean {
  const path = args.get('resume');
  return path !== undefined && readCheckpointInfo(path).architecture === 'sequence-classifier';
}

const fmtTape = (t: TapeStats): string => (t.mean === null ? '' : `, tape ${t.mean.toFixed(2)} ± ${Math.sqrt(t.variance!).toFixed(2)}`);

export function trainClassifierCommand(engine: Engine, args: Args): { metrics: Record<string, number | string | null> } {
  const taskName = take(args, 'task'), dataPath = takePath(args, 'dataPath');
  const json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const checkpointPath = takePath(args, 'checkpoint'), resumePath = takePath(args, 'resume');
  const length = take(args, 'length');
  if (length !== undefined) {
    if (args.has('sequenceLength')) throw new UsageError('give --length or --sequenceLength, not both');
    args.set('sequenceLength', length);
  }
  const loaded = resumePath ? loadClassifierCheckpoint(resumePath, engine) : null;
  if (loaded && (!loaded.info.train || !loaded.info.state || !loaded.info.hasOptimizer)) {
    throw new UsageError(`checkpoint ${resumePath} has no training state to resume (it was not written by train --checkpoint)`);
  }
  if (loaded && taskName !== undefined && taskName !== (loaded.model.config.input === 'image' ? 'images' : 'parity')) {
    throw new UsageError(`--task=${taskName}: a resumed run keeps the task its checkpoint trained on`);
  }
  const task = loaded ? taskOfModel(loaded.model.config, dataPath)
    : classifierTask(taskName ?? 'parity', { dataPath, length: args.has('sequenceLength') ? Number(args.get('sequenceLength')) : undefined });
  if (task.name === 'images' && args.has('sequenceLength')) throw new UsageError('--sequenceLength/--length is not used with images: it is the number of patches');
  const model: Record<string, unknown> = loaded ? { ...loaded.model.config } : { ...task.modelDefaults };
  const train: Record<string, unknown> = { ...(loaded?.info.train ?? (task.name === 'images' ? IMAGE_CLASSIFIER_TRAIN_DEFAULTS : PARITY_TRAIN_DEFAULTS)) };
  for (const [key, raw] of args) {
    if (loaded && key in model) throw new UsageError(`--${key} changes the model; a resumed run keeps the checkpoint's model config`);
    if (key in model) model[key] = coerce(model, key, raw);
    else if (key in train) train[key] = coerce(train, key, raw);
    else {
      throw new UsageError(`unknown option --${key} for a classifier run; model keys: ${Object.keys(CLASSIFIER_DEFAULTS).join(', ')}; ` +
        `training keys: ${Object.keys(TRAIN_DEFAULTS).join(', ')}; also --task, --length, --dataPath, --checkpoint, --resume, --json, --quiet`);
    }
  }
  if (task.name === 'images' && !loaded) {
    // A patch side changed on the command line changes the number of patches.
    const side = model.patchSize as number, h = model.imageHeight as number, w = model.imageWidth as number;
    if (Number.isInteger(side) && side > 0 && h % side === 0 && w % side === 0) model.sequenceLength = (h / side) * (w / side);
  }
  let mc: ClassifierConfig, tc: TrainConfig;
  try {
    mc = validateClassifierConfig(model as unknown as ClassifierConfig);
    tc = validateTrainConfig(train as unknown as TrainConfig);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (loaded && (tc.batchSize !== loaded.info.train!.batchSize || tc.evalBatches !== loaded.info.train!.evalBatches)) {
    throw new UsageError('a resumed run keeps its batchSize and evalBatches (they fix the batches and the test set)');
  }
  const mismatch = task.mismatch(mc);
  if (mismatch) throw new UsageError(mismatch);
  const classifier = loaded?.model ?? new SequenceClassifier(engine, mc, tc.seed);
  if (checkpointPath) checkCheckpointTarget(checkpointPath, { parameters: classifier.params.count, optimizer: true, inputs: [] });
  const L = mc.sequenceLength;
  const trainer = new ClassifierTrainer(engine, classifier, tc, task.makeBatch, task.testSet(tc.batchSize, tc.evalBatches), loaded?.info.state ?? undefined);
  const progress = createProgress(tc.steps, 'train', { tty: process.stderr.isTTY === true && !json, quiet, every: Math.max(1, tc.evalEvery || 50),
    deadlineSeconds: tc.timeBudgetSeconds });
  if (loaded) progress.log(`resuming ${resumePath} at step ${trainer.step} of ${tc.steps}`);
  progress.log(`${task.description}: ${mc.model}, ${(classifier.params.count / 1e3).toFixed(1)}k parameters, C ${mc.width}, ${mc.numHeads} heads, ` +
    `${mc.input === 'image' ? `${L} patches of ${mc.patchSize}×${mc.patchSize}${mc.model === 'adatape' && mc.bank === 'input' ? ` (bank: ${mc.bankPatchSize}×${mc.bankPatchSize})` : ''}, ` : ''}` +
    `${mc.model === 'universal' ? `1 shared block × ≤ ${mc.maxSteps} steps (ACT)` : `${mc.numLayers} blocks`}` +
    `${mc.model === 'adatape' ? `, tape T ${mc.maxTape}, τ ${mc.threshold}, λ ${mc.ponderWeight}, ${mc.bank} bank, read before block ${mc.readLayer}` : ''}; ` +
    `batch ${tc.batchSize}, ${tc.steps} steps, lr ${tc.learningRate}; test set ${tc.evalBatches * tc.batchSize} examples; ` +
    `engine ${engine.info.backend} ${engine.info.simd} ×${engine.info.threads}${engine.info.blas ? `, BLAS ${engine.info.blas}` : ""}`);
  const save = (): void => {
    if (!checkpointPath) return;
    saveCheckpoint(checkpointPath, classifier, { train: tc, state: trainer.state(), optimizer: true });
    progress.log(`checkpoint saved to ${checkpointPath} at step ${trainer.step}`);
  };
  const started = performance.now(), runStart = trainer.step;
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
    if (tc.checkpointEvery > 0 && trainer.step % tc.checkpointEvery === 0) save();
    if (tc.timeBudgetSeconds > 0 && elapsed >= tc.timeBudgetSeconds) { stopReason = 'time budget'; break; }
  }
  progress.finish();
  if (!last || last.step !== trainer.step) { last = trainer.evaluate(); best = Math.max(best, last.accuracy); }
  save();
  const seconds = (performance.now() - started) / 1000;
  progress.log(`stopped at step ${trainer.step} (${stopReason}) after ${formatDuration(seconds)}: test accuracy ${(100 * last.accuracy).toFixed(2)}%` +
    fmtTape(last.tape));
  return {
    metrics: {
      task: task.name, model: mc.model, sequenceLength: L, seed: tc.seed, ponderWeight: mc.ponderWeight, steps: trainer.step,
      stepsThisRun: trainer.step - runStart, stopReason, seconds, checkpoint: checkpointPath ?? null,
      accuracy: last.accuracy, bestAccuracy: best, crossEntropy: last.crossEntropy, testExamples: last.examples,
      tapeMean: last.tape.mean, tapeVariance: last.tape.variance,
    },
  };
}

export const CLASSIFIER_EVAL_KEYS = ['checkpoint', 'evalBatches', 'batchSize', 'dataPath', 'heatmap', 'json', 'quiet', 'threads', 'backend', 'simd', 'blas'] as const;

/**
 * `perceiver-ar eval --checkpoint=CLASSIFIER.safetensors`: test accuracy, cross-entropy, tape
 * length and forward images (examples) per second on the test set the checkpoint's training used
 * (parity of its length; labelled images from --dataPath, where --evalBatches=0 takes every test
 * image); --heatmap=OUT.png writes how often an image AdaTape model reads each bank patch.
 */
export function evalClassifierCommand(engine: Engine, args: Args, path: string): Record<string, number | string | null> {
  const { info, model } = loadClassifierCheckpoint(path, engine);
  const c = model.config, images = c.input === 'image';
  const isInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const batchSize = takeNumber(args, 'batchSize', isInt, 'an integer ≥ 1') ?? info.train?.batchSize ?? PARITY_TRAIN_DEFAULTS.batchSize;
  const batches = takeNumber(args, 'evalBatches', (n) => Number.isInteger(n) && n >= (images ? 0 : 1), images ? 'an integer ≥ 0 (0: every test image)' : 'an integer ≥ 1') ??
    info.train?.evalBatches ?? PARITY_TRAIN_DEFAULTS.evalBatches;
  const dataPath = takePath(args, 'dataPath'), heatmap = takePath(args, 'heatmap');
  const json = takeFlag(args, 'json');
  takeFlag(args, 'quiet');
  const [extra] = args.keys();
  if (extra !== undefined) throw new UsageError(`unknown option --${extra} for a classifier eval; allowed: ${CLASSIFIER_EVAL_KEYS.map((k) => `--${k}`).join(' ')}`);
  if (!images && dataPath !== undefined) throw new UsageError('--dataPath is not used with a parity classifier (its test set is generated)');
  if (heatmap !== undefined && (c.model !== 'adatape' || c.bank !== 'input' || !images)) {
    throw new UsageError('--heatmap needs an AdaTape checkpoint with an image input-driven bank (--bank=input)');
  }
  const task = taskOfModel(c, dataPath), mismatch = task.mismatch(c);
  if (mismatch) throw new UsageError(mismatch);
  const testSet = task.testSet(batchSize, batches), started = performance.now();
  const r = evaluateClassifier(model, testSet, info.state?.step ?? 0);
  const seconds = (performance.now() - started) / 1000, perSecond = r.examples / seconds;
  let heat: { maxReads: number; file: string } | null = null;
  if (heatmap !== undefined) {
    const reads = bankReadCounts(model, testSet);
    writePng(heatmap, bankHeatmap(reads, c));
    heat = { maxReads: Math.max(...reads.counts) / reads.examples, file: heatmap };
  }
  if (!json) {
    const what = images ? `${r.examples} test images` : `parity length ${c.sequenceLength}, ${r.examples} examples`;
    console.log(`${path}: ${c.model}, step ${r.step}, ${what}: test accuracy ${(100 * r.accuracy).toFixed(2)}%, cross-entropy ${r.crossEntropy.toFixed(4)}` +
      `${fmtTape(r.tape)}; forward ${perSecond.toFixed(0)} ${images ? 'images' : 'examples'}/s at batch ${batchSize} (${seconds.toFixed(1)} s)`);
    if (heat) console.log(`bank-read heatmap written to ${heat.file} (the most-read patch: ${heat.maxReads.toFixed(3)} reads per image)`);
  }
  return { model: c.model, task: task.name, sequenceLength: c.sequenceLength, step: r.step, accuracy: r.accuracy, crossEntropy: r.crossEntropy,
    examples: r.examples, tapeMean: r.tape.mean, tapeVariance: r.tape.variance, seconds, examplesPerSecond: perSecond, batchSize,
    heatmap: heat?.file ?? null };
}
