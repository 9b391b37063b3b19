// Benchmark entry: `npm run bench -- <suite> [--json] [--threads=N] [--only=a,b] [--repeat=N] [--simd=…]`.
import { createEngine } from '../src/index.js';
import { loadWarning, parseBenchArgs, printTable } from './harness.js';
import { runKernelBenchmarks } from './kernels.js';
import { benchGenerate, benchTrain } from './model.js';
import { runContextSweep } from './context.js';
import { runLatentsKnob } from './latents.js';

const SUITES = ['kernels', 'train', 'generate', 'context', 'latents'] as const;

async function main(argv: readonly string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (!suite || !(SUITES as readonly string[]).includes(suite)) {
    console.error(`usage: npm run bench -- <${SUITES.join('|')}> [--json] [--threads=N] [--only=case,…] [--repeat=N] [--rounds=N] [--simd=auto|relaxed-simd|simd128]` +
      '\n       (context and latents have their own options: npm run bench -- context --help)');
    return 2;
  }
  if (suite === 'context') return runContextSweep(rest);
  if (suite === 'latents') return runLatentsKnob(rest);
  const args = parseBenchArgs(rest);
  const log = (line: string): void => { if (!args.json) console.log(line); };
  const warn = loadWarning();
  if (warn) console.error(warn);
  const engine = await createEngine({ backend: 'wasm', threads: args.threads, simd: args.simd });
  try {
    log(`engine: wasm ${engine.info.simd}, ${engine.info.threads} threads; per case the median over ${args.rounds} round(s) of the median of ≥ ${args.repeat ?? 7} runs after warm-up`);
    const progress = (l: string): void => { if (!args.json) process.stderr.write(`\r${l}\x1b[K`); };
    const results = suite === 'kernels' ? await runKernelBenchmarks(engine, args.only, { repeat: args.repeat ?? 7 }, args.rounds, progress)
      : suite === 'train' ? benchTrain(engine, [1, 4], args.repeat ?? 3, progress)
        : benchGenerate(engine, progress);
    if (!args.json) process.stderr.write('\r\x1b[K');
    if (args.json) for (const r of results) console.log(JSON.stringify(r));
    else printTable(results, log);
  } finally {
    await engine.dispose();
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
