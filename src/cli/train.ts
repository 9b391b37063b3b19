// `perceiver-ar train`: a sequence model from a preset (or resuming a checkpoint) on any sequence
// modality, or a sequence classifier (--task, --model, or a classifier checkpoint to resume) on any
// classification modality. The data comes from the registry, the loop from train/loop.ts.
import { classificationModality, classifierTaskNamed, MODALITIES, sequenceModality, validateDataConfig } from '../data/registry.js';
import type { ClassificationModality, DataConfig, Metrics, RunContext } from '../data/modality.js';
import type { Engine } from '../engine.js';
import { UsageError } from '../errors.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../models/adatape/config.js';
import { SequenceClassifier } from '../models/adatape/model.js';
import { PerceiverAR } from '../models/perceiver-ar/model.js';
import { architectureNamed, architectureOf, type AnyModel } from '../models/registry.js';
import { flagOption, parseOptions, pathOption, stringOption, type Options } from '../options.js';
import { checkCheckpointTarget, initialiseFromCheckpoint, loadAnyCheckpoint, loadClassifierCheckpoint, readCheckpointInfo, saveCheckpoint } from '../platform/node/checkpoint.js';
import { nodeFileSystem } from '../platform/node/file-system.js';
import { presetNamed, type AnyPreset } from '../presets.js';
import { ClassifierTrainer, type ClassifierEval, type ClassifierStepLog, type TapeStats } from '../train/classifier-trainer.js';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/config.js';
import { checkOutputAgainst } from '../io/file-system.js';
import { formatDuration } from '../io/progress.js';
import { runTraining } from '../train/loop.js';
import { Trainer, type EvalLog, type StepLog } from '../train/trainer.js';
import { applyOverrides, coerce, splitArgs, type Args } from './args.js';
import { OUTPUT_OPTIONS, progressOn, runContext } from './context.js';

export const TRAIN_OPTIONS = [pathOption('preset'), pathOption('checkpoint'), pathOption('resume'), pathOption('initFrom'), flagOption('sample'),
  stringOption('task'), stringOption('length'), ...OUTPUT_OPTIONS];
export const TRAIN_CLI_KEYS = [...TRAIN_OPTIONS.map((o) => o.name), 'threads', 'backend', 'simd', 'blas'];

const engineLine = (engine: Engine): string =>
  `engine ${engine.info.backend} ${engine.info.simd} ×${engine.info.threads}${engine.info.blas ? `, BLAS ${engine.info.blas}` : ''}`;

/** Whether this run trains a classifier: --task, a classifier's --model kind, classifier data, or a classifier checkpoint to resume. */
function trainsClassifier(o: Options, overrides: Args): boolean {
  const data = overrides.get('data');
  if (o.has('task') || overrides.has('model')) return true;
  if (data !== undefined && MODALITIES.some((m) => m.name === data && m.task === 'classification')) return true;
  const resume = o.string('resume');
  return resume !== undefined && architectureNamed(readCheckpointInfo(resume).architecture)?.task === 'classification';
}

export async function trainCommand(engine: Engine, args: Args): Promise<Metrics> {
  const [own, overrides] = splitArgs(args, TRAIN_OPTIONS.map((o) => o.name));
  const o = parseOptions(own, TRAIN_OPTIONS);
  return trainsClassifier(o, overrides) ? trainClassifier(engine, o, overrides) : trainSequenceModel(engine, o, overrides);
}

