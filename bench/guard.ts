// `npm run bench -- guard`: a guard against speed regressions that does not depend on the
// machine's absolute speed. Each row is a ratio of two rates measured in the same run (taking
// turns, medians), with a floor well below its value today (docs/benchmarks.md, "Guard") and far
// above what a broken path gives; a ratio under its floor fails the run (exit 1) naming the row.
// .ci/run runs it after the tests. About 40 s on 2 cores.
import { createEngine, type Engine } from '../src/node.js';
import type { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import type { WeightFormat } from '../src/nn/params.js';
import { perceiverPresetNamed as presetNamed } from '../src/presets.js';
import { generate } from '../src/sample/generate.js';
import { cPeerGflops } from './blas-peer.js';
import { busyLoops, trainRate } from './contention.js';
import { median } from './timing.js';
import { decodeModel, matmulRate, syntheticStream } from './model.js';

export interface GuardRow {
  readonly name: string;
  /** What is divided by what. */
  readonly ratio: string;
  /** null: not measured here (reason given). */
  readonly value: number | null;
  readonly floor: number;
  /** The value measured when the floor was set (docs/benchmarks.md), for the reader. */
  readonly today: string;
  readonly note?: string;
}

/** Median over `rounds` of a/b, the two measured in turn each round. */
function turns(rounds: number, a: () => number, b: () => number): number {
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) ratios.push(a() / b());
  return median(ratios);
}

/** An enwik8-small model with random weights, held as `weights`. */
const enwik8Model = (e: Engine, weights: WeightFormat): PerceiverAR => decodeModel(e, presetNamed('enwik8-small').model, weights);

const PROMPT = syntheticStream(3584, 5);

/** tokens/s of `tokens` tokens after the 3,584-token prompt (cached, or one 1-latent forward per token). */
function decodeTokensPerSecond(model: PerceiverAR, tokens: number, cached: boolean): number {
  const r = generate(model, PROMPT, { maxNewTokens: tokens, temperature: 1, topK: 0, topP: 1, seed: 1, stopAtEos: false, cached });
  return r.tokens.length / r.seconds;
}

export async function runGuard(progress: (l: string) => void): Promise<GuardRow[]> {
  const rows: GuardRow[] = [];
  const e = await createEngine({ backend: 'wasm' });
  try {
    const f32 = enwik8Model(e, 'f32'), bf16 = enwik8Model(e, 'bf16');
    progress('guard: warm-up…');
    decodeTokensPerSecond(f32, 8, true); decodeTokensPerSecond(bf16, 8, true); decodeTokensPerSecond(f32, 2, false);
    progress('guard: cached vs uncached decoding…');
    rows.push({ name: 'decode-cached-vs-uncached', ratio: 'enwik8-small cached tokens/s ÷ one 1-latent forward per token', floor: 3,
      today: '6.3×', value: turns(3, () => decodeTokensPerSecond(f32, 96, true), () => decodeTokensPerSecond(f32, 6, false)) });
    progress('guard: bf16 vs f32 decoding…');
    rows.push({ name: 'decode-bf16-vs-f32', ratio: 'enwik8-small cached tokens/s, bf16 weights ÷ f32 weights', floor: 1.4, today: '2.1×',
      value: turns(3, () => decodeTokensPerSecond(bf16, 128, true), () => decodeTokensPerSecond(f32, 128, true)) });
    // One core taken by another program: the pool must not wait at every barrier for a worker the
    // scheduler has set aside (docs/engine.md, "Under contention"): several threads should do
    // about as well as one under the same load (the pool before that: about half).
    progress('guard: decoding beside a busy process…');
    const one = await createEngine({ backend: 'wasm', threads: 1 });
    const single = enwik8Model(one, 'bf16');
    decodeTokensPerSecond(single, 8, true);
    const loops = busyLoops(1);
    try {
      await new Promise((r) => setTimeout(r, 300));
      rows.push({ name: 'decode-busy-threads-vs-one', ratio: `enwik8-small bf16 cached tokens/s beside one busy process, ${e.info.threads} threads ÷ 1 thread`,
        floor: 0.65, today: '0.92', value: turns(5, () => decodeTokensPerSecond(bf16, 48, true), () => decodeTokensPerSecond(single, 48, true)) });
    } finally {
      for (const p of loops) p.kill('SIGKILL');
      single.dispose();
      await one.dispose();
    }
    f32.dispose(); bf16.dispose();
    if (!e.info.blas) {
      const why = `no BLAS loaded (${e.info.notes.join('; ') || 'blas off'})`;
      rows.push({ name: 'matmul-ffi-vs-c', ratio: 'matmul-1024 GFLOP/s through the FFI ÷ the same library from C', floor: 0.75, today: '0.99', value: null, note: why });
      rows.push({ name: 'train-blas-vs-wasm', ratio: 'train-small-b8 tokens/s, BLAS path ÷ all-wasm path', floor: 1.15, today: '1.8×', value: null, note: why });
      return rows;
    }
    progress('guard: the FFI matmul vs the same library from C…');
    const peer = cPeerGflops(e.info.threads);
    rows.push(typeof peer === 'string'
      ? { name: 'matmul-ffi-vs-c', ratio: 'matmul-1024 GFLOP/s through the FFI ÷ the same library from C', floor: 0.75, today: '0.99', value: null, note: peer }
      : { name: 'matmul-ffi-vs-c', ratio: 'matmul-1024 GFLOP/s through the FFI ÷ the same library from C', floor: 0.75, today: '0.99',
        value: turns(3, () => matmulRate(e), () => cPeerGflops(e.info.threads) as number) });
    const wasm = await createEngine({ backend: 'wasm', blas: 'off' });
    try {
      progress('guard: BLAS vs wasm training step…');
      rows.push({ name: 'train-blas-vs-wasm', ratio: 'train-small-b8 tokens/s, BLAS path ÷ all-wasm path', floor: 1.15, today: '1.8×',
        value: turns(3, () => trainRate(e, 3, progress, 'guard: train-small-b8 [blas]'), () => trainRate(wasm, 3, progress, 'guard: train-small-b8 [wasm]')) });
    } finally {
      await wasm.dispose();
    }
  } finally {
    await e.dispose();
  }
  return rows;
}

/** Prints the rows; returns the exit code: 1 when a measured ratio is under its floor (or, in CI, a row could not be measured). */
export function reportGuard(rows: readonly GuardRow[], log: (line: string) => void, ci: boolean): number {
  const failed: string[] = [];
  const cells = rows.map((r) => {
    const status = r.value === null ? (ci ? 'FAILED (not measured)' : 'skipped') : r.value >= r.floor ? 'ok' : 'FAILED';
    if (status.startsWith('FAILED')) failed.push(r.name);
    return [r.name, r.value === null ? '-' : r.value.toFixed(2), r.floor.toFixed(2), r.today, status, r.note ?? r.ratio];
  });
  const head = ['guard', 'ratio', 'floor', 'today', 'status', 'what'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  log(line(head));
  log(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) log(line(c));
  if (failed.length > 0) {
    log(`guard FAILED: ${failed.join(', ')} ${failed.length === 1 ? 'is' : 'are'} under the floor (a speed regression, or a path that no longer runs)`);
    return 1;
  }
  return 0;
}
