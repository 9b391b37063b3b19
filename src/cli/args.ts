// Command-line syntax: --key=value (or --key value) pairs and --flags into a raw map (each command
// then parses its own options from it once, against the specs it declares: options.ts), and typed
// overrides of a preset's configs, with messages that say what is allowed.
import type { DataConfig } from '../data/modality.js';
import { DATA_KEYS, validateDataConfig, withUnusedReset } from '../data/registry.js';
import { UsageError } from '../errors.js';
import type { ModelConfig } from '../models/perceiver-ar/config.js';
import { MODEL_DEFAULTS, validateModelConfig } from '../models/perceiver-ar/config.js';
import { CLASSIFIER_DEFAULTS } from '../models/adatape/config.js';
import type { AnyPreset } from '../presets.js';
import { validateXLConfig, type XLConfig } from '../models/transformer-xl/config.js';
import { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from '../train/config.js';

export { UsageError };

export type Args = Map<string, string>;

/** Boolean config keys (model, training, classifier and data configs): written as flags on the command line. */
export const CONFIG_FLAGS: readonly string[] = [CLASSIFIER_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS, Object.fromEntries([...DATA_KEYS].map(([k, d]) => [k, d.default]))]
  .flatMap((d) => Object.entries(d).filter(([, v]) => typeof v === 'boolean').map(([k]) => k));

/**
 * `--key=value`, `--key value` and `--flag` (`flags`: the options that are flags — written alone,
 * as `--flag=false` or `--flag false`). A value may be anything, including a word starting with one
 * dash (`--temperature -1` is refused later as a value, not taken for an option). An option that
 * takes a value but has none is refused here, so a bare `--checkpoint` can never become a file
 * named "true".
 */
export function parseArgs(argv: readonly string[], flags: ReadonlySet<string>): Args {
  const args: Args = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(a);
    if (!m) throw new UsageError(`unexpected argument '${a}': options are written --key=value, --key value or --flag`);
    const key = m[1]!;
    if (args.has(key)) throw new UsageError(`option --${key} is given twice`);
    let value = m[2];
    if (value === undefined && flags.has(key) && (argv[i + 1] === 'true' || argv[i + 1] === 'false')) value = argv[++i];
    if (value === undefined && !flags.has(key)) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`option --${key} needs a value: --${key}=VALUE or --${key} VALUE`);
      value = next;
      i++;
    }
    args.set(key, value ?? 'true');
  }
  return args;
}

/** The entries of `args` whose keys are in `keys`, and the rest. */
export function splitArgs(args: Args, keys: readonly string[]): [Args, Args] {
  const picked: Args = new Map(), rest: Args = new Map();
  for (const [k, v] of args) (keys.includes(k) ? picked : rest).set(k, v);
  return [picked, rest];
}

export type { Metrics } from '../data/modality.js';

/** A --key=value string as the type of the key's default (number, boolean or string). */
export function coerce<T extends object>(defaults: T, key: string, raw: string): unknown {
  const d = key in defaults ? (defaults as Record<string, unknown>)[key] : DATA_KEYS.get(key)?.default;
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

/**
 * Applies --key=value overrides to a preset; every key must be a config key. `derive` gives model
 * values the data implies (a tokenizer's vocabulary), used where the user did not set them.
 */
export function applyOverrides(preset: AnyPreset, args: Args, cliKeys: readonly string[],
  derive?: (data: DataConfig) => { readonly vocabSize?: number }, opts: { readonly requireInputs?: boolean } = {}): ResolvedConfig {
  const model: Record<string, unknown> = { ...preset.model }, train: Record<string, unknown> = { ...preset.train };
  const data: Record<string, unknown> = { ...preset.data };
  for (const [key, raw] of args) {
    if (key in preset.model) model[key] = coerce(preset.model, key, raw);
    else if (key in preset.train) train[key] = coerce(preset.train, key, raw);
    else if (key === 'data' || DATA_KEYS.has(key)) data[key] = coerce(preset.data, key, raw);
    else {
      throw new UsageError(`unknown option --${key}. Allowed:\n  command: ${cliKeys.map((k) => `--${k}`).join(' ')}\n` +
        `  model:   ${Object.keys(preset.model).join(' ')}\n  train:   ${Object.keys(preset.train).join(' ')}\n  data:    data ${[...DATA_KEYS.keys()].join(' ')}`);
    }
  }
  const train_ = validateTrainConfig(train as unknown as TrainConfig), data_ = validateDataConfig(withUnusedReset(data, new Set(args.keys())), opts);
  const derived = derive?.(data_) ?? {};
  if (derived.vocabSize !== undefined && !args.has('vocabSize')) model.vocabSize = derived.vocabSize;
  if (preset.architecture === 'transformer-xl') {
    return { architecture: 'transformer-xl', model: validateXLConfig(model as Partial<XLConfig>), train: train_, data: data_ };
  }
  // Derived defaults that follow the context unless set explicitly.
  if (args.has('contextLength') && !args.has('maxPosition')) model.maxPosition = Math.max(model.maxPosition as number, (model.contextLength as number) + 1);
  // (RoFormer-spaced rotary, the PyTorch port's, keeps its base: 10000.)
  if (args.has('contextLength') && model.position === 'rotary' && model.rotarySpacing !== 'roformer' && !args.has('maxWavelength')) {
    model.maxWavelength = Math.max(model.maxWavelength as number, model.contextLength as number);
  }
  return { architecture: 'perceiver-ar', model: validateModelConfig(model as unknown as ModelConfig), train: train_, data: data_ };
}
