#!/usr/bin/env node
// The perceiver-ar command: train | generate | eval | classify | info, and the commands modalities add
// (pianoroll). Each command parses its options once against what it (and the data's modality)
// declares; nothing here knows a kind of data.
import { DATA_KEYS, MODALITIES } from '../data/registry.js';
import type { DataCommand } from '../data/modality.js';
import type { Engine } from '../engine.js';
import { InputError, UsageError } from '../errors.js';
import { MODEL_DEFAULTS } from '../models/perceiver-ar/config.js';
import { parseOptions, stringOption } from '../options.js';
import { createEngine, type EngineOptions } from '../platform/node/engine.js';
import { terminal } from '../platform/node/terminal.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { CONFIG_FLAGS, parseArgs, splitArgs, type Args, type Metrics } from './args.js';
import { classifyCommand, evalCommand, generateCommand, infoCommand, INFO_OPTIONS } from './commands.js';
import { ENGINE_OPTIONS, fallbackNotes, OUTPUT_OPTIONS, runContext } from './context.js';
import { EXPORT_HELP, exportCommand, IMPORT_HELP, IMPORT_OPTIONS, importCommand } from './interop.js';
import { trainCommand, TRAIN_OPTIONS } from './train.js';

const COMMON = '  common    --threads=N --backend=auto|wasm|reference --simd=auto|relaxed-simd|simd128 --blas=auto|off|LIBRARY --json --quiet --help';
const kinds = (task: string): string => MODALITIES.filter((m) => m.task === task).map((m) => m.name).join('|');

/** Commands the modalities add (pianoroll), by name. */
const DATA_COMMANDS: ReadonlyMap<string, DataCommand> = new Map(MODALITIES.flatMap((m) => Object.entries(m.commands ?? {})));

/** The modalities' own lines for a command's help. */
const modalityHelp = (command: 'generate' | 'eval' | 'classify'): string =>
  MODALITIES.flatMap((m) => (m.help?.[command] ? [`  ${m.help[command]}`] : [])).join('\n');

/** What each command does and takes; `perceiver-ar COMMAND --help` prints its entry. */
const HELP: Readonly<Record<string, string>> = {
  train: `perceiver-ar train [--preset=NAME] [--checkpoint=OUT] [--resume=CKPT | --initFrom=CKPT] [--sample] [--KEY=VALUE …]
  Trains from a preset (mirrored-32-small by default; see 'perceiver-ar info'), or continues a checkpoint (--resume).
  Every model, training and data config key can be set (--steps=2000, --learningRate 1e-3, --data=text --dataPath=FILE);
  model keys: ${Object.keys(MODEL_DEFAULTS).join(' ')}
  training keys: ${Object.keys(TRAIN_DEFAULTS).join(' ')}
  data: --data=${kinds('sequence')}; data keys: ${[...DATA_KEYS.keys()].join(' ')} (docs/architecture.md lists which kind uses which)
perceiver-ar train --task=parity|images --model=adatape|no-tape|transformer|universal [--length=32 | --dataPath=DIR] [--seed --steps …]
                   [--checkpoint=OUT] [--resume=CKPT]
  Trains a sequence classifier on parity, or on labelled images (--task=images --dataPath=DIR: the IDX files of (Fashion-)MNIST or
  train/ and test/ folders with a folder of PNGs per class) as a ViT over patches (--patchSize=7), AdaTape reading finer patches
  (--bank=input --bankPatchSize=4) or a learnable bank (docs/adatape.md).`,
  generate: `perceiver-ar generate --checkpoint=CKPT [--prompt=TEXT | --promptIds="2 65"] [--maxNewTokens=256 --temperature=1 --topK=0 --topP=1
                     --seed=0 --numLatents --fillLatents --uncached --stopAtEos=true --ids --weights=bf16|f32]
  Samples from a Perceiver AR checkpoint with cached decoding (--uncached: one full forward per token); text is printed as it is sampled.
  --weights=bf16 (the default) rounds the weight matrices to bf16 and decodes from 16-bit copies (about 2× the tokens/s); f32: as stored.
${modalityHelp('generate')}`,
  eval: `perceiver-ar eval --checkpoint=CKPT [--mode=exact|strided --stride --numLatents --batchSize=4 --maxTargets=0 --data=KIND --dataPath=FILE
                 --weights=f32|bf16]
  Bits per token on the checkpoint's validation split (or a whole file given by --dataPath; --data=KIND reads it as another kind);
  --weights=bf16: with the weight matrices rounded to bf16, as generate decodes by default (what the rounding costs);
  a classifier: accuracy, tape length and forward examples/s on its test set.
${modalityHelp('eval')}`,
  classify: `perceiver-ar classify --checkpoint=CKPT [the options of its data]
  Classifies one input read from a file with a classifier checkpoint, by its data's modality:
${modalityHelp('classify')}`,
  info: `perceiver-ar info [--preset=NAME | --checkpoint=CKPT]
  The engine (backend, SIMD build, threads); with a preset or checkpoint: its config, parameter count, training FLOPs/token and data.`,
  import: IMPORT_HELP,
  export: EXPORT_HELP,
  ...Object.fromEntries([...DATA_COMMANDS].map(([name, c]) => [name, c.help])),
};

