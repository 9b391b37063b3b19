// What a page's session runs through the data's modality (docs/browser.md): generate, eval and
// classify, as the command line runs them, over an in-memory file system that holds the files the
// page gave (a prompt .mid, an image, a text file to score, a tokenizer) and collects the files the
// modality writes (a PNG grid, a .mid and its piano roll, a heatmap). Nothing here knows a kind of
// data: the modality's own options are parsed against what it declares, as the CLI does.
import type { DataConfig, Metrics, RunContext } from '../../data/modality.js';
import { classificationModality, DATA_DEFAULTS, DATA_KEYS, sequenceModality, validateDataConfig } from '../../data/registry.js';
import { UsageError } from '../../errors.js';
import { baseName, memoryFileSystem } from '../../io/file-system.js';
import type { Progress } from '../../io/progress.js';
import { SequenceClassifier } from '../../models/adatape/model.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import type { AnyModel, CheckpointModel } from '../../models/registry.js';
import { WEIGHT_FORMATS, type WeightFormat } from '../../nn/params.js';
import { parseOptions, stringOption, type OptionSpec } from '../../options.js';
import type { TrainConfig } from '../../train/config.js';
import type { CommandForm, RunCommand, RunEvent, RunRequest, RunResult } from './session-protocol.js';

const WEIGHTS = stringOption('weights', WEIGHT_FORMATS);

/** Progress as events, at most one per `every` units of work (and the last). */
function progressEvents(total: number, label: string, every: number, emit: (e: RunEvent) => void): Progress {
  let last = -Infinity;
  return {
    update: (done) => { if (done - last >= every || done >= total) { last = done; emit({ type: 'progress', label, done, total }); } },
    log: (line) => emit({ type: 'log', line }),
    finish: () => undefined,
  };
}

/**
 * Runs `request` on the session's model. `withWeights(format)` gives the model with its weight
 * matrices in that format (the session rebuilds an unrounded one when float32 is asked after bf16).
 */
export function runCommand(model: CheckpointModel, stored: { readonly data?: DataConfig; readonly train?: TrainConfig }, request: RunRequest,
  withWeights: (format: WeightFormat) => CheckpointModel, emit: (e: RunEvent) => void): RunResult {
  const { command } = request, data: Record<string, unknown> = { ...(stored.data ?? DATA_DEFAULTS) };
  const raw = new Map<string, string>(), given = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(request.options)) raw.set(key, String(value));
  // Each file goes in under input/ (outputs are written beside it, so a downloaded output given back
  // as an input does not collide), under its key's folder too when two share a name; a data key
  // (dataPath, tokenizer) names it in the data config, an option (prompt, image) is set to it.
  for (const [key, file] of Object.entries(request.files ?? {})) {
    const name = baseName(file.name) || 'file', path = given.has(`input/${name}`) ? `input/${key}/${name}` : `input/${name}`;
    given.set(path, new Uint8Array(file.bytes));
    if (DATA_KEYS.get(key)?.path) data[key] = path;
    else raw.set(key, path);
  }
  const fs = memoryFileSystem(given);
  const ctx: RunContext = {
    fs, json: false, inputs: [...given.keys()],
    log: (line) => emit({ type: 'log', line }),
    write: (text) => emit({ type: 'text', text }),
    progress: (total, label, every = 1) => progressEvents(total, label, every, emit),
  };
  const format = (fallback: WeightFormat): WeightFormat => (raw.get('weights') ?? fallback) as WeightFormat;
  let metrics: Metrics;
  if (command === 'classify') {
    if (!(model instanceof SequenceClassifier) || !stored.data) throw new UsageError('classify needs a classifier checkpoint (perceiver-ar train --task=…)');
    const modality = classificationModality(stored.data.data);
    if (!modality.classify || !modality.classifyOptions) throw new UsageError(`a ${modality.taskName} classifier takes no single input from a file`);
    metrics = modality.classify({ model, data: validateDataConfig(data), options: parseOptions(raw, modality.classifyOptions, 'for classify'), ctx });
  } else {
    if (model instanceof SequenceClassifier) throw new UsageError(`${command} needs a sequence model; this checkpoint holds a classifier (use classify)`);
    const modality = sequenceModality(String(data.data)), config = model.config;
    if (command === 'generate') {
      if (!(model instanceof PerceiverAR)) throw new UsageError('generate needs a Perceiver AR checkpoint');
      const options = parseOptions(raw, [WEIGHTS, ...modality.generateOptions(model.config)], `for ${modality.noun} generation`);
      const m = withWeights(format('bf16')) as PerceiverAR;
      metrics = { ...modality.generate({ model: m, data: validateDataConfig(data), options, ctx }), weights: m.params.weightFormat };
    } else {
      const options = parseOptions(raw, [WEIGHTS, ...modality.evalOptions(config as never)], `for ${modality.noun} eval`);
      const m = withWeights(format('f32')) as AnyModel;
      metrics = { ...modality.evaluate({ model: m, data: validateDataConfig(data), dataPathGiven: request.files?.dataPath !== undefined, train: stored.train ?? null,
        options, ctx }),
        weights: m.params.weightFormat };
    }
  }
  const files = [...fs.files].filter(([path]) => !given.has(path)).map(([path, bytes]) => ({ name: path, bytes }));
  return { metrics, files };
}

/** An option as a page can receive it (no check function: it crosses a postMessage). */
const formOption = (o: OptionSpec): CommandForm['options'][number] =>
  ({ name: o.name, type: o.type, ...(o.allowed ? { allowed: o.allowed } : {}), ...(o.choices ? { choices: [...o.choices] } : {}), ...(o.output ? { output: true } : {}),
    ...(o.accept ? { accept: o.accept } : {}) });
/** The data keys naming files a command reads, with the file types each takes. */
const fileKeys = (keys: readonly string[]): CommandForm['files'] =>
  keys.map((k) => { const accept = DATA_KEYS.get(k)?.accept; return accept ? { name: k, accept } : { name: k }; });
/** The options a form shows: not those that are only there to be refused with a message. */
const shown = (specs: readonly OptionSpec[]): CommandForm['options'] => specs.filter((o) => !o.refused).map(formOption);

/** The commands a model can run in a session, each with the options its data's modality declares (a page builds its form from them). */
export function commandForms(model: CheckpointModel, data: DataConfig | undefined): Partial<Record<RunCommand, CommandForm>> {
  if (model instanceof SequenceClassifier) {
    const m = data ? classificationModality(data.data) : null;
    return m?.classify && m.classifyOptions ? { classify: { options: shown(m.classifyOptions), files: [], help: m.help?.classify ?? null } } : {};
  }
  const m = sequenceModality(data?.data ?? DATA_DEFAULTS.data);
  const forms: Partial<Record<RunCommand, CommandForm>> = {
    eval: { options: shown([WEIGHTS, ...m.evalOptions(model.config)]), files: fileKeys(Object.keys(m.keys).filter((k) => m.keys[k]!.path)), help: m.help?.eval ?? null },
  };
  if (model instanceof PerceiverAR) {
    forms.generate = { options: shown([WEIGHTS, ...m.generateOptions(model.config)]), files: fileKeys(m.generateReads ?? []), help: m.help?.generate ?? null };
  }
  return forms;
}
