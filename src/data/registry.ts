// The modality registry: every kind of data the library reads, one line each. Train, eval,
// generate and info find a modality here by the data config's `data` value.
import { invalidConfig } from '../errors.js';
import type { ClassificationModality, DataConfig, DataKey, DataValue, Modality, SequenceModality } from './modality.js';
import { idsModality } from './modalities/ids.js';
import { imagesModality, syntheticImagesModality } from './modalities/images.js';
import { labelledImagesModality } from './modalities/labelled-images.js';
import { mirroredModality } from './modalities/mirrored.js';
import { musicModality, syntheticMusicModality } from './modalities/music.js';
import { parityModality } from './modalities/parity.js';
import { portMusicModality } from './modalities/port-music.js';
import { portTextModality } from './modalities/port-text.js';
import { subwordModality } from './modalities/subword.js';
import { textModality } from './modalities/text.js';

export const MODALITIES: readonly Modality[] = [
  mirroredModality,
  textModality,
  idsModality,
  subwordModality,
  imagesModality,
  syntheticImagesModality,
  musicModality,
  syntheticMusicModality,
  portTextModality,
  portMusicModality,
  parityModality,
  labelledImagesModality,
];

/** Every data key of every modality, with its definition (a key shared by several is one definition). */
export const DATA_KEYS: ReadonlyMap<string, DataKey> = (() => {
  const keys = new Map<string, DataKey>();
  for (const m of MODALITIES) {
    for (const [k, def] of Object.entries(m.keys)) {
      const seen = keys.get(k);
      if (seen && seen !== def) throw new Error(`modality ${m.name}: data key '${k}' is defined differently by another modality; share one definition (data/keys.ts)`);
      keys.set(k, def);
    }
  }
  return keys;
})();

/** The data config every key at its default, for the mirrored task. */
export const DATA_DEFAULTS: DataConfig = Object.freeze(Object.fromEntries([['data', 'mirrored'], ...[...DATA_KEYS].map(([k, d]) => [k, d.default])])) as DataConfig;

const names = (list: readonly Modality[]): string => list.map((m) => `'${m.name}'`).join(', ');

export function modalityNamed(name: string): Modality {
  const m = MODALITIES.find((x) => x.name === name);
  if (!m) throw invalidConfig('data config', [`data must be one of ${names(MODALITIES)}, got ${JSON.stringify(name)}`]);
  return m;
}

export function sequenceModality(name: string): SequenceModality {
  const m = modalityNamed(name);
  if (m.task !== 'sequence') throw new RangeError(`data '${name}' is for the sequence classifiers (train --task=${m.taskName}), not for sequence models`);
  return m;
}

export function classificationModality(name: string): ClassificationModality {
  const m = modalityNamed(name);
  if (m.task !== 'classification') throw new RangeError(`data '${name}' is for sequence models, not for the classifiers`);
  return m;
}

/** The classifier data selected by `train --task=NAME`. */
export function classifierTaskNamed(task: string): ClassificationModality | undefined {
  return MODALITIES.find((m): m is ClassificationModality => m.task === 'classification' && m.taskName === task);
}

/**
 * A data config as checkpoints store it: `data` and the keys its modality uses (the rest are at
 * their defaults and come back from them on load), so a file names only what matters to its data —
 * and a release that predates a key of another modality still reads it.
 */
export function storedDataConfig(c: DataConfig): Record<string, DataValue> {
  const m = modalityNamed(c.data);
  return Object.fromEntries([['data', c.data], ...Object.keys(m.keys).map((k) => [k, c[k] ?? DATA_KEYS.get(k)!.default])]);
}

/**
 * `raw` with the keys its modality does not use back at their defaults, except those in `keep`
 * (what a user set explicitly, which validation then refuses by name). A preset's value for another
 * kind of data (the music preset's validationFraction with data=synthetic-music) and what release
 * 0.1.0 stored for every kind (it kept all keys, used or not) thus never stop a run.
 */
export function withUnusedReset(raw: Readonly<Record<string, unknown>>, keep: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const m = MODALITIES.find((x) => x.name === (raw.data ?? DATA_DEFAULTS.data));
  if (!m) return { ...raw };
  const out: Record<string, unknown> = { ...raw };
  for (const [k, def] of DATA_KEYS) if (!(k in m.keys) && !keep.has(k) && k in out) out[k] = def.default;
  return out;
}

/**
 * Fills missing keys with their defaults and checks every key: its own check, that keys the chosen
 * modality does not use keep their defaults, and (unless `requireInputs` is false, as for a
 * checkpoint whose data is given again at eval time) that required keys are set.
 */
export function validateDataConfig(raw: Readonly<Record<string, unknown>>, opts: { readonly requireInputs?: boolean } = {}): DataConfig {
  const problems: string[] = [];
  for (const k of Object.keys(raw)) if (k !== 'data' && !DATA_KEYS.has(k)) problems.push(`unknown key '${k}'; allowed: data, ${[...DATA_KEYS.keys()].join(', ')}`);
  const kind = raw.data ?? DATA_DEFAULTS.data;
  const m = MODALITIES.find((x) => x.name === kind);
  if (!m) problems.push(`data must be one of ${names(MODALITIES)}, got ${JSON.stringify(kind)}`);
  const c: Record<string, DataValue> = { data: kind as string };
  for (const [k, def] of DATA_KEYS) {
    const v = (k in raw ? raw[k] : def.default) as DataValue;
    c[k] = v;
    const p = def.check(v as never);
    if (p) { problems.push(`${k} ${p}, got ${JSON.stringify(v)}`); continue; }
    if (!m) continue;
    if (!(k in m.keys) && v !== def.default) {
      const owners = MODALITIES.filter((x) => k in x.keys).map((x) => x.noun);
      problems.push(`${k} is not used by ${m.noun} (data is '${m.name}'): ${k} applies to ${owners.join(', ')} only — leave it out`);
    }
    if (k in m.keys && def.required && v === def.default && opts.requireInputs !== false) problems.push(`${k} is required when data is '${m.name}'`);
  }
  if (m && problems.length === 0) problems.push(...(m.validate?.(c as DataConfig) ?? []));
  if (problems.length) throw invalidConfig('data config', problems);
  return Object.freeze(c) as DataConfig;
}
