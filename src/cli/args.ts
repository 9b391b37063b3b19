// Command-line parsing: --key=value (or --key value) pairs and --flags, typed overrides of a preset's configs, and
// messages that say what is allowed.
import { InputError } from '../errors.js';
import type { ModelConfig } from '../models/perceiver-ar/config.js';
import { MODEL_DEFAULTS, validateModelConfig } from '../models/perceiver-ar/config.js';
import { CLASSIFIER_DEFAULTS } from '../models/adatape/config.js';
import type { AnyPreset } from '../presets.js';
import { validateXLConfig, type XLConfig } from '../models/transformer-xl/config.js';
import { TRAIN_DEFAULTS, validateDataConfig, validateTrainConfig, type DataConfig, type TrainConfig } from '../train/config.js';

/** A bad command line: the message names the option and what is allowed. */
export class UsageError extends InputError {}

export type Args = Map<string, string>;

/** Options that are flags: written alone (`--json`) or as `--json=false`, never followed by a value. */
const CLI_FLAGS = ['json', 'quiet', 'sample', 'uncached', 'stopAtEos', 'ids', 'help', 'fullVocab'];
const FLAGS = new Set([...CLI_FLAGS, ...[CLASSIFIER_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS].flatMap((d) =>
  Object.entries(d).filter(([, v]) => typeof v === 'boolean').map(([k]) => k))]);

/**
 * `--key=value`, `--key value` and `--flag`. A value may be anything, including a word starting
 * with one dash (`--temperature -1` is refused later as a value, not taken for an option). An
 * option that takes a value but has none is refused here, so a bare `--checkpoint` can never
 * become a file named "true".
 */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(a);
    if (!m) throw new UsageError(`unexpected argument '${a}': options are written --key=value, --key value or --flag`);
    const key = m[1]!;
    if (args.has(key)) throw new UsageError(`option --${key} is given twice`);
    let value = m[2];
    if (value === undefined && !FLAGS.has(key)) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`option --${key} needs a value: --${key}=VALUE or --${key} VALUE`);
      value = next;
      i++;
    }
    args.set(key, value ?? 'true');
  }
  return args;
}

/** Takes a CLI-only option out of args (so the rest can be checked as config overrides). */
export function take(args: Args, key: string): string | undefined {
  const v = args.get(key);
  args.delete(key);
  return v;
}

/** A path option: absent → undefined; present, it must name something. */
export function takePath(args: Args, key: string): string | undefined {
  const v = take(args, key);
  if (v !== undefined && v.trim() === '') throw new UsageError(`--${key} is empty; give a file path (--${key}=FILE)`);
  return v;
}

export function takeFlag(args: Args, key: string): boolean {
  const v = take(args, key);
  if (v === undefined || v === 'true') return v === 'true';
  if (v === 'false') return false;
  throw new UsageError(`--${key} is a flag; write --${key} or --${key}=false`);
}

export function takeNumber(args: Args, key: string, check: (n: number) => boolean, allowed: string): number | undefined {
  const v = take(args, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${key}=${v} is invalid: ${allowed}`);
  return n;
}

/** A --key=value string as the type of the key's default (number, boolean or string). */
/** takeNumber's check for an integer in [lo, hi]. */
export const isInt = (lo: number, hi = Infinity) => (n: number): boolean => Number.isInteger(n) && n >= lo && n <= hi;

/** What a command returns: printed as `key: value` lines, or as one JSON object with --json. */
export type Metrics = Record<string, number | string | null | boolean>;

export function coerce<T extends object>(defaults: T, key: string, raw: string): unknown {
  const d = (defaults as Record<string, unknown>)[key];
  if (typeof d === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${key}=${raw} is invalid: ${key} takes a number`);
    return n;
  }
  if (typeof d === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${key}=${raw} is invalid: ${key} is true or false`);
    return raw === 'true';
  }
  return raw;
}

/** A preset's configs after overrides, validated; the architecture says which model config it is. */
export type ResolvedConfig =
  | { readonly architecture: 'perceiver-ar'; readonly model: ModelConfig; readonly train: TrainConfig; readonly data: DataConfig }
  | { readonly architecture: 'transformer-xl'; readonly model: XLConfig; readonly train: TrainConfig; readonly data: DataConfig };

/** Applies --key=value overrides to a preset; every remaining key must be a config key. */
export function applyOverrides(preset: AnyPreset, args: Args, cliKeys: readonly string[]): ResolvedConfig {
  const model: Record<string, unknown> = { ...preset.model }, train: Record<string, unknown> = { ...preset.train };
  const data: Record<string, unknown> = { ...preset.data };
  for (const [key, raw] of args) {
    if (key in preset.model) model[key] = coerce(preset.model, key, raw);
    else if (key in preset.train) train[key] = coerce(preset.train, key, raw);
    else if (key in preset.data) data[key] = coerce(preset.data, key, raw);
    else {
      throw new UsageError(`unknown option --${key}. Allowed:\n  command: ${cliKeys.map((k) => `--${k}`).join(' ')}\n` +
        `  model:   ${Object.keys(preset.model).join(' ')}\n  train:   ${Object.keys(preset.train).join(' ')}\n  data:    ${Object.keys(preset.data).join(' ')}`);
    }
  }
  const train_ = validateTrainConfig(train as unknown as TrainConfig), data_ = validateDataConfig(data as unknown as DataConfig);
  if (preset.architecture === 'transformer-xl') {
    return { architecture: 'transformer-xl', model: validateXLConfig(model as Partial<XLConfig>), train: train_, data: data_ };
  }
  // Derived defaults that follow the context unless set explicitly.
  if (args.has('contextLength') && !args.has('maxPosition')) model.maxPosition = Math.max(model.maxPosition as number, (model.contextLength as number) + 1);
  if (args.has('contextLength') && model.position === 'rotary' && !args.has('maxWavelength')) {
    model.maxWavelength = Math.max(model.maxWavelength as number, model.contextLength as number);
  }
  return { architecture: 'perceiver-ar', model: validateModelConfig(model as unknown as ModelConfig), train: train_, data: data_ };
}
