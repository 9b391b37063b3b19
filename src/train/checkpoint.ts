// Checkpoints: the model's state dict (parameters, and AdamW moments for resuming) as safetensors
// tensors; the format name and version, architecture, model config, training and data configs and
// trainer state as JSON strings in the header's metadata. A model can be rebuilt from the file
// alone; `info` and the trainer choice read the header only (decodeCheckpointHeader).
import type { Engine } from '../engine.js';
import { InputError } from '../errors.js';
import type { DataConfig } from '../data/modality.js';
import { DATA_DEFAULTS, MODALITIES, storedDataConfig, validateDataConfig, withUnusedReset } from '../data/registry.js';
import type { ClassifierConfig } from '../models/adatape/config.js';
import { architectureNamed, architectureOf, ARCHITECTURES, type AnyModelConfig, type Architecture, type CheckpointModel } from '../models/registry.js';
import { loadStateDict, stateDict, StateDictError, unusedTensors } from '../nn/state-dict.js';
import type { FileSystem } from '../io/file-system.js';
import { decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors, headerLength, SafetensorsError, type Tensor } from '../io/safetensors.js';
import { validateTrainConfig, type TrainConfig } from './config.js';
import type { TrainerState } from './trainer.js';

export type { AnyModel, Architecture, CheckpointModel } from '../models/registry.js';

export const CHECKPOINT_FORMAT = 'perceiver-ar-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be read or used; the message names the file (and tensor). */
export class CheckpointError extends InputError {}

export interface CheckpointInfo {
  readonly architecture: Architecture;
  readonly model: AnyModelConfig;
  readonly train: TrainConfig | null;
  /**
   * The data the model was trained on. Files written before the modality was recorded for
   * classifiers (release 0.1.0) get it from the model config (parity or labelled images, with no path).
   */
  readonly data: DataConfig | null;
  readonly state: TrainerState | null;
  readonly hasOptimizer: boolean;
}

export function encodeCheckpoint(model: CheckpointModel, extra: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer: boolean }): Uint8Array {
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT, formatVersion: String(CHECKPOINT_VERSION), model: JSON.stringify(model.config), architecture: architectureOf(model).name,
  };
  if (extra.train) metadata.train = JSON.stringify(extra.train);
  if (extra.data) metadata.data = JSON.stringify(storedDataConfig(extra.data));
  if (extra.state) metadata.state = JSON.stringify(extra.state);
  return encodeSafetensors(stateDict(model.params, extra.optimizer), metadata);
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

/** The data config of a classifier checkpoint written before classifiers recorded theirs: from the model's input. */
function inferredData(model: AnyModelConfig): DataConfig | null {
  if (!('sequenceLength' in model)) return null;
  const m = MODALITIES.find((x) => x.task === 'classification' && x.fitsModel(model as ClassifierConfig));
  return m ? { ...DATA_DEFAULTS, data: m.name } as DataConfig : null;
}

/** The configs and state in a checkpoint's header metadata, validated. */
function infoOf(md: Readonly<Record<string, string>>, tensorNames: readonly string[], path: string): CheckpointInfo {
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`checkpoint ${path}: not a perceiver-ar checkpoint (header format is ${JSON.stringify(md.format ?? null)})`);
  }
  if (md.formatVersion !== String(CHECKPOINT_VERSION)) {
    throw new CheckpointError(`checkpoint ${path}: format version ${md.formatVersion} is not supported by this version of perceiver-ar (it reads version ${CHECKPOINT_VERSION})`);
  }
  const entry = architectureNamed(md.architecture ?? 'perceiver-ar');
  if (!entry) {
    throw new CheckpointError(`checkpoint ${path}: unknown architecture '${String(md.architecture)}' in its header ` +
      `(this version reads ${ARCHITECTURES.map((a) => a.name).join(', ')})`);
  }
  let model: AnyModelConfig, train: TrainConfig | null, data: DataConfig | null;
  try {
    const raw = parseJson<object>(md.model, 'model config', path) ?? (() => { throw new CheckpointError(`checkpoint ${path}: no model config in its header`); })();
    model = entry.validate(raw);
    const t = parseJson<TrainConfig>(md.train, 'training config', path);
    train = t ? validateTrainConfig(t) : null;
    const d = parseJson<Record<string, unknown>>(md.data, 'data config', path);
    // A path a run read may be given again at eval time (--dataPath), so it is not required here.
    data = d ? validateDataConfig(withUnusedReset(d), { requireInputs: false }) : inferredData(model);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`checkpoint ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const state = validateState(parseJson<unknown>(md.state, 'trainer state', path), path);
  return { architecture: entry.name, model, train, data, state, hasOptimizer: tensorNames.some((k) => k.startsWith('optimizer.')) };
}

/** A checkpoint's info from the first bytes of a file of `fileBytes` bytes (8 + the header length); no tensor is read. */
export function decodeCheckpointHeader(prefix: Uint8Array, fileBytes: number, path: string): CheckpointInfo {
  try {
    const header = decodeSafetensorsHeader(prefix, fileBytes, `checkpoint ${path}`);
    return infoOf(header.metadata, header.entries.map((e) => e.name), path);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
}

/** A checkpoint file's configs and state from its header alone: two reads of its first bytes (the length, then the header). */
export function readCheckpointHeader(fs: FileSystem, path: string): CheckpointInfo {
  const first = fs.readPrefix(path, 8, 'checkpoint');
  let length: number;
  try {
    length = headerLength(first.bytes, first.size, `checkpoint ${path}`);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
  const head = fs.readPrefix(path, 8 + length, 'checkpoint');
  return decodeCheckpointHeader(head.bytes, head.size, path);
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
  let tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>>;
  try {
    ({ tensors, metadata } = decodeSafetensors(bytes, `checkpoint ${path}`));
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
  const info = infoOf(metadata, [...tensors.keys()], path);
  const fill = (m: CheckpointModel, optimizer: boolean, needs: string): void => {
    try {
      loadStateDict(m.params, tensors, { optimizer, needs });
    } catch (e) {
      if (e instanceof StateDictError) throw new CheckpointError(`checkpoint ${path}: ${e.message}`);
      throw e;
    }
  };
  const refuseUnused = (target: CheckpointModel, why: string): void => {
    const extra = unusedTensors(target.params, tensors.keys());
    if (extra.length) {
      throw new CheckpointError(`checkpoint ${path}: tensor(s) ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', …' : ''} have no ` +
        `parameter in ${why}`);
    }
  };
  const build = (engine: Engine): CheckpointModel => {
    // Not initialised: every parameter is loaded next (loadStateDict refuses a missing one).
    const m = architectureNamed(info.architecture)!.build(engine, info.model, null);
    refuseUnused(m, 'the model its config describes; the header and the tensors disagree (was the header edited?)');
    fill(m, info.hasOptimizer, 'the config');
    return m;
  };
  const initialise = (target: CheckpointModel): void => {
    const targetArchitecture = architectureOf(target).name;
    if (targetArchitecture !== info.architecture) {
      throw new CheckpointError(`checkpoint ${path} holds a ${info.architecture} model; its weights cannot initialise a ${targetArchitecture} model`);
    }
    refuseUnused(target, 'the new model; initialising needs the same layers, widths, heads and position encoding');
    fill(target, false, 'the new model');
  };
  return { info, build, initialise };
}
