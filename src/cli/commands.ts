// `perceiver-ar eval | generate | info`: each reads the checkpoint's header, finds its architecture
// and its data's modality in the registries, parses its options once against what they declare,
// and hands the work to the modality.
import type { DataConfig, Metrics, Modality, SequenceModality } from '../data/modality.js';
import { classificationModality, DATA_DEFAULTS, DATA_KEYS, MODALITIES, modalityNamed, validateDataConfig } from '../data/registry.js';
import type { Engine } from '../engine.js';
import { UsageError } from '../errors.js';
import { architectureNamed, type AnyModelConfig } from '../models/registry.js';
import { flagOption, intOption, parseOptions, pathOption, stringOption, type OptionSpec, type Options } from '../options.js';
import { loadAnyCheckpoint, loadCheckpoint, loadClassifierCheckpoint, readCheckpointInfo } from '../platform/node/checkpoint.js';
import { nodeFileSystem } from '../platform/node/file-system.js';
import { presetNamed, PRESETS } from '../presets.js';
import { evaluateClassifier, type TapeStats } from '../train/classifier-trainer.js';
import type { CheckpointInfo } from '../train/checkpoint.js';
import type { ModelConfig } from '../models/perceiver-ar/config.js';
import { WEIGHT_FORMATS, type ParamStore, type WeightFormat } from '../nn/params.js';
import { applyOverrides, splitArgs, type Args } from './args.js';
import { CHECKPOINT_OPTION, OUTPUT_OPTIONS, runContext } from './context.js';

const ENGINE_KEYS = ['threads', 'backend', 'simd', 'blas'];

/**
 * --weights=f32|bf16: the weight matrices as float32, or rounded to bf16 with packed 16-bit copies
 * that decoding reads (ParamStore.setWeightFormat). generate defaults to bf16: 2.2× the tokens/s of
 * float32 on enwik8-small, no measurable bits/byte cost on a trained checkpoint (docs/benchmarks.md); eval
 * defaults to f32, and --weights=bf16 there measures what the rounding costs.
 */
const WEIGHTS_OPTION = stringOption('weights', WEIGHT_FORMATS);
const GENERATE_WEIGHTS: WeightFormat = 'bf16';

/** Applies --weights (or `fallback`) to a loaded model; the format is reported in the JSON result. */
function applyWeights(engine: Engine, params: ParamStore, options: Options, fallback: WeightFormat): WeightFormat {
  const format = (options.string('weights') ?? fallback) as WeightFormat;
  params.setWeightFormat(engine, format);
  return format;
}

function requireCheckpoint(args: Args, command: string): string {
  const path = args.get('checkpoint');
  if (path === undefined) throw new UsageError(`${command} needs --checkpoint=PATH (a file written by perceiver-ar train --checkpoint=PATH)`);
  parseOptions(new Map([['checkpoint', path]]), [CHECKPOINT_OPTION]);
  return path;
}

const pathKinds = (): string => MODALITIES.filter((m) => m.task === 'sequence' && 'dataPath' in m.keys).map((m) => m.name).join(', ');
/** Data keys that name files (dataPath, tokenizer): eval and generate may give them again. */
const PATH_KEYS = [...DATA_KEYS].filter(([, d]) => d.path).map(([k]) => k);

/**
 * The data an eval or generate reads: the checkpoint's, with --data (eval: another sequence
 * modality) and path keys given again (--dataPath, --tokenizer) applied; a modality without a path
 * may name one that reads the same kind from files (synthetic images → images). `reads`: the path
 * keys the command reads (eval: all of its modality's; generate: what the modality's generation reads).
 */