const USAGE = `usage: perceiver-ar <command> [--key=value | --key value …]
${Object.values(HELP).map((h) => h.split('\n').filter((l) => l.startsWith('perceiver-ar')).map((l) => `  ${l.slice('perceiver-ar '.length)}`).join('\n')).join('\n')}
${COMMON}
Details: README.md, docs/perceiver-ar.md and docs/architecture.md.`;

function engineOptions(args: Args): EngineOptions {
  const o = parseOptions(args, [stringOption('threads'), stringOption('backend', ['auto', 'wasm', 'reference']),
    stringOption('simd', ['auto', 'relaxed-simd', 'simd128']), stringOption('blas')]);
  const blas = o.string('blas'), threads = o.string('threads');
  if (blas !== undefined && blas.trim() === '') throw new UsageError('--blas is empty: auto, off or the path of a BLAS library');
  return {
    ...(blas === undefined ? {} : { blas }), ...(threads === undefined ? {} : { threads: Number(threads) }),
    ...(o.has('backend') ? { backend: o.string('backend') as EngineOptions['backend'] } : {}),
    ...(o.has('simd') ? { simd: o.string('simd') as EngineOptions['simd'] } : {}),
  };
}

/** Every option that is a flag: the commands', the modalities' and the boolean config keys. */
const FLAGS: ReadonlySet<string> = new Set([
  'help', ...CONFIG_FLAGS,
  ...[...TRAIN_OPTIONS, ...INFO_OPTIONS, ...IMPORT_OPTIONS, ...OUTPUT_OPTIONS, ...[...DATA_COMMANDS.values()].flatMap((c) => c.options),
    ...MODALITIES.flatMap((m) => (m.task === 'sequence' ? [...m.generateOptions(MODEL_DEFAULTS), ...m.evalOptions(MODEL_DEFAULTS)] : [...m.evalOptions, ...m.classifyOptions ?? []]))]
    .filter((o) => o.type === 'flag').map((o) => o.name),
]);

const COMMANDS: Readonly<Record<string, (engine: Engine, args: Args) => Metrics | Promise<Metrics>>> = {
  train: trainCommand, generate: generateCommand, eval: evalCommand, classify: classifyCommand, info: infoCommand, import: importCommand,
  export: exportCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const tool = DATA_COMMANDS.get(command);
  if (!(command in COMMANDS) && !tool) throw new UsageError(`unknown command '${command}'; available: ${[...Object.keys(COMMANDS), ...DATA_COMMANDS.keys()].join(', ')}`);
  // A modality's command takes its file as the first word (and no engine).
  const file = tool && rest[0] !== undefined && !rest[0].startsWith('--') ? rest[0] : undefined;
  const args = parseArgs(file === undefined ? rest : rest.slice(1), FLAGS);
  if (args.has('help')) {
    console.log(`${HELP[command]}\n${COMMON}`);
    return 0;
  }
  const [engineArgs, commandArgs] = splitArgs(args, ENGINE_OPTIONS.map((o) => o.name));
  const json = commandArgs.get('json') === 'true';
  if (tool) {
    const options = parseOptions(commandArgs, [...tool.options, ...OUTPUT_OPTIONS], `for ${command}`);
    const metrics = tool.run(file, options, runContext(options));
    if (json) console.log(JSON.stringify(metrics));
    return 0;
  }
  const engine = await createEngine(engineOptions(engineArgs));
  // One notice when a BLAS was wanted but did not load (the wasm matmul runs instead), or loaded
  // but could not take the attention's tile products.
  if (!json && commandArgs.get('quiet') !== 'true' && command !== 'info') for (const n of fallbackNotes(engine.info.notes)) console.error(`perceiver-ar: note: ${n}`);
  try {
    const metrics = await COMMANDS[command]!(engine, commandArgs);
    if (json) console.log(JSON.stringify(metrics));
    else if (command === 'eval') console.log(Object.entries(metrics).map(([k, v]) => `${k}: ${typeof v === 'number' ? +v.toFixed(6) : v}`).join('\n'));
    return 0;
  } finally {
    await engine.dispose();
  }
}

main(terminal.argv()).then((code) => { terminal.setExitCode(code); }, (e: unknown) => {
  // Expected failures (bad options, bad files) get one line; anything else keeps its stack for a bug report.
  const expected = e instanceof InputError || e instanceof RangeError;
  console.error(`perceiver-ar: ${e instanceof Error ? (expected ? e.message : e.stack ?? e.message) : String(e)}`);
  terminal.setExitCode(e instanceof UsageError ? 2 : 1);
});
