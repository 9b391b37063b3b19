// Benchmark entry: `npm run bench -- <suite> [--json] [--threads=N] [--only=a,b] [--repeat=N] [--simd=…]`.
import { createEngine } from '../src/node.js';
import { loadWarning, parseBenchArgs, printTable } from './harness.js';
import { runKernelBenchmarks } from './kernels.js';
import { benchGenerate, benchTrain, matmulRate } from './model.js';
import { cPeerGflops } from './blas-peer.js';
import type { BenchResult } from './harness.js';
import { median } from './timing.js';
import type { Engine } from '../src/node.js';
import { runContextSweep } from './context.js';
import { runLatentsKnob } from './latents.js';
import { runProfile } from './profile.js';
import { benchGenerateContention, benchTrainContention } from './contention.js';
import { benchDecode } from './generate.js';
import { runInteropBench } from './interop.js';
import { reportGuard, runGuard } from './guard.js';
import { runBrowserBench } from './browser.js';

const SUITES = ['kernels', 'train', 'generate', 'context', 'latents', 'profile', 'guard', 'browser', 'interop'] as const;

/** matmul-1024 through the FFI against the same library called from C, in the same run (target ≥ 90%). */
function blasPeerRows(e: Engine): BenchResult[] {
  if (!e.info.blas) return [];
  // Alternated three times (the machine is shared and its speed drifts); medians of each.
  const peers: (number | string)[] = [], ffis: number[] = [];
  for (let r = 0; r < 3; r++) { peers.push(cPeerGflops(e.info.threads)); ffis.push(matmulRate(e)); }
  const failed = peers.find((x): x is string => typeof x === 'string');
  const peer = failed ?? median(peers as number[]), ffi = median(ffis);
  const base = { threads: e.info.threads, simd: e.info.simd, fractionOfCeiling: null };
  if (typeof peer === 'string') return [{ ...base, name: 'matmul-1024 [blas via FFI]', ms: (2 * 1024 ** 3) / (ffi * 1e6), gflops: ffi, target: null, targetMet: null, extra: { peer: peer } }];
  return [
    { ...base, name: 'matmul-1024 [blas from C] (peer)', ms: (2 * 1024 ** 3) / (peer * 1e6), gflops: peer, target: null, targetMet: null },
    { ...base, name: 'matmul-1024 [blas via FFI]', ms: (2 * 1024 ** 3) / (ffi * 1e6), gflops: ffi, fractionOfCeiling: ffi / peer,
      target: '≥ 90% of the C peer', targetMet: ffi / peer >= 0.9 },
  ];
}

async function main(argv: readonly string[]): Promise<number> {
  const [suite, ...rest] = argv;
  if (!suite || !(SUITES as readonly string[]).includes(suite)) {
    console.error(`usage: npm run bench -- <${SUITES.join('|')}> [--json] [--threads=N] [--only=case,…] [--repeat=N] [--rounds=N] [--simd=auto|relaxed-simd|simd128]` +
      '\n       (context and latents have their own options: npm run bench -- context --help)');
    return 2;
  }
  if (suite === 'context') return runContextSweep(rest);
  if (suite === 'latents') return runLatentsKnob(rest);
  if (suite === 'profile') return runProfile(rest);
  if (suite === 'interop') return runInteropBench(rest);
  if (suite === 'guard') {
    const json = rest.includes('--json');
    // Progress redrawn on a terminal; in a log (CI) the table alone.
    const live = !json && process.stderr.isTTY;
    const rows = await runGuard((l) => { if (live) process.stderr.write(`\r${l}\x1b[K`); });
    if (live) process.stderr.write('\r\x1b[K');
    if (json) for (const r of rows) console.log(JSON.stringify(r));
    return reportGuard(rows, json ? (l) => console.error(l) : (l) => console.log(l), Boolean(process.env.CI));
  }
  const args = parseBenchArgs(rest);
  const log = (line: string): void => { if (!args.json) console.log(line); };
  const warn = loadWarning();
  if (warn) console.error(warn);
  if (args.busy > 0 && (suite === 'generate' || suite === 'train')) {
    const progress = (l: string): void => { if (!args.json) process.stderr.write(`\r${l}\x1b[K`); };
    const rows = await (suite === 'generate' ? benchGenerateContention : benchTrainContention)(args.threads, args.busy, progress);
    if (!args.json) process.stderr.write('\r\x1b[K');
    if (args.json) for (const r of rows) console.log(JSON.stringify(r));
    else printTable(rows, log);
    return 0;
  }
  if (args.busy > 0) throw new Error('--busy applies to the generate and train suites');
  if (suite === 'browser') {
    const progress = (l: string): void => { if (!args.json) process.stderr.write(`\r${l}\x1b[K`); };
    const rows = await runBrowserBench(args.threads ?? 2, progress);
    if (!args.json) process.stderr.write('\r\x1b[K');
    if (args.json) for (const r of rows) console.log(JSON.stringify(r));
    else printTable(rows, log);
    return 0;
  }
  const engine = await createEngine({ backend: 'wasm', threads: args.threads, simd: args.simd, blas: args.blas });
  // Training is measured on every path in one run: all in wasm, the native BLAS for the matmuls
  // only, and the BLAS for the matmuls and the attention's tile products (the default).
  const nativePaths = suite === 'train' && args.blas === 'auto' && engine.info.blas;
  const second = nativePaths ? await createEngine({ backend: 'wasm', threads: args.threads, simd: args.simd, blas: 'off' }) : null;
  const third = nativePaths && engine.info.blasAttentionTiles
    ? await createEngine({ backend: 'wasm', threads: args.threads, simd: args.simd, blas: 'auto', blasAttentionTiles: false }) : null;
  try {
    const runs = suite === 'train' ? `${args.repeat ?? 3} training steps` : `≥ ${args.repeat ?? 7} runs`;
    log(`engine: wasm ${engine.info.simd}, ${engine.info.threads} threads, BLAS ${engine.info.blas ?? 'off'}; per case the median over ` +
      `${args.rounds} round(s) of the median of ${runs} after warm-up`);
    const progress = (l: string): void => { if (!args.json) process.stderr.write(`\r${l}\x1b[K`); };
    const results = suite === 'kernels' ? await runKernelBenchmarks(engine, args.only, { repeat: args.repeat ?? 7 }, args.rounds, progress)
      : suite === 'train' ? [...blasPeerRows(engine), ...benchTrain([second, third, engine].filter((x): x is Engine => x !== null), args.repeat ?? 3, args.rounds, progress)]
        : [...benchDecode(engine, progress), ...benchGenerate(engine, progress)];
    if (!args.json) process.stderr.write('\r\x1b[K');
    if (args.json) for (const r of results) console.log(JSON.stringify(r));
    else printTable(results, log);
  } finally {
    await engine.dispose();
    await second?.dispose();
    await third?.dispose();
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