function dataFor(info: CheckpointInfo, args: Args, command: 'eval' | 'generate'):
  { modality: SequenceModality; data: DataConfig; pathGiven: boolean; specs: OptionSpec[]; reads: string[] } {
  const stored = info.data ?? DATA_DEFAULTS, kind = args.get('data');
  let modality: Modality = modalityNamed(stored.data);
  let data: Record<string, unknown> = { ...stored };
  if (kind !== undefined) {
    if (command === 'generate') throw new UsageError('--data does not apply to generate: a checkpoint generates the kind of data it was trained on');
    const m = MODALITIES.find((x) => x.name === kind && x.task === 'sequence');
    if (!m) throw new UsageError(`--data=${kind} is invalid: ${MODALITIES.filter((x) => x.task === 'sequence').map((x) => x.name).join(', ')}`);
    // Keys the new kind does not use go back to their defaults.
    data = { ...DATA_DEFAULTS, ...Object.fromEntries(Object.entries(stored).filter(([k]) => k in m.keys)), data: m.name };
    modality = m;
  }
  const reads = (m: Modality): readonly string[] => (command === 'eval' ? PATH_KEYS.filter((k) => k in m.keys) : (m as SequenceModality).generateReads ?? []);
  if (args.has('dataPath') && !reads(modality).includes('dataPath') && modality.withPath !== undefined && reads(modalityNamed(modality.withPath)).includes('dataPath')) {
    data = { ...data, data: modality.withPath };
    modality = modalityNamed(modality.withPath);
  }
  for (const k of PATH_KEYS) {
    const v = args.get(k);
    if (v === undefined) continue;
    if (v.trim() === '') throw new UsageError(`--${k} is empty; give a file path (--${k}=FILE)`);
    if (!(k in modality.keys)) {
      throw new UsageError(`--${k} is not used with ${modality.noun} (${kind === undefined ? 'the data this checkpoint trained on' : `--data=${kind}`})` +
        (k === 'dataPath' && command === 'eval' ? `; give --data=KIND with it (${pathKinds()})` : ''));
    }
    if (!reads(modality).includes(k)) throw new UsageError(`--${k} does not apply to ${command} for ${modality.noun}: it reads no such file`);
    data[k] = v;
  }
  for (const k of reads(modality)) {
    if (DATA_KEYS.get(k)!.required && !data[k]) throw new UsageError(`${command} needs --${k}=FILE (the checkpoint names no ${k === 'dataPath' ? 'data file' : k})`);
  }
  const specs = [...(command === 'eval' ? [stringOption('data')] : []), ...reads(modality).map((k) => pathOption(k))];
  // Generation reads only what `reads` names (checked above): a model imported without its data (no dataPath) still generates.
  const valid = validateDataConfig(data, { requireInputs: command === 'eval' });
  return { modality: modality as SequenceModality, data: valid, pathGiven: args.has('dataPath'), specs, reads: reads(modality).map((k) => String(valid[k])).filter((p) => p !== '') };
}

/** The data the checkpoint was trained on (outputs must not overwrite it, even when --dataPath names other data). */
const storedInputs = (info: CheckpointInfo): string[] => (info.data ? modalityNamed(info.data.data).inputs(info.data) : []);

const fmtTape = (t: TapeStats): string => (t.mean === null ? '' : `, tape ${t.mean.toFixed(2)} ± ${Math.sqrt(t.variance!).toFixed(2)}`);

export function evalCommand(engine: Engine, args: Args): Metrics {
  const path = requireCheckpoint(args, 'eval'), info = readCheckpointInfo(path);
  if (architectureNamed(info.architecture)!.task === 'classification') return evalClassifier(engine, args, path, info);
  const { modality, data, pathGiven, specs, reads } = dataFor(info, args, 'eval');
  const options = parseOptions(args, [CHECKPOINT_OPTION, ...specs, ...OUTPUT_OPTIONS, ...engineSpecs(), WEIGHTS_OPTION,
    ...modality.evalOptions(info.model as ModelConfig)], `for ${modality.noun} eval`);
  const { model } = loadAnyCheckpoint(path, engine);
  const weights = applyWeights(engine, model.params, options, 'f32');
  return { ...modality.evaluate({ model, data, dataPathGiven: pathGiven, train: info.train, options, ctx: runContext(options, [path, ...reads]) }), weights };
}

