// Saving and loading checkpoint files (atomic writes; clear errors for missing or broken files).
import type { Engine } from '../../engine.js';
import type { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointInfo } from '../../train/checkpoint.js';
import type { DataConfig, TrainConfig } from '../../train/config.js';
import type { TrainerState } from '../../train/trainer.js';
import { readFileChecked, writeFileAtomic } from './files.js';

export function saveCheckpoint(path: string, model: PerceiverAR,
  extra: { train?: TrainConfig; data?: DataConfig; state?: TrainerState; optimizer: boolean }): void {
  writeFileAtomic(path, encodeCheckpoint(model, extra));
}

export function loadCheckpoint(path: string, engine: Engine): { info: CheckpointInfo; model: PerceiverAR } {
  const { info, build } = decodeCheckpoint(readFileChecked(path, 'checkpoint'), path);
  return { info, model: build(engine) };
}

export function readCheckpointInfo(path: string): CheckpointInfo {
  return decodeCheckpoint(readFileChecked(path, 'checkpoint'), path).info;
}
