// Saving and loading checkpoint files (atomic writes; clear errors for missing or broken files).
import type { Engine } from '../../engine.js';
import { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type AnyModel, type CheckpointInfo } from '../../train/checkpoint.js';
import type { DataConfig, TrainConfig } from '../../train/config.js';
import type { TrainerState } from '../../train/trainer.js';
import { readFileChecked, writeFileAtomic } from './files.js';

export function saveCheckpoint(path: string, model: AnyModel,
  extra: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer: boolean }): void {
  writeFileAtomic(path, encodeCheckpoint(model, extra));
}

/** Loads a checkpoint of either architecture (Perceiver AR or Transformer-XL). */
export function loadAnyCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: AnyModel } {
  const { info, build } = decodeCheckpoint(readFileChecked(path, 'checkpoint'), path);
  return { info, model: build(engine) };
}

/** Loads a Perceiver AR checkpoint (a Transformer-XL one is refused with a message saying so). */
export function loadCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: PerceiverAR } {
  const { info, build } = decodeCheckpoint(readFileChecked(path, 'checkpoint'), path);
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
export function initialiseFromCheckpoint(path: string, model: AnyModel): CheckpointInfo {
  const { info, initialise } = decodeCheckpoint(readFileChecked(path, 'checkpoint'), path);
  initialise(model);
  return info;
}

export function readCheckpointInfo(path: string): CheckpointInfo {
  return decodeCheckpoint(readFileChecked(path, 'checkpoint'), path).info;
}