function evalClassifier(engine: Engine, args: Args, path: string, info: CheckpointInfo): Metrics {
  const modality = classificationModality(info.data!.data);
  const hasPath = 'dataPath' in modality.keys;
  if (args.has('dataPath') && !hasPath) throw new UsageError(`--dataPath is not used with a ${modality.taskName} classifier (${modality.noun})`);
  const options = parseOptions(args, [CHECKPOINT_OPTION, ...(hasPath ? [pathOption('dataPath')] : []), intOption('batchSize', 1), ...modality.evalOptions,
    ...OUTPUT_OPTIONS, ...engineSpecs()], 'for a classifier eval');
  const { model } = loadClassifierCheckpoint(path, engine);
  const dataPath = options.string('dataPath') ?? (info.data!.dataPath as string);
  if (hasPath && !dataPath) throw new UsageError(`this checkpoint classifies ${modality.taskName}: give --dataPath=DIR (${modality.summary})`);
  const data = validateDataConfig({ ...info.data!, ...(hasPath ? { dataPath } : {}) });
  const c = model.config, ctx = runContext(options, [path, ...new Set([...modality.inputs(data), ...storedInputs(info)])]);
  modality.checkEvalOptions?.(c, options, ctx);
  const opened = modality.open(data, c, ctx);
  const mismatch = opened.mismatch(c);
  if (mismatch) throw new UsageError(mismatch);
  const batchSize = options.number('batchSize') ?? info.train?.batchSize ?? opened.trainDefaults.batchSize;
  const batches = options.number('evalBatches') ?? info.train?.evalBatches ?? opened.trainDefaults.evalBatches;
  const testSet = opened.testSet(batchSize, batches), started = performance.now();
  const r = evaluateClassifier(model, testSet, info.state?.step ?? 0);
  const seconds = (performance.now() - started) / 1000, perSecond = r.examples / seconds, noun = modality.exampleNoun;
  if (!ctx.json) {
    const what = modality.takesLength ? `${modality.taskName} length ${c.sequenceLength}, ${r.examples} ${noun}` : `${r.examples} test ${noun}`;
    ctx.write(`${path}: ${c.model}, step ${r.step}, ${what}: test accuracy ${(100 * r.accuracy).toFixed(2)}%, cross-entropy ${r.crossEntropy.toFixed(4)}` +
      `${fmtTape(r.tape)}; forward ${perSecond.toFixed(0)} ${noun}/s at batch ${batchSize} (${seconds.toFixed(1)} s)\n`);
  }
  const extra = modality.evaluateExtra?.({ model, data, opened, testSet, options, ctx }) ?? { heatmap: null };
  return { model: c.model, task: modality.taskName, sequenceLength: c.sequenceLength, step: r.step, accuracy: r.accuracy, crossEntropy: r.crossEntropy,
    examples: r.examples, tapeMean: r.tape.mean, tapeVariance: r.tape.variance, seconds, examplesPerSecond: perSecond, batchSize, ...extra };
}

/** `classify --checkpoint=CKPT --image=FILE.png [--heatmap=OUT.png]`: one input through a classifier, by its data's modality. */
export function classifyCommand(engine: Engine, args: Args): Metrics {
  const path = requireCheckpoint(args, 'classify'), info = readCheckpointInfo(path);
  if (architectureNamed(info.architecture)!.task !== 'classification' || !info.data) {
    throw new UsageError(`checkpoint ${path} holds a ${info.architecture} model; classify needs a classifier checkpoint (perceiver-ar train --task=…)`);
  }
  const modality = classificationModality(info.data.data);
  if (!modality.classify || !modality.classifyOptions) {
    throw new UsageError(`classify reads one input from a file; a ${modality.taskName} classifier has no such input (perceiver-ar eval scores its test set)`);
  }
  const options = parseOptions(args, [CHECKPOINT_OPTION, ...modality.classifyOptions, ...OUTPUT_OPTIONS, ...engineSpecs()], 'for classify');
  const { model } = loadClassifierCheckpoint(path, engine);
  return modality.classify({ model, data: validateDataConfig(info.data), options, ctx: runContext(options, [path, ...storedInputs(info)]) });
}

export function generateCommand(engine: Engine, args: Args): Metrics {
  const path = requireCheckpoint(args, 'generate'), info = readCheckpointInfo(path);
  if (info.architecture !== 'perceiver-ar') {
    throw new UsageError(`checkpoint ${path} holds a ${info.architecture} model; this needs a Perceiver AR checkpoint`);
  }
  const { modality, data, specs, reads } = dataFor(info, args, 'generate');
  const options = parseOptions(args, [CHECKPOINT_OPTION, ...specs, ...OUTPUT_OPTIONS, ...engineSpecs(), WEIGHTS_OPTION,
    ...modality.generateOptions(info.model as ModelConfig)], `for ${modality.noun} generation`);
  const { model } = loadCheckpoint(path, engine);
  const weights = applyWeights(engine, model.params, options, GENERATE_WEIGHTS);
  // Its inputs: what it reads and the checkpoint's own data (existing data files are never overwritten).
  return { ...modality.generate({ model, data, options, ctx: runContext(options, [path, ...new Set([...reads, ...modality.inputs(data), ...storedInputs(info)])]) }), weights };
}