async function trainSequenceModel(engine: Engine, o: Options, overrides: Args): Promise<Metrics> {
  const json = o.flag('json'), quiet = o.flag('quiet'), ctx: RunContext = { ...runContext(o), log: quiet ? () => undefined : (l) => console.error(l) };
  const checkpointPath = o.string('checkpoint') ?? null, resumePath = o.string('resume'), initPath = o.string('initFrom');
  if (o.has('length')) throw new UsageError('--length is the sequence length of a classifier (--task=parity); sequence models take --contextLength');
  if (resumePath && initPath) throw new UsageError('--resume continues a run with its own weights; --initFrom starts a new run from a checkpoint\'s weights: give one');
  if (resumePath && o.has('preset')) throw new UsageError('--preset starts a new run; --resume continues a checkpoint with its own configs: give one');
  const presetName = o.string('preset') ?? 'mirrored-32-small';
  let model: AnyModel, cfg, state;
  if (resumePath) {
    const loaded = loadAnyCheckpoint(resumePath, engine);
    if (!loaded.info.train || !loaded.info.data || !loaded.info.state) {
      throw new UsageError(`checkpoint ${resumePath} has no training state to resume (it was saved without --checkpoint during training)`);
    }
    const preset = { architecture: loaded.info.architecture, description: 'resumed', model: loaded.info.model, train: loaded.info.train,
      data: loaded.info.data } as AnyPreset;
    for (const key of overrides.keys()) {
      if (key in preset.model) throw new UsageError(`--${key} changes the architecture; a resumed run keeps the checkpoint's model config`);
    }
    cfg = applyOverrides(preset, overrides, TRAIN_CLI_KEYS);
    model = loaded.model;
    state = loaded.info.state;
  } else {
    cfg = applyOverrides(presetNamed(presetName), overrides, TRAIN_CLI_KEYS, (d) => sequenceModality(d.data).modelDefaults?.(d, ctx.fs) ?? {});
  }
  const modality = sequenceModality(cfg.data.data);
  // Every output checked before the data is read: writable, and none of the run's inputs. A resumed
  // run may save over the checkpoint it resumed (it is read whole first, and saves are atomic).
  const inputs = [...modality.inputs(cfg.data), initPath ?? ''], dataFiles = modality.dataFiles;
  if (checkpointPath) checkOutputAgainst(ctx.fs, checkpointPath, 'checkpoint', inputs, dataFiles);
  if (o.flag('sample')) {
    for (const out of modality.sampleOutputs?.(checkpointPath) ?? []) checkOutputAgainst(ctx.fs, out, 'sample', [...inputs, resumePath ?? '', checkpointPath ?? ''], dataFiles);
  }
  const opened = modality.open(cfg.data, cfg.model.vocabSize, ctx), data = opened.dataConfig ?? cfg.data;
  if (!resumePath) {
    model = architectureNamed(cfg.architecture)!.build(engine, cfg.model, cfg.train.seed) as AnyModel;
    if (initPath) initialiseFromCheckpoint(initPath, model);
  }
  const trainer = new Trainer(engine, model!, cfg.train, opened.source, state ?? undefined);
  const tc = trainer.config, architecture = architectureOf(model!);
  if (checkpointPath) checkCheckpointTarget(checkpointPath, { parameters: model!.params.count, optimizer: true, inputs, dataFiles });
  const progress = progressOn(tc.steps, 'train', { json, quiet, every: Math.max(1, tc.evalEvery || 50), deadlineSeconds: tc.timeBudgetSeconds });
  progress.log(`${resumePath ? `resuming ${resumePath} at step ${trainer.step}` : `preset ${presetName}`}` +
    `${initPath ? ` (weights from ${initPath})` : ''}: ${opened.source.description}; ` +
    `${(model!.params.count / 1e6).toFixed(2)}M parameters, ${architecture.shape(model!.config)}; ${engineLine(engine)}`);
  for (const n of trainer.notices) progress.log(`note: ${n}`);
  const save = checkpointPath ? (): void => {
    saveCheckpoint(checkpointPath, model!, { train: tc, data, state: trainer.state(), optimizer: true });
    progress.log(`checkpoint saved to ${checkpointPath} at step ${trainer.step}`);
  } : null;
  const r = runTraining<StepLog, EvalLog>(trainer, tc, {
    progress, save, savedTo: checkpointPath,
    fields: (s, lastEval, tokensPerSecond) => ({
      loss: s.loss.toFixed(4), 'tok/s': tokensPerSecond.toFixed(0), lr: s.lr.toExponential(2),
      ...(lastEval?.accuracy != null ? { acc: `${(100 * lastEval.accuracy).toFixed(1)}%` } : {}),
    }),
    evalLine: (s, e) => `step ${e.step}: train loss ${s.loss.toFixed(4)}, validation ${e.nats.toFixed(4)} nats/token ` +
      `(${e.bitsPerToken.toFixed(4)} bits)${e.accuracy === null ? '' : `, greedy accuracy ${(100 * e.accuracy).toFixed(2)}%`}`,
  });
  progress.log(`stopped at step ${trainer.step} (${r.stopReason}) after ${formatDuration(r.seconds)}` +
    (r.lastEval?.accuracy == null ? '' : `: greedy copy accuracy ${(100 * r.lastEval.accuracy).toFixed(2)}%`));
  if (o.flag('sample')) {
    if (!(model! instanceof PerceiverAR)) progress.log('no sample: generation needs a Perceiver AR model');
    else if (!modality.sample) progress.log(`no sample: ${modality.noun} has none after training (use perceiver-ar generate)`);
    else for (const line of modality.sample({ model: model!, data, opened, seed: tc.seed, checkpointPath, ctx })) progress.log(line);
  }
  const e = r.lastEval;
  return {
    steps: trainer.step, stepsThisRun: r.stepsThisRun, stopReason: r.stopReason, trainLoss: r.lastStep?.loss ?? NaN, validationLoss: e?.loss ?? null,
    nats: e?.nats ?? null, bitsPerToken: e?.bitsPerToken ?? null, accuracy: e?.accuracy ?? null, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds,
    flopsPerToken: architecture.flopsPerToken(model!.config), checkpoint: checkpointPath,
  };
}

