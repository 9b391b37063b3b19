// `npm run bench -- kernels`: the engine's kernels against the machine's 128-bit FMA ceiling,
// measured in the same run. Inputs are built outside the timed region.
import { createEngine, type Engine, type AttentionMask } from '../src/node.js';
import { Rng } from '../src/tensor/rng.js';
import { median, timeMedian, type BenchResult, type TimeOptions } from './harness.js';

interface Case {
  readonly name: string;
  readonly flops: number;
  /** Target check on (ms, gflops, simd build); returns [description, met]. */
  readonly target?: (ms: number, gflops: number, simd: string) => [string, boolean];
  readonly setup: (e: Engine, rng: Rng) => () => void;
  readonly extra?: (ms: number) => Record<string, number | string>;
}

function filled(e: Engine, rng: Rng, n: number, scale = 1): Float32Array {
  const a = e.allocF32(n);
  rng.fillUniform(a, scale);
  return a;
}

/** Targets in GFLOP/s: [with relaxed-SIMD FMA, with SIMD128 only]. */
const matmulCase = (name: string, m: number, n: number, k: number, transA: boolean, transB: boolean, targets: [number, number]): Case => ({
  name,
  flops: 2 * m * n * k,
  target: (_ms, g, simd) => {
    const t = simd === 'relaxed-simd' ? targets[0] : targets[1];
    return [`≥ ${t} GFLOP/s`, g >= t];
  },
  setup: (e, rng) => {
    const a = filled(e, rng, m * k), b = filled(e, rng, k * n), c = e.allocF32(m * n);
    return () => e.kernels.matmul({ m, n, k, transA, transB }, a, b, c);
  },
});

function attentionCase(name: string, Tq: number, Tk: number, H: number, D: number, flops: number,
  target: (ms: number, g: number) => [string, boolean]): Case {
  return {
    name, flops, target,
    setup: (e, rng) => {
      const HD = H * D;
      const q = filled(e, rng, Tq * HD), k = filled(e, rng, Tk * HD), v = filled(e, rng, Tk * HD);
      const o = e.allocF32(Tq * HD), lse = e.allocF32(H * Tq), dO = filled(e, rng, Tq * HD);
      const dq = e.allocF32(Tq * HD), dk = e.allocF32(Tk * HD), dv = e.allocF32(Tk * HD);
      const qp = e.allocI32(Tq), kp = e.allocI32(Tk);
      for (let j = 0; j < Tk; j++) kp[j] = j + 1;
      for (let i = 0; i < Tq; i++) qp[i] = Tk - Tq + i + 1;
      const mask: AttentionMask = { causal: { queryPositions: qp, keyPositions: kp } };
      const d = { batch: 1, queries: Tq, keys: Tk, heads: H, headDim: D };
      return () => {
        e.kernels.attentionForward(d, mask, q, k, v, o, lse);
        e.kernels.attentionBackward(d, mask, q, k, v, o, lse, dO, dq, dk, dv);
      };
    },
  };
}

export const KERNEL_CASES: readonly Case[] = [
  matmulCase('matmul-1024', 1024, 1024, 1024, false, false, [85, 75]),
  matmulCase('linear-4096x512x2048', 4096, 2048, 512, false, false, [70, 70]),
  matmulCase('linear-4096x512x2048-dx', 4096, 512, 2048, false, true, [70, 70]),
  matmulCase('linear-4096x512x2048-dw', 512, 2048, 4096, true, false, [70, 70]),
  // Causal: about half of the T² score tiles are computed; 14·T²·D·H/2 useful FLOPs (fwd 4, bwd 10).
  attentionCase('attention-causal-T1024', 1024, 1024, 8, 64, 14 * 1024 * 1024 * 64 * 8 / 2, (ms) => ['≤ 80 ms', ms <= 80]),
  attentionCase('cross-attention-512x4096', 512, 4096, 8, 64, 14 * 512 * 4096 * 64 * 8, (_ms, g) => ['≥ 55 GFLOP/s', g >= 55]),
  {
    name: 'layernorm-4096x512',
    // Flop model: 8 per element forward, 12 backward (documented in docs/benchmarks.md).
    flops: 20 * 4096 * 512,
    setup: (e, rng) => {
      const R = 4096, C = 512, d = { rows: R, cols: C, eps: 1e-5 };
      const x = filled(e, rng, R * C), g = filled(e, rng, C), b = filled(e, rng, C), y = e.allocF32(R * C);
      const mean = e.allocF32(R), rstd = e.allocF32(R), dy = filled(e, rng, R * C), dx = e.allocF32(R * C);
      const dg = e.allocF32(C), db = e.allocF32(C);
      return () => {
        e.kernels.layerNormForward(d, x, g, b, y, mean, rstd);
        e.kernels.layerNormBackward(d, x, g, mean, rstd, dy, dx, dg, db);
      };
    },
    extra: (ms) => ({ 'GB/s': ((4096 * 512 * 4 * 5) / (ms * 1e6)).toFixed(1) }),
  },
];

