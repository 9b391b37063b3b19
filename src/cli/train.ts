// `perceiver-ar train`: train from a preset (or resume a checkpoint), with progress, periodic
// validation and checkpoints, stopping at the step count, the time budget or the target accuracy.
import type { Engine } from '../engine.js';
import { flopsPerToken } from '../models/perceiver-ar/config.js';
import { PerceiverAR } from '../models/perceiver-ar/model.js';
import { xlFlopsPerToken } from '../models/transformer-xl/config.js';
import { TransformerXL } from '../models/transformer-xl/model.js';
import { checkCheckpointTarget, initialiseFromCheckpoint, loadAnyCheckpoint, saveCheckpoint } from '../platform/node/checkpoint.js';
import type { AnyModel } from '../train/checkpoint.js';
import type { AnyPreset } from '../presets.js';
import { loadDataSource } from '../platform/node/data-files.js';
import { presetNamed } from '../presets.js';
import { Trainer, type EvalLog } from '../train/trainer.js';
import { applyOverrides, take, takePath, takeFlag, type Args, UsageError } from './args.js';
import { createProgress, formatDuration } from './progress.js';
import { showMirroredSample } from './sample.js';
import { isMusicData, writeMusic } from './music.js';
import { continueMusic } from '../sample/continue-music.js';
import { writeImageSamples } from './images.js';
import type { Image } from '../data/images.js';
import { resumesClassifier, trainClassifierCommand } from './train-classifier.js';

export const TRAIN_CLI_KEYS = ['preset', 'checkpoint', 'resume', 'initFrom', 'json', 'quiet', 'sample', 'threads', 'backend', 'simd', 'blas'] as const;

/** An image source's test images (none for other data). */
const testImagesOf = (source: object): readonly Image[] => ('testImages' in source ? source.testImages as readonly Image[] : []);

/** Consecutive skipped (non-finite) steps after which a run stops as diverged. */
const DIVERGED_STEPS = 20;

export interface TrainOutcome { readonly metrics: Record<string, number | string | null> }

