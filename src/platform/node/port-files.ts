// The PyTorch port's model files on disk (docs/interop.md): a folder with config.json and its
// weights (model.safetensors or pytorch_model.bin), or a weights file (.bin, .pt, .pth, a Lightning
// .ckpt, or a .safetensors that is not one of our checkpoints) with config.json beside it. Read as
// one of our checkpoints wherever a checkpoint is expected (generate, eval, info, train --initFrom).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeSafetensorsHeader, headerLength } from '../../io/safetensors.js';
import { InputError } from '../../errors.js';
import type { DataConfig } from '../../data/modality.js';
import { CHECKPOINT_FORMAT } from '../../train/checkpoint.js';
import { portCheckpoint, PORT_WEIGHT_FILES, type PortCheckpoint, type PortFiles } from '../../train/port-checkpoint.js';
import { nodeFileSystem } from './file-system.js';
import { readFileChecked } from './files.js';

const TORCH_FILES = /\.(bin|pt|pth|ckpt)$/i;

/** Whether a .safetensors file is one of ours (its header names our format). */
export function isOurSafetensors(path: string): boolean {
  try {
    const first = nodeFileSystem.readPrefix(path, 8, 'checkpoint');
    const head = nodeFileSystem.readPrefix(path, 8 + headerLength(first.bytes, first.size, path), 'checkpoint');
    return decodeSafetensorsHeader(head.bytes, head.size, path).metadata.format === CHECKPOINT_FORMAT;
  } catch {
    return true; // not readable as safetensors: let the checkpoint reader say what is wrong
  }
}

/** Where a port model's config and weights are, when `path` names one; null for anything else (our checkpoints). */
export function portFilesAt(path: string, config?: string): { config: string; weights: string } | null {
  if (!existsSync(path)) return null;
  if (statSync(path).isDirectory()) {
    const cfg = config ?? join(path, 'config.json');
    const weights = PORT_WEIGHT_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!existsSync(cfg)) throw new InputError(`${path} is a folder without config.json; a model folder of the PyTorch port holds config.json and ${PORT_WEIGHT_FILES.join(' or ')}`);
    if (!weights) throw new InputError(`${path} holds no weights: a model folder of the PyTorch port holds ${PORT_WEIGHT_FILES.join(' or ')}`);
    return { config: cfg, weights };
  }
  const torch = TORCH_FILES.test(path);
  if (!torch && !(/\.safetensors$/i.test(path) && !isOurSafetensors(path))) return null;
  const cfg = config ?? join(dirname(path), 'config.json');
  // A foreign safetensors file alone is left to the checkpoint reader, which says it is not one of ours.
  if (!existsSync(cfg) && !torch && config === undefined) return null;
  if (!existsSync(cfg)) {
    throw new InputError(`${path} holds ${torch ? 'PyTorch' : 'foreign safetensors'} weights; their model is described by the port's config.json, ` +
      `which is not beside it (${cfg}): put it there, or give the folder`);
  }
  return { config: cfg, weights: path };
}

/** The last conversion (one at most: a header read and a load of the same files convert once). */
const converted = new Map<string, PortCheckpoint>();
const stamp = (path: string): string => { const s = statSync(path); return `${path}:${s.size}:${s.mtimeMs}`; };

/**
 * A port model's files converted to our checkpoint's bytes. The last conversion is kept, keyed by
 * the files' paths, sizes and modification times (files replaced since are converted again).
 */
export function portCheckpointAt(at: { config: string; weights: string }, data: DataConfig | null = null): PortCheckpoint {
  const key = `${stamp(at.config)}\n${stamp(at.weights)}\n${JSON.stringify(data)}`;
  const have = converted.get(key);
  if (have) return have;
  const tokenizer = resolve(dirname(at.config), 'tokenizer.json');
  const files: PortFiles = {
    config: readFileChecked(at.config, 'config'), configName: at.config, weights: readFileChecked(at.weights, 'weights'), weightsName: at.weights,
    ...(existsSync(tokenizer) ? { tokenizerPath: tokenizer } : {}),
  };
  const made = portCheckpoint(files, data);
  converted.clear();
  converted.set(key, made);
  return made;
}

/** Drops the kept conversion (a loader calls it once the model is built: giant-midi's is 540 MB). */
export function forgetPortConversion(): void { converted.clear(); }

/** The paths of `files` in the folder `out`, made if missing (an existing file of that name is refused). */
export function exportFolder(out: string, files: readonly string[]): string[] {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`--out=${out} exists and is not a folder; export writes ${files.join(' and ')} into a folder`);
  mkdirSync(out, { recursive: true });
  return files.map((f) => join(out, f));
}
