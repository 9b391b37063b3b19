#!/usr/bin/env node
// The perceiver-ar command: train | generate | eval | info.
import { createEngine, type EngineOptions } from '../index.js';
import { InputError } from '../errors.js';
import { MODEL_DEFAULTS } from '../models/perceiver-ar/config.js';
import { DATA_DEFAULTS, TRAIN_DEFAULTS } from '../train/config.js';
import { parseArgs, take, UsageError, type Args } from './args.js';
import { evalCommand, EVAL_KEYS, generateCommand, GENERATE_KEYS, infoCommand, INFO_KEYS } from './commands.js';
import { trainCommand, TRAIN_CLI_KEYS } from './train.js';
import { pianorollCommand } from './music.js';

const COMMON = '  common    --threads=N --backend=auto|wasm|reference --simd=auto|relaxed-simd|simd128 --blas=auto|off|LIBRARY --json --quiet --help';

/** What each command does and takes; `perceiver-ar COMMAND --help` prints its entry. */
const HELP: Readonly<Record<string, string>> = {
  train: `perceiver-ar train [--preset=NAME] [--checkpoint=OUT] [--resume=CKPT | --initFrom=CKPT] [--sample] [--KEY=VALUE …]
  Trains from a preset (mirrored-32-small by default; see 'perceiver-ar info'), or continues a checkpoint (--resume).
  Every model, training and data config key can be set (--steps=2000, --learningRate 1e-3, --data=text --dataPath=FILE);
  model keys: ${Object.keys(MODEL_DEFAULTS).join(' ')}
  training keys: ${Object.keys(TRAIN_DEFAULTS).join(' ')}
  data keys: ${Object.keys(DATA_DEFAULTS).join(' ')}
perceiver-ar train --task=parity|images --model=adatape|no-tape|transformer|universal [--length=32 | --dataPath=DIR] [--seed --steps …]
                   [--checkpoint=OUT] [--resume=CKPT]
  Trains a sequence classifier on parity, or on labelled images (--task=images --dataPath=DIR: the IDX files of (Fashion-)MNIST or
  train/ and test/ folders with a folder of PNGs per class) as a ViT over patches (--patchSize=7), AdaTape reading finer patches
  (--bank=input --bankPatchSize=4) or a learnable bank (docs/adatape.md).`,
  generate: `perceiver-ar generate --checkpoint=CKPT [--prompt=TEXT | --promptIds="2 65"] [--maxNewTokens=256 --temperature=1 --topK=0 --topP=1
                     --seed=0 --numLatents --fillLatents --uncached --stopAtEos=true --ids]
  Samples from a Perceiver AR checkpoint with cached decoding (--uncached: one full forward per token).
  Music checkpoints: [--prompt=FILE.mid --promptSeconds=S] [--seconds=S | --maxNewTokens=N] --out=generated.mid: writes the MIDI file and
  its piano roll (generated.png), never sampling PAD/SOS, stopping at EOS.
  Image checkpoints: --count=16 --out=samples.png [--complete=ROWS --scale=N --columns=N --fullVocab --dataPath]: a PNG grid of
  samples, or of test images completed from their first ROWS rows (original | given | completed).`,
  eval: `perceiver-ar eval --checkpoint=CKPT [--mode=exact|strided --stride --numLatents --batchSize=4 --maxTargets=0 --data=text|ids --dataPath=FILE]
  Bits per token on the checkpoint's validation split (or a whole file given by --dataPath); a classifier: accuracy, tape length and
  forward examples/s on its test set (images: --dataPath=DIR, --evalBatches=0 for every test image, --heatmap=OUT.png for AdaTape's
  bank reads);
  an image checkpoint: bits/dim on its test images [--stride --numLatents --maxImages --batchSize].`,
  pianoroll: `perceiver-ar pianoroll FILE.mid [--out=FILE.png] [--seconds=S] [--keepDrums]
  Draws a MIDI file as a piano roll PNG (pitch × time, velocity as shade); generated music gets one beside every .mid.`,
  info: `perceiver-ar info [--preset=NAME | --checkpoint=CKPT]
  The engine (backend, SIMD build, threads); with a preset or checkpoint: its config, parameter count and training FLOPs/token.`,
};

