// Checkpoints: the model's parameters (and AdamW moments, for resuming) as safetensors tensors;
// the format name and version, model config, training and data configs and trainer state as
// JSON strings in the header's metadata. A model can be rebuilt from the file alone.
import type { Engine } from '../engine.js';
import { InputError } from '../errors.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../models/adatape/config.js';
import { SequenceClassifier } from '../models/adatape/model.js';
import { MODEL_DEFAULTS, validateModelConfig, type ModelConfig } from '../models/perceiver-ar/config.js';
import { PerceiverAR } from '../models/perceiver-ar/model.js';
import { validateXLConfig, type XLConfig } from '../models/transformer-xl/config.js';
import { TransformerXL } from '../models/transformer-xl/model.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type Tensor } from './safetensors.js';
import { DATA_DEFAULTS, validateDataConfig, validateTrainConfig, type DataConfig, type TrainConfig } from './config.js';
import type { TrainerState } from './trainer.js';

export const CHECKPOINT_FORMAT = 'perceiver-ar-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be read or used; the message names the file (and tensor). */
export class CheckpointError extends InputError {}

/** Checkpoints name their architecture in the header (absent in older files: Perceiver AR). */
export type Architecture = 'perceiver-ar' | 'transformer-xl' | 'sequence-classifier';
/** The autoregressive sequence models (the sequence trainer's models). */
export type AnyModel = PerceiverAR | TransformerXL;
/** Everything a checkpoint can hold: the sequence models and the sequence classifiers (AdaTape and its baselines). */
export type CheckpointModel = AnyModel | SequenceClassifier;

export function architectureOf(model: CheckpointModel): Architecture {
  return model instanceof TransformerXL ? 'transformer-xl' : model instanceof SequenceClassifier ? 'sequence-classifier' : 'perceiver-ar';
}

export interface CheckpointInfo {
  readonly architecture: Architecture;
  readonly model: ModelConfig | XLConfig | ClassifierConfig;
  readonly train: TrainConfig | null;
  readonly data: DataConfig | null;
  readonly state: TrainerState | null;
  readonly hasOptimizer: boolean;
}

export function encodeCheckpoint(model: CheckpointModel, extra: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer: boolean }): Uint8Array {
  const tensors = new Map<string, Tensor>();
  const s = model.params;
  for (const p of s.list) tensors.set(p.spec.name, { dtype: 'F32', shape: p.spec.shape, data: p.value });
  if (extra.optimizer) {
    for (const p of s.list) {
      tensors.set(`optimizer.m.${p.spec.name}`, { dtype: 'F32', shape: p.spec.shape, data: s.m.subarray(p.offset, p.offset + p.size) });
      tensors.set(`optimizer.v.${p.spec.name}`, { dtype: 'F32', shape: p.spec.shape, data: s.v.subarray(p.offset, p.offset + p.size) });
    }
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT, formatVersion: String(CHECKPOINT_VERSION), model: JSON.stringify(model.config),
    architecture: architectureOf(model),
  };
  if (extra.train) metadata.train = JSON.stringify(extra.train);
  if (extra.data) metadata.data = JSON.stringify(extra.data);
  if (extra.state) metadata.state = JSON.stringify(extra.state);
  return encodeSafetensors(tensors, metadata);
}

/** Refuses NaN and ±Inf (and negative values where none can be, as in AdamW's second moment), naming the tensor. */
function checkFinite(data: Float32Array, name: string, path: string, nonNegative: boolean): void {
  let bad = 0, first = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (!Number.isFinite(x) || (nonNegative && x < 0)) { bad++; if (first < 0) first = i; }
  }
  if (bad) {
    throw new CheckpointError(`checkpoint ${path}: tensor '${name}' holds ${bad} ${nonNegative ? 'non-finite or negative' : 'non-finite'} ` +
      `value${bad === 1 ? '' : 's'} (the first, ${data[first]}, at index ${first}); the weights are damaged — use an earlier checkpoint`);
  }
}