/**
 * The machine's 128-bit multiply-add ceiling on all the engine's threads. A ceiling is what the
 * machine can do, so it is the best of 15 runs (the cases are medians).
 */
export function measureFmaCeiling(e: Engine): { ms: number; gflops: number } {
  const iterations = 5_000_000;
  const { best } = timeMedian(() => e.fmaPeak!(iterations), { warmup: 2, repeat: 15 });
  return { ms: best, gflops: (iterations * 96 * e.info.threads) / (best * 1e6) };
}

/** Cost of one empty parallel call (all threads woken and joined), microseconds. */
export function measureDispatch(e: Engine): number {
  const batch = 2000;
  const { median } = timeMedian(() => { for (let i = 0; i < batch; i++) e.fmaPeak!(0); }, { warmup: 2, repeat: 9 });
  return (median * 1000) / batch;
}

/**
 * The ceiling rows: the machine's 128-bit FMA ceiling (from a relaxed-SIMD engine, made for the
 * purpose when `e` runs the SIMD128 build and the runtime has relaxed SIMD), and for a SIMD128
 * engine also its own mul+add ceiling. Fractions are taken against the first row.
 */
async function ceilingRows(e: Engine): Promise<BenchResult[]> {
  const row = (x: Engine, name: string, loop: string): BenchResult => {
    const { ms, gflops } = measureFmaCeiling(x);
    return { name, ms, gflops, threads: x.info.threads, simd: x.info.simd, fractionOfCeiling: null, target: null, targetMet: null, extra: { loop } };
  };
  if (e.info.simd === 'relaxed-simd') return [row(e, 'fma-ceiling', '12 independent f32x4 FMA')];
  const own = row(e, 'muladd-ceiling', '12 independent f32x4 mul+add');
  try {
    const relaxed = await createEngine({ backend: 'wasm', threads: e.info.threads, simd: 'relaxed-simd' });
    try { return [row(relaxed, 'fma-ceiling', '12 independent f32x4 FMA'), own]; } finally { await relaxed.dispose(); }
  } catch {
    return [own];
  }
}

export async function runKernelBenchmarks(e: Engine, only: readonly string[] | null, time: TimeOptions, rounds: number,
  progress: (line: string) => void): Promise<BenchResult[]> {
  if (!e.fmaPeak) throw new Error('kernel benchmarks need the wasm backend');
  const base = { threads: e.info.threads, simd: e.info.simd };
  const rows = await ceilingRows(e);
  const ceiling = rows[0]!.gflops!;
  const results: BenchResult[] = rows.map((r) => ({ ...r, fractionOfCeiling: r.gflops! / ceiling }));
  // Rounds interleave the cases, so a slow spell of a shared machine hits every case alike; each
  // case reports the median over rounds of its per-round median.
  const cases = KERNEL_CASES.filter((c) => !only || only.includes(c.name));
  const perCase = cases.map(() => [] as number[]);
  let runs = 0;
  for (let round = 0; round < rounds; round++) {
    cases.forEach((c, i) => {
      progress(`round ${round + 1}/${rounds}: ${c.name}…`);
      const mark = e.mark();
      const run = c.setup(e, new Rng(1));
      const t = timeMedian(run, time);
      e.release(mark);
      perCase[i]!.push(t.median);
      runs = t.runs;
    });
  }
  cases.forEach((c, i) => {
    const ms = median(perCase[i]!);
    const gflops = c.flops / (ms * 1e6);
    // The targets are for 2 threads on an idle machine; other thread counts only show them.
    const [t, m] = c.target ? c.target(ms, gflops, e.info.simd) : [null, null];
    const [target, met] = e.info.threads === 2 || t === null ? [t, m] : [`(${t} at 2 threads)`, null];
    const spread: Record<string, string> = rounds > 1 ? { 'range ms': `${Math.min(...perCase[i]!).toFixed(1)}-${Math.max(...perCase[i]!).toFixed(1)}` } : {};
    results.push({ ...base, name: c.name, ms, gflops, fractionOfCeiling: gflops / ceiling, target, targetMet: met,
      extra: { runs: `${rounds}x${runs}`, ...spread, ...(c.extra ? c.extra(ms) : {}) } });
  });
  if (!only || only.includes('pool-dispatch')) {
    const us = measureDispatch(e);
    const twoThreads = e.info.threads === 2;
    results.push({ ...base, name: 'pool-dispatch', ms: us / 1000, gflops: null, fractionOfCeiling: null,
      target: twoThreads ? '≤ 50 µs' : '(≤ 50 µs at 2 threads)', targetMet: twoThreads ? us <= 50 : null, extra: { us: us.toFixed(1) } });
  }
  return results;
}