const engineSpecs = (): OptionSpec[] => ENGINE_KEYS.map((k) => stringOption(k));

export const INFO_OPTIONS = [pathOption('preset'), CHECKPOINT_OPTION, flagOption('json'), flagOption('quiet')];

export function describeModel(architecture: string, c: AnyModelConfig): Metrics {
  const a = architectureNamed(architecture)!;
  return { architecture: a.name, parameters: a.parameters(c), flopsPerToken: a.flopsPerToken(c), config: JSON.stringify(c) };
}

export function infoCommand(engine: Engine, args: Args): Metrics {
  if (args.has('preset') && args.has('checkpoint')) throw new UsageError('info describes either --preset=NAME or --checkpoint=FILE: give one');
  const [own, overrides] = splitArgs(args, [...INFO_OPTIONS.map((o) => o.name), ...ENGINE_KEYS]);
  const options: Options = parseOptions(own, [...INFO_OPTIONS, ...engineSpecs()]);
  const presetName = options.string('preset'), checkpoint = options.string('checkpoint'), json = options.flag('json');
  if (!presetName && overrides.size) {
    const [first] = overrides.keys();
    throw new UsageError(`unknown option --${first}; allowed: ${[...INFO_OPTIONS.map((o) => o.name), ...ENGINE_KEYS].map((k) => `--${k}`).join(' ')}`);
  }
  let described: { architecture: string; model: AnyModelConfig; data: DataConfig | null } | null = null, source = '';
  if (checkpoint) {
    const info = readCheckpointInfo(checkpoint);
    described = { architecture: info.architecture, model: info.model, data: info.data };
    source = checkpoint;
  } else if (presetName) {
    // info describes the architecture: a data path may be missing; data that implies model values (a
    // tokenizer's vocabulary) gives them as train would.
    const preset = presetNamed(presetName);
    const cfg = applyOverrides(preset, overrides, INFO_OPTIONS.map((o) => o.name), (d) => {
      const m = modalityNamed(d.data);
      return m.task === 'sequence' && m.modelDefaults ? m.modelDefaults(d, nodeFileSystem) : {};
    }, { requireInputs: false });
    described = { architecture: cfg.architecture, model: cfg.model, data: cfg.data };
    source = `preset ${presetName}`;
  }
  const out: Metrics = { backend: engine.info.backend, simd: engine.info.simd, threads: engine.info.threads, blas: engine.info.blas,
    blasAttentionTiles: engine.info.blasAttentionTiles, notes: engine.info.notes.join('; ') };
  if (!json) {
    console.log(`engine:  ${engine.info.backend} (${engine.info.simd}), ${engine.info.threads} threads${engine.info.notes.length ? ` — ${engine.info.notes.join('; ')}` : ''}`);
    console.log(`blas:    ${engine.info.blas ?? 'none: every matmul runs in the engine\'s own kernels'}`);
    if (!described) {
      console.log(`presets: ${Object.keys(PRESETS).join(', ')} (perceiver-ar info --preset=NAME)`);
      console.log(`data:    ${MODALITIES.map((m) => m.name).join(', ')} (docs/architecture.md)`);
    }
  }
  if (described) {
    const d = describeModel(described.architecture, described.model);
    Object.assign(out, { source }, d, { data: described.data?.data ?? null });
    if (!json) {
      console.log(`model (${source}):`);
      for (const [k, v] of Object.entries(described.model)) console.log(`  ${k.padEnd(24)} ${String(v)}`);
      console.log(`  ${'architecture'.padEnd(24)} ${String(d.architecture)}`);
      console.log(`  ${'parameters'.padEnd(24)} ${Number(d.parameters).toLocaleString('en-US')}`);
      if (d.flopsPerToken !== null) console.log(`  ${'training FLOPs/token'.padEnd(24)} ${(Number(d.flopsPerToken) / 1e6).toFixed(1)} M`);
      if (described.data) {
        const m = modalityNamed(described.data.data);
        console.log(`data (${m.name}): ${m.summary}`);
        for (const k of Object.keys(m.keys)) console.log(`  ${k.padEnd(24)} ${String(described.data[k])}`);
      }
    }
  }
  return out;
}