/** The trainer state of the header: step, generator states, counters — each checked, naming the file. */
function validateState(raw: unknown, path: string): TrainerState | null {
  if (raw === null) return null;
  const fail = (msg: string): never => { throw new CheckpointError(`checkpoint ${path}: the trainer state in its header ${msg}`); };
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(`is ${JSON.stringify(raw)}, not an object`);
  const st = raw as Record<string, unknown>;
  const u32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  const rules: Record<keyof TrainerState, [(v: unknown) => boolean, string]> = {
    step: [count, 'an integer ≥ 0'], modelRng: [u32, 'a 32-bit generator state'], dataRng: [u32, 'a 32-bit generator state'],
    tokens: [count, 'an integer ≥ 0'], elapsedSeconds: [(v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a number of seconds ≥ 0'],
  };
  for (const [key, [ok, what]] of Object.entries(rules)) {
    if (!(key in st)) fail(`has no '${key}'`);
    if (!ok(st[key])) fail(`has ${key} ${JSON.stringify(st[key])}; it must be ${what}`);
  }
  return st as unknown as TrainerState;
}

function parseJson<T>(text: string | undefined, what: string, path: string): T | null {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CheckpointError(`checkpoint ${path}: the ${what} entry in its header is not valid JSON`);
  }
}

/**
 * Decodes and validates a checkpoint; returns its info, a function that builds the model, and one
 * that copies its weights (not its optimizer state) into a freshly built model of a compatible
 * config: the same parameter names and shapes (the context length, latent count and dropout may
 * differ, which is how length curricula warm-start each length from the previous one).
 */
export function decodeCheckpoint(bytes: Uint8Array, path: string): {
  info: CheckpointInfo; build: (engine: Engine) => CheckpointModel; initialise: (target: CheckpointModel) => void;
} {
  let decoded;
  try {
    decoded = decodeSafetensors(bytes, `checkpoint ${path}`);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
  const { metadata: md, tensors } = decoded;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`checkpoint ${path}: not a perceiver-ar checkpoint (header format is ${JSON.stringify(md.format ?? null)})`);
  }
  if (md.formatVersion !== String(CHECKPOINT_VERSION)) {
    throw new CheckpointError(`checkpoint ${path}: format version ${md.formatVersion} is not supported by this version of perceiver-ar (it reads version ${CHECKPOINT_VERSION})`);
  }
  const architecture = (md.architecture ?? 'perceiver-ar') as Architecture;
  if (architecture !== 'perceiver-ar' && architecture !== 'transformer-xl' && architecture !== 'sequence-classifier') {
    throw new CheckpointError(`checkpoint ${path}: unknown architecture '${String(architecture)}' in its header ` +
      '(this version reads perceiver-ar, transformer-xl and sequence-classifier)');
  }
  let model: ModelConfig | XLConfig | ClassifierConfig, train: TrainConfig | null, data: DataConfig | null;
  try {
    const raw = parseJson<ModelConfig>(md.model, 'model config', path) ?? (() => { throw new CheckpointError(`checkpoint ${path}: no model config in its header`); })();
    // Keys added after a file was written (e.g. the tape) take their defaults, which keep the old behaviour.
    model = architecture === 'transformer-xl' ? validateXLConfig(raw as unknown as XLConfig)
      : architecture === 'sequence-classifier' ? validateClassifierConfig({ ...CLASSIFIER_DEFAULTS, ...(raw as unknown as ClassifierConfig) })
        : validateModelConfig({ ...MODEL_DEFAULTS, ...raw });
    const t = parseJson<TrainConfig>(md.train, 'training config', path);
    train = t ? validateTrainConfig(t) : null;
    const d = parseJson<DataConfig>(md.data, 'data config', path);
    data = d ? validateDataConfig({ ...DATA_DEFAULTS, ...d }) : null;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`checkpoint ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const state = validateState(parseJson<unknown>(md.state, 'trainer state', path), path);
  const hasOptimizer = [...tensors.keys()].some((k) => k.startsWith('optimizer.'));
  const info: CheckpointInfo = { architecture, model, train, data, state, hasOptimizer };
  /** Copies the checkpoint's tensors into a model's parameters (and AdamW moments when asked), refusing non-finite values. */
  const fill = (m: CheckpointModel, optimizer: boolean, needs: string): void => {
    const s = m.params;
    for (const p of s.list) {
      const load = (name: string, into: Float32Array, nonNegative = false): void => {
        const t = tensors.get(name);
        if (!t) throw new CheckpointError(`checkpoint ${path}: tensor '${name}' is missing`);
        if (t.dtype !== 'F32' || t.shape.join('x') !== p.spec.shape.join('x')) {
          throw new CheckpointError(`checkpoint ${path}: tensor '${name}' has shape [${t.shape}] ${t.dtype}, ${needs} needs [${p.spec.shape}] F32`);
        }
        checkFinite(t.data as Float32Array, name, path, nonNegative);
        into.set(t.data as Float32Array);
      };
      load(p.spec.name, p.value);
      if (optimizer) {
        load(`optimizer.m.${p.spec.name}`, s.m.subarray(p.offset, p.offset + p.size));
        load(`optimizer.v.${p.spec.name}`, s.v.subarray(p.offset, p.offset + p.size), true);
      }
    }
  };
  /** Tensors of the file that no parameter of `target` takes (a model built from an edited config would silently drop them). */
  const refuseUnused = (target: CheckpointModel, why: string): void => {
    const extra = [...tensors.keys()].filter((k) => !target.params.has(k.replace(/^optimizer\.[mv]\./, '')));
    if (extra.length) {
      throw new CheckpointError(`checkpoint ${path}: tensor(s) ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', …' : ''} have no ` +
        `parameter in ${why}`);
    }
  };
  const build = (engine: Engine): CheckpointModel => {
    const m = architecture === 'transformer-xl' ? new TransformerXL(engine, model as XLConfig)
      : architecture === 'sequence-classifier' ? new SequenceClassifier(engine, model as ClassifierConfig) : new PerceiverAR(engine, model as ModelConfig);
    refuseUnused(m, 'the model its config describes; the header and the tensors disagree (was the header edited?)');
    fill(m, hasOptimizer, 'the config');
    return m;
  };
  const initialise = (target: CheckpointModel): void => {
    const targetArchitecture = architectureOf(target);
    if (targetArchitecture !== architecture) {
      throw new CheckpointError(`checkpoint ${path} holds a ${architecture} model; its weights cannot initialise a ${targetArchitecture} model`);
    }
    refuseUnused(target, 'the new model; initialising needs the same layers, widths, heads and position encoding');
    fill(target, false, 'the new model');
  };
  return { info, build, initialise };
}