export async function trainCommand(engine: Engine, args: Args): Promise<TrainOutcome> {
  if (args.has('task') || args.has('model') || resumesClassifier(args)) return trainClassifierCommand(engine, args);
  const json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet'), sample = takeFlag(args, 'sample');
  // What the data loader reports (skipped files, corpus summary) goes to stderr before training starts.
  const dataLog = (line: string): void => { if (!quiet) console.error(line); };
  const checkpointPath = takePath(args, 'checkpoint'), resumePath = takePath(args, 'resume'), initPath = takePath(args, 'initFrom');
  if (resumePath && initPath) throw new UsageError('--resume continues a run with its own weights; --initFrom starts a new run from a checkpoint\'s weights: give one');
  if (resumePath && args.has('preset')) throw new UsageError('--preset starts a new run; --resume continues a checkpoint with its own configs: give one');
  const presetName = take(args, 'preset') ?? 'mirrored-32-small';
  let model: AnyModel, trainer: Trainer<AnyModel>, dataConfig, source;
  if (resumePath) {
    const loaded = loadAnyCheckpoint(resumePath, engine);
    if (!loaded.info.train || !loaded.info.data || !loaded.info.state) {
      throw new UsageError(`checkpoint ${resumePath} has no training state to resume (it was saved without --checkpoint during training)`);
    }
    const preset = { architecture: loaded.info.architecture, description: 'resumed', model: loaded.info.model, train: loaded.info.train,
      data: loaded.info.data } as AnyPreset;
    for (const key of args.keys()) {
      if (key in preset.model) throw new UsageError(`--${key} changes the architecture; a resumed run keeps the checkpoint's model config`);
    }
    const cfg = applyOverrides(preset, args, TRAIN_CLI_KEYS);
    dataConfig = cfg.data;
    model = loaded.model;
    source = loadDataSource(cfg.data, model.config.vocabSize, dataLog);
    trainer = new Trainer(engine, model, cfg.train, source, loaded.info.state);
  } else {
    const cfg = applyOverrides(presetNamed(presetName), args, TRAIN_CLI_KEYS);
    dataConfig = cfg.data;
    source = loadDataSource(cfg.data, cfg.model.vocabSize, dataLog);
    model = cfg.architecture === 'transformer-xl' ? new TransformerXL(engine, cfg.model, cfg.train.seed) : new PerceiverAR(engine, cfg.model, cfg.train.seed);
    if (initPath) initialiseFromCheckpoint(initPath, model);
    trainer = new Trainer(engine, model, cfg.train, source);
  }
  const tc = trainer.config, mc = model.config;
  if (checkpointPath) checkCheckpointTarget(checkpointPath, { parameters: model.params.count, optimizer: true, inputs: [dataConfig.dataPath] });
  const shape = model instanceof PerceiverAR
    ? `M ${model.config.contextLength}, N ${model.config.numLatents}, L ${model.config.numLayers}, C ${model.config.width}`
    : `Transformer-XL, M ${model.config.contextLength} in segments of ${model.config.segmentLength} with memory ${model.config.memoryLength}, ` +
      `L ${model.config.numLayers}, C ${model.config.width}`;
  const tty = process.stderr.isTTY === true && !json;
  const progress = createProgress(tc.steps, 'train', { tty, quiet, every: Math.max(1, tc.evalEvery || 50), deadlineSeconds: tc.timeBudgetSeconds });
  progress.log(`${resumePath ? `resuming ${resumePath} at step ${trainer.step}` : `preset ${presetName}`}` +
    `${initPath ? ` (weights from ${initPath})` : ''}: ${source.description}; ` +
    `${(model.params.count / 1e6).toFixed(2)}M parameters, ${shape}; ` +
    `engine ${engine.info.backend} ${engine.info.simd} ×${engine.info.threads}${engine.info.blas ? `, BLAS ${engine.info.blas}` : ""}`);
  const save = (): void => {
    if (!checkpointPath) return;
    saveCheckpoint(checkpointPath, model, { train: tc, data: dataConfig, state: trainer.state(), optimizer: true });
    progress.log(`checkpoint saved to ${checkpointPath} at step ${trainer.step}`);
  };
  const started = performance.now();
  let lastEval: EvalLog | null = null, lastLoss = NaN, tokens = 0, stopReason = 'steps', skipped = 0;
  const runStart = trainer.step;
  while (trainer.step < tc.steps) {
    const s = trainer.trainStep();
    lastLoss = s.loss;
    tokens += s.tokens;
    skipped = s.applied ? 0 : skipped + 1;
    if (!s.applied) progress.log(`step ${s.step}: non-finite gradient norm; update skipped`);
    if (skipped >= DIVERGED_STEPS) {
      throw new RangeError(`training diverged: the last ${skipped} steps (to step ${s.step}) had a non-finite loss or gradient, so no update was applied; ` +
        `nothing was saved at this point${checkpointPath ? ` (${checkpointPath} keeps its last good save, if any)` : ''}. Lower learningRate or check the data`);
    }
    const elapsed = (performance.now() - started) / 1000;
    progress.update(s.step, {
      loss: s.loss.toFixed(4), 'tok/s': (tokens / elapsed).toFixed(0), lr: s.lr.toExponential(2),
      ...(lastEval?.accuracy != null ? { acc: `${(100 * lastEval.accuracy).toFixed(1)}%` } : {}),
    });
    const atEnd = trainer.step === tc.steps;
    if (source.hasValidation && ((tc.evalEvery > 0 && trainer.step % tc.evalEvery === 0) || atEnd)) {
      lastEval = trainer.evaluate();
      progress.log(`step ${trainer.step}: train loss ${s.loss.toFixed(4)}, validation ${lastEval.nats.toFixed(4)} nats/token ` +
        `(${lastEval.bitsPerToken.toFixed(4)} bits)${lastEval.accuracy === null ? '' : `, greedy accuracy ${(100 * lastEval.accuracy).toFixed(2)}%`}`);
      if (tc.targetAccuracy > 0 && lastEval.accuracy !== null && lastEval.accuracy >= tc.targetAccuracy) { stopReason = 'target accuracy'; break; }
    }
    if (tc.checkpointEvery > 0 && trainer.step % tc.checkpointEvery === 0) save();
    if (tc.timeBudgetSeconds > 0 && elapsed >= tc.timeBudgetSeconds) { stopReason = 'time budget'; break; }
  }
  progress.finish();
  if (source.hasValidation && (!lastEval || lastEval.step !== trainer.step)) lastEval = trainer.evaluate();
  if (!source.hasValidation) progress.log('no validation data (validationFraction is 0): validation skipped');
  save();
  const seconds = (performance.now() - started) / 1000;
  progress.log(`stopped at step ${trainer.step} (${stopReason}) after ${formatDuration(seconds)}` +
    (lastEval?.accuracy == null ? '' : `: greedy copy accuracy ${(100 * lastEval.accuracy).toFixed(2)}%`));
  if (sample && dataConfig.positionOffset !== 0) {
    progress.log('no sample: generation places prompts at position 1, and this run trains at offset positions');
  } else if (sample && source.scoredInputs(mc.contextLength) && model instanceof PerceiverAR) {
    const text = showMirroredSample(model, tc.seed);
    if (!json) console.log(text);
  } else if (sample && testImagesOf(source).length && model instanceof PerceiverAR) {
    // Image data: 16 samples as a PNG beside the checkpoint (or samples.png).
    const out = checkpointPath ? checkpointPath.replace(/(\.safetensors)?$/, '-samples.png') : 'samples.png';
    writeImageSamples(model, testImagesOf(source), { count: 16, complete: 0, temperature: 1, topK: 0, topP: 1,
      seed: tc.seed, fullVocab: false, cached: true, columns: 4, scale: undefined, out });
    progress.log(`wrote ${out}: 16 samples`);
  } else if (sample && isMusicData(dataConfig) && model instanceof PerceiverAR) {
    // Music: 20 seconds from scratch as MIDI with its piano roll, beside the checkpoint (or sample.mid).
    const out = checkpointPath ? checkpointPath.replace(/(\.safetensors)?$/, '-sample.mid') : 'sample.mid';
    const m = continueMusic(model, [], { maxNewTokens: 4096, seconds: 20, temperature: 1, topK: 0, topP: 1, seed: tc.seed, cached: true });
    progress.log(`wrote ${out} and ${writeMusic(out, m)}: ${m.notes.length} notes`);
  }
  return {
    metrics: {
      steps: trainer.step, stepsThisRun: trainer.step - runStart, stopReason, trainLoss: lastLoss, validationLoss: lastEval?.loss ?? null,
      nats: lastEval?.nats ?? null, bitsPerToken: lastEval?.bitsPerToken ?? null, accuracy: lastEval?.accuracy ?? null, seconds,
      tokensPerSecond: tokens / seconds,
      flopsPerToken: model instanceof PerceiverAR ? flopsPerToken(model.config) : xlFlopsPerToken(model.config), checkpoint: checkpointPath ?? null,
    },
  };
}