const fmtTape = (t: TapeStats): string => (t.mean === null ? '' : `, tape ${t.mean.toFixed(2)} ± ${Math.sqrt(t.variance!).toFixed(2)}`);

/** The classification data of a run: --task, --data, the resumed checkpoint's, or parity. */
function classifierData(o: Options, overrides: Args, resumed: DataConfig | null): { modality: ClassificationModality; data: DataConfig } {
  const task = o.string('task'), kind = overrides.get('data');
  overrides.delete('data');
  let modality: ClassificationModality;
  if (task !== undefined) {
    const m = classifierTaskNamed(task);
    if (!m) throw new UsageError(`--task=${task} is not available for the classifiers: ${MODALITIES.flatMap((x) => (x.task === 'classification' ? [x.taskName] : [])).join(' or ')}`);
    if (resumed && resumed.data !== m.name) throw new UsageError(`--task=${task}: a resumed run keeps the task its checkpoint trained on`);
    if (kind !== undefined && kind !== m.name) throw new UsageError(`--data=${kind} and --task=${task} disagree: --task=${task} trains on ${m.name}; give one`);
    modality = m;
  } else {
    if (resumed && kind !== undefined && kind !== resumed.data) throw new UsageError(`--data=${kind}: a resumed run keeps the data its checkpoint trained on (${resumed.data})`);
    modality = classificationModality(resumed?.data ?? kind ?? 'parity');
  }
  const dataPath = overrides.get('dataPath');
  overrides.delete('dataPath');
  if (dataPath !== undefined && !('dataPath' in modality.keys)) throw new UsageError(`--dataPath is not used with --task=${modality.taskName} (${modality.noun})`);
  if (dataPath !== undefined && dataPath.trim() === '') throw new UsageError('--dataPath is empty; give a file path (--dataPath=FILE)');
  const path = dataPath ?? (resumed?.dataPath as string | undefined) ?? '';
  if ('dataPath' in modality.keys && path === '') {
    throw new UsageError(resumed ? `this checkpoint classifies ${modality.taskName}: give --dataPath=DIR (${modality.summary})`
      : `--task=${modality.taskName} needs --dataPath=DIR: ${modality.summary}`);
  }
  return { modality, data: validateDataConfig({ ...(resumed ?? {}), data: modality.name, ...('dataPath' in modality.keys ? { dataPath: path } : {}) }) };
}

