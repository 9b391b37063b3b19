#!/usr/bin/env node
// The perceiver-ar command: train | generate | eval | info.
import { createEngine, type EngineOptions } from '../index.js';
import { CheckpointError } from '../train/checkpoint.js';
import { parseArgs, take, UsageError, type Args } from './args.js';
import { evalCommand, EVAL_KEYS, generateCommand, GENERATE_KEYS, infoCommand, INFO_KEYS } from './commands.js';
import { trainCommand, TRAIN_CLI_KEYS } from './train.js';

const USAGE = `usage: perceiver-ar <command> [--key=value …]
  train     --preset=NAME (mirrored-32-small by default) [--checkpoint=OUT] [--resume=CKPT | --initFrom=CKPT] [--sample] [any config key]
  train     --task=parity --model=adatape|no-tape|transformer|universal [--length=32 --seed --steps --ponderWeight …] [--checkpoint=OUT] [--resume=CKPT] (docs/adatape.md)
  generate  --checkpoint=CKPT [--prompt=TEXT | --promptIds="2 65"] [--maxNewTokens --temperature --topK --topP --seed --numLatents --uncached]
  eval      --checkpoint=CKPT [--mode=exact|strided --stride --numLatents --dataPath --maxTargets]  (a parity classifier: its test set)
  info      [--preset=NAME | --checkpoint=CKPT]
  common    --threads=N --backend=auto|wasm|reference --simd=auto|relaxed-simd|simd128 --json --quiet
Details: README.md and docs/perceiver-ar.md.`;

function engineOptions(args: Args): EngineOptions {
  const threads = args.get('threads'), backend = args.get('backend'), simd = args.get('simd');
  const opts: { threads?: number; backend?: EngineOptions['backend']; simd?: EngineOptions['simd'] } = {};
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
  const commands = { train: TRAIN_CLI_KEYS, generate: GENERATE_KEYS, eval: EVAL_KEYS, info: INFO_KEYS } as const;
  if (!(command in commands)) throw new UsageError(`unknown command '${command}'; available: ${Object.keys(commands).join(', ')}`);
  const args = parseArgs(rest);
  const engine = await createEngine(engineOptions(args));
  for (const k of ['threads', 'backend', 'simd']) take(args, k);
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
  const expected = e instanceof UsageError || e instanceof CheckpointError || e instanceof RangeError || (e instanceof Error && /^(checkpoint|data file|token-id file|could not write)/.test(e.message));
  console.error(`perceiver-ar: ${e instanceof Error ? (expected ? e.message : e.stack ?? e.message) : String(e)}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
