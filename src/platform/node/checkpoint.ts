// Saving and loading checkpoint files (atomic writes; clear errors for missing or broken files).
import type { Engine } from '../../engine.js';
import { SequenceClassifier } from '../../models/adatape/model.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, readCheckpointHeader, type AnyModel, type CheckpointInfo, type CheckpointModel } from '../../train/checkpoint.js';
import { nodeFileSystem } from './file-system.js';
import type { DataConfig } from '../../data/modality.js';
import type { TrainConfig } from '../../train/config.js';
import type { TrainerState } from '../../train/trainer.js';
import { InputError } from '../../errors.js';
import { MAX_FILE_BYTES, readFileChecked, writeFileAtomic } from './files.js';
import { checkOutputAgainst } from '../../io/file-system.js';
import { decodeCheckpointHeader } from '../../train/checkpoint.js';
import { forgetPortConversion, portCheckpointAt, portFilesAt } from './port-files.js';

/** A checkpoint's bytes: the file, or a model of the PyTorch port (a folder, or weights with config.json beside them) converted. */
function checkpointBytes(path: string): Uint8Array {
  const port = portFilesAt(path);
  if (!port) return readFileChecked(path, 'checkpoint');
  const { bytes } = portCheckpointAt(port);
  forgetPortConversion();
  return bytes;
}

/** Bytes of a checkpoint's tensors: parameters, and AdamW's two moments when saved with the optimizer. */
const tensorBytes = (parameters: number, optimizer: boolean): number => 4 * parameters * (optimizer ? 3 : 1);
/** Room left for the header within the largest file that can be read back. */
const HEADER_ROOM = 2 ** 20;

/**
 * Checks, before a run starts, that its checkpoint can be saved and read back: the path can be
 * written (checkOutputPath), it is none of the run's input files, and the file will not pass the
 * largest size a load can read.
 */
export function checkCheckpointTarget(path: string,
  opts: { readonly parameters: number; readonly optimizer: boolean; readonly inputs: readonly string[]; readonly dataFiles?: RegExp | undefined }): void {
  checkOutputAgainst(nodeFileSystem, path, 'checkpoint', opts.inputs, opts.dataFiles);
  const bytes = tensorBytes(opts.parameters, opts.optimizer);
  if (bytes > MAX_FILE_BYTES - HEADER_ROOM) {
    throw new InputError(`checkpoint ${path}: ${opts.parameters.toLocaleString('en-US')} parameters${opts.optimizer ? ' with AdamW moments' : ''} make a ` +
      `${(bytes / 2 ** 30).toFixed(2)} GiB file; at most 4 GiB can be loaded back, so this model cannot be checkpointed`);
  }
}

export function saveCheckpoint(path: string, model: CheckpointModel,
  extra: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer: boolean }): void {
  const bytes = tensorBytes(model.params.count, extra.optimizer);
  if (bytes > MAX_FILE_BYTES - HEADER_ROOM) {
    throw new InputError(`checkpoint ${path}: a ${(bytes / 2 ** 30).toFixed(2)} GiB file would pass the 4 GiB that can be loaded back; not saved`);
  }
  writeFileAtomic(path, encodeCheckpoint(model, extra));
}

/** Loads a sequence model's checkpoint (Perceiver AR or Transformer-XL); a classifier's is refused with a message. */
export function loadAnyCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: AnyModel } {
  const { info, build } = decodeCheckpoint(checkpointBytes(path), path);
  if (info.architecture === 'sequence-classifier') {
    throw new CheckpointError(`checkpoint ${path} holds a sequence classifier (written by train --task=parity); this needs a sequence model's checkpoint`);
  }
  return { info, model: build(engine) as AnyModel };
}

/** Loads a sequence classifier's checkpoint (AdaTape or a baseline, written by train --task=parity --checkpoint=…). */
export function loadClassifierCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: SequenceClassifier } {
  const { info, build } = decodeCheckpoint(checkpointBytes(path), path);
  if (info.architecture !== 'sequence-classifier') {
    throw new CheckpointError(`checkpoint ${path} holds a ${info.architecture} model; this needs a sequence classifier's checkpoint (train --task=parity)`);
  }
  return { info, model: build(engine) as SequenceClassifier };
}

/** Loads a Perceiver AR checkpoint (a Transformer-XL one is refused with a message saying so). */
export function loadCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: PerceiverAR } {
  const { info, build } = decodeCheckpoint(checkpointBytes(path), path);
  if (info.architecture !== 'perceiver-ar') {
    throw new CheckpointError(`checkpoint ${path} holds a ${info.architecture} model; this needs a Perceiver AR checkpoint`);
  }
  const model = build(engine);
  if (!(model instanceof PerceiverAR)) throw new CheckpointError(`checkpoint ${path}: not a Perceiver AR model`);
  return { info, model };
}

/**
 * Copies a checkpoint's weights into a freshly built model (warm start): parameter names and shapes
 * must match; the optimizer state and training step are not taken. Returns the checkpoint's info.
 */
export function initialiseFromCheckpoint(path: string, model: CheckpointModel): CheckpointInfo {
  const { info, initialise } = decodeCheckpoint(checkpointBytes(path), path);
  initialise(model);
  return info;
}

/** A checkpoint's configs and state from its header alone (the tensors are not read, only their ranges checked). */
export function readCheckpointInfo(path: string): CheckpointInfo {
  const port = portFilesAt(path);
  if (port) { const { bytes } = portCheckpointAt(port); return decodeCheckpointHeader(bytes, bytes.length, path); }
  return readCheckpointHeader(nodeFileSystem, path);
}