function trainClassifier(engine: Engine, o: Options, overrides: Args): Metrics {
  const json = o.flag('json'), quiet = o.flag('quiet'), ctx = runContext(o);
  const checkpointPath = o.string('checkpoint') ?? null, resumePath = o.string('resume');
  if (o.has('initFrom') || o.has('preset') || o.has('sample')) throw new UsageError('--initFrom, --preset and --sample are for sequence models, not the classifiers');
  const length = o.string('length');
  if (length !== undefined) {
    if (overrides.has('sequenceLength')) throw new UsageError('give --length or --sequenceLength, not both');
    overrides.set('sequenceLength', length);
  }
  const loaded = resumePath ? loadClassifierCheckpoint(resumePath, engine) : null;
  if (loaded && (!loaded.info.train || !loaded.info.state || !loaded.info.hasOptimizer)) {
    throw new UsageError(`checkpoint ${resumePath} has no training state to resume (it was not written by train --checkpoint)`);
  }
  const { modality, data } = classifierData(o, overrides, loaded?.info.data ?? null);
  if (checkpointPath) checkOutputAgainst(ctx.fs, checkpointPath, 'checkpoint', modality.inputs(data), modality.dataFiles);
  if (!modality.takesLength && overrides.has('sequenceLength')) throw new UsageError(`--sequenceLength/--length is not used with ${modality.noun}: the data fixes it`);
  const seqLength = overrides.has('sequenceLength') ? Number(overrides.get('sequenceLength')) : undefined;
  const opened = modality.open(data, loaded?.model.config ?? (seqLength === undefined ? {} : { sequenceLength: seqLength }), { fs: nodeFileSystem, log: ctx.log });
  const model: Record<string, unknown> = loaded ? { ...loaded.model.config } : { ...opened.modelDefaults };
  const train: Record<string, unknown> = { ...(loaded?.info.train ?? opened.trainDefaults) };
  for (const [key, raw] of overrides) {
    if (loaded && key in model) throw new UsageError(`--${key} changes the model; a resumed run keeps the checkpoint's model config`);
    if (key in model) model[key] = coerce(model, key, raw);
    else if (key in train) train[key] = coerce(train, key, raw);
    else {
      throw new UsageError(`unknown option --${key} for a classifier run; model keys: ${Object.keys(CLASSIFIER_DEFAULTS).join(', ')}; ` +
        `training keys: ${Object.keys(TRAIN_DEFAULTS).join(', ')}; also --task, --length, --dataPath, --checkpoint, --resume, --json, --quiet`);
    }
  }
  if (!loaded) modality.deriveModel?.(model);
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
  const mismatch = opened.mismatch(mc);
  if (mismatch) throw new UsageError(mismatch);
  const classifier = loaded?.model ?? new SequenceClassifier(engine, mc, tc.seed);
  if (checkpointPath) checkCheckpointTarget(checkpointPath, { parameters: classifier.params.count, optimizer: true, inputs: modality.inputs(data), dataFiles: modality.dataFiles });
  const testSet = opened.testSet(tc.batchSize, tc.evalBatches);
  const trainer = new ClassifierTrainer(engine, classifier, tc, opened.makeBatch, testSet, loaded?.info.state ?? undefined);
  const progress = progressOn(tc.steps, 'train', { json, quiet, every: Math.max(1, tc.evalEvery || 50), deadlineSeconds: tc.timeBudgetSeconds });
  if (loaded) progress.log(`resuming ${resumePath} at step ${trainer.step} of ${tc.steps}`);
  const L = mc.sequenceLength, testExamples = testSet.reduce((n, b) => n + b.batchSize, 0);
  progress.log(`${opened.description}: ${mc.model}, ${(classifier.params.count / 1e3).toFixed(1)}k parameters, C ${mc.width}, ${mc.numHeads} heads, ` +
    `${mc.input === 'image' ? `${L} patches of ${mc.patchSize}×${mc.patchSize}${mc.model === 'adatape' && mc.bank === 'input' ? ` (bank: ${mc.bankPatchSize}×${mc.bankPatchSize})` : ''}, ` : ''}` +
    `${mc.model === 'universal' ? `1 shared block × ≤ ${mc.maxSteps} steps (ACT)` : `${mc.numLayers} blocks`}` +
    `${mc.model === 'adatape' ? `, tape T ${mc.maxTape}, τ ${mc.threshold}, λ ${mc.ponderWeight}, ${mc.bank} bank, read before block ${mc.readLayer}` : ''}; ` +
    `batch ${tc.batchSize}, ${tc.steps} steps, lr ${tc.learningRate}; test set ${testExamples} examples; ${engineLine(engine)}`);
  const save = checkpointPath ? (): void => {
    saveCheckpoint(checkpointPath, classifier, { train: tc, data, state: trainer.state(), optimizer: true });
    progress.log(`checkpoint saved to ${checkpointPath} at step ${trainer.step}`);
  } : null;
  let best = 0;
  const r = runTraining<ClassifierStepLog, ClassifierEval>(trainer, tc, {
    progress, save, savedTo: checkpointPath, onEval: (e) => { best = Math.max(best, e.accuracy); },
    fields: (s) => ({
      loss: s.loss.toFixed(4), acc: `${(100 * s.accuracy).toFixed(1)}%`,
      ...(s.tape.mean !== null ? { tape: `${s.tape.mean.toFixed(2)}±${Math.sqrt(s.tape.variance!).toFixed(2)}` } : {}),
      lr: s.lr.toExponential(2),
    }),
    evalLine: (s, e) => `step ${e.step}: train loss ${s.loss.toFixed(4)} (batch tape${s.tape.mean === null ? ' —' : ` mean ${s.tape.mean.toFixed(2)}, ` +
      `variance ${s.tape.variance!.toFixed(2)}`}), test accuracy ${(100 * e.accuracy).toFixed(2)}%, cross-entropy ${e.crossEntropy.toFixed(4)}${fmtTape(e.tape)}`,
  });
  const last = r.lastEval!;
  progress.log(`stopped at step ${trainer.step} (${r.stopReason}) after ${formatDuration(r.seconds)}: test accuracy ${(100 * last.accuracy).toFixed(2)}%` +
    fmtTape(last.tape));
  return {
    task: modality.taskName, model: mc.model, sequenceLength: L, seed: tc.seed, ponderWeight: mc.ponderWeight, steps: trainer.step,
    stepsThisRun: r.stepsThisRun, stopReason: r.stopReason, seconds: r.seconds, checkpoint: checkpointPath,
    accuracy: last.accuracy, bestAccuracy: best, crossEntropy: last.crossEntropy, testExamples: last.examples,
    tapeMean: last.tape.mean, tapeVariance: last.tape.variance,
  };
}