const USAGE = `usage: perceiver-ar <command> [--key=value | --key value …]
${Object.values(HELP).map((h) => h.split('\n').filter((l) => l.startsWith('perceiver-ar')).map((l) => `  ${l.slice('perceiver-ar '.length)}`).join('\n')).join('\n')}
${COMMON}
Details: README.md and docs/perceiver-ar.md.`;

function engineOptions(args: Args): EngineOptions {
  const threads = args.get('threads'), backend = args.get('backend'), simd = args.get('simd'), blas = args.get('blas');
  const opts: { threads?: number; backend?: EngineOptions['backend']; simd?: EngineOptions['simd']; blas?: EngineOptions['blas'] } = {};
  if (blas !== undefined) {
    if (blas.trim() === '') throw new UsageError('--blas is empty: auto, off or the path of a BLAS library');
    opts.blas = blas;
  }
  if (threads !== undefined) opts.threads = Number(threads);
  if (backend !== undefined) {
    if (backend !== 'auto' && backend !== 'wasm' && backend !== 'reference') throw new UsageError(`--backend=${backend} is invalid: auto, wasm or reference`);
    opts.backend = backend;
  }
  if (simd !== undefined) {
    if (simd !== 'auto' && simd !== 'relaxed-simd' && simd !== 'simd128') throw new UsageError(`--simd=${simd} is invalid: auto, relaxed-simd or simd128`);
    opts.simd = simd;
  }
  return opts;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const commands = { train: TRAIN_CLI_KEYS, generate: GENERATE_KEYS, eval: EVAL_KEYS, info: INFO_KEYS, pianoroll: [] } as const;
  if (!(command in commands)) throw new UsageError(`unknown command '${command}'; available: ${Object.keys(commands).join(', ')}`);
  // pianoroll takes its file as the first word (no engine needed).
  const file = command === 'pianoroll' && rest[0] !== undefined && !rest[0].startsWith('--') ? rest[0] : undefined;
  const args = parseArgs(file === undefined ? rest : rest.slice(1));
  if (args.has('help')) {
    console.log(`${HELP[command]}\n${COMMON}`);
    return 0;
  }
  if (command === 'pianoroll') {
    for (const k of ['threads', 'backend', 'simd', 'blas']) take(args, k);
    const metrics = pianorollCommand(args, file);
    if (args.get('json') === 'true') console.log(JSON.stringify(metrics));
    return 0;
  }
  const engine = await createEngine(engineOptions(args));
  for (const k of ['threads', 'backend', 'simd', 'blas']) take(args, k);
  // One notice when a BLAS was wanted but did not load (the wasm matmul runs instead), or loaded
  // but could not take the attention's tile products.
  const blasNotes = engine.info.notes.filter((n) => n.startsWith('native BLAS unavailable') || n.startsWith('attention tile products stay in wasm'));
  if (args.get('json') !== 'true' && args.get('quiet') !== 'true' && command !== 'info') for (const n of blasNotes) console.error(`perceiver-ar: note: ${n}`);
  try {
    let metrics: Record<string, unknown>;
    const json = args.get('json') === 'true';
    switch (command) {
      case 'train': metrics = (await trainCommand(engine, args)).metrics; break;
      case 'generate': metrics = generateCommand(engine, args); break;
      case 'eval': metrics = evalCommand(engine, args); break;
      default: metrics = infoCommand(engine, args); break;
    }
    if (json) console.log(JSON.stringify(metrics));
    else if (command === 'eval') console.log(Object.entries(metrics).map(([k, v]) => `${k}: ${typeof v === 'number' ? +v.toFixed(6) : v}`).join('\n'));
    return 0;
  } finally {
    await engine.dispose();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  // Expected failures (bad options, bad files) get one line; anything else keeps its stack for a bug report.
  const expected = e instanceof InputError || e instanceof RangeError;
  console.error(`perceiver-ar: ${e instanceof Error ? (expected ? e.message : e.stack ?? e.message) : String(e)}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
