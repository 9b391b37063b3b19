// `npm run bench -- kernels`: the engine's kernels against the machine's 128-bit FMA ceiling,
// measured in the same run. Inputs are built outside the timed region.
import { type Engine, type AttentionMask } from '../src/index.js';
import { Rng } from '../src/tensor/rng.js';
import { timeMedian, type BenchResult, type TimeOptions } from './harness.js';

interface Case {
  readonly name: string;
  readonly flops: number;
  /** Target check on (ms, gflops); returns [description, met]. */
  readonly target?: (ms: number, gflops: number) => [string, boolean];
  readonly setup: (e: Engine, rng: Rng) => () => void;
  readonly extra?: (ms: number) => Record<string, number | string>;
}

function filled(e: Engine, rng: Rng, n: number, scale = 1): Float32Array {
  const a = e.allocF32(n);
  rng.fillUniform(a, scale);
  return a;
}

const matmulCase = (name: string, m: number, n: number, k: number, transA: boolean, transB: boolean, target?: number): Case => ({
  name,
  flops: 2 * m * n * k,
  ...(target === undefined ? {} : { target: (_ms: number, g: number): [string, boolean] => [`≥ ${target} GFLOP/s`, g >= target] }),
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
  matmulCase('matmul-1024', 1024, 1024, 1024, false, false, 85),
  matmulCase('linear-4096x512x2048', 4096, 2048, 512, false, false, 70),
  matmulCase('linear-4096x512x2048-dx', 4096, 512, 2048, false, true, 70),
  matmulCase('linear-4096x512x2048-dw', 512, 2048, 4096, true, false, 70),
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

/** The machine's 128-bit multiply-add ceiling on all the engine's threads, GFLOP/s (median of 5). */
export function measureFmaCeiling(e: Engine): number {
  const iterations = 5_000_000;
  const { median } = timeMedian(() => e.fmaPeak!(iterations), { warmup: 1, repeat: 5 });
  return (iterations * 96 * e.info.threads) / (median * 1e6);
}

/** Cost of one empty parallel call (all threads woken and joined), microseconds. */
export function measureDispatch(e: Engine): number {
  const batch = 2000;
  const { median } = timeMedian(() => { for (let i = 0; i < batch; i++) e.fmaPeak!(0); }, { warmup: 2, repeat: 9 });
  return (median * 1000) / batch;
}

export function runKernelBenchmarks(e: Engine, only: readonly string[] | null, time: TimeOptions,
  progress: (line: string) => void): BenchResult[] {
  if (!e.fmaPeak) throw new Error('kernel benchmarks need the wasm backend');
  const base = { threads: e.info.threads, simd: e.info.simd };
  const ceiling = measureFmaCeiling(e);
  const results: BenchResult[] = [{
    ...base, name: 'fma-ceiling', ms: 0, gflops: ceiling, fractionOfCeiling: 1, target: null, targetMet: null,
    extra: { loop: e.info.simd === 'relaxed-simd' ? '12 f32x4 FMA chains' : '12 f32x4 mul+add chains' },
  }];
  for (const c of KERNEL_CASES) {
    if (only && !only.includes(c.name)) continue;
    progress(`running ${c.name}…`);
    const mark = e.mark();
    const run = c.setup(e, new Rng(1));
    const { median, runs } = timeMedian(run, time);
    e.release(mark);
    const gflops = c.flops / (median * 1e6);
    const [target, met] = c.target ? c.target(median, gflops) : [null, null];
    results.push({ ...base, name: c.name, ms: median, gflops, fractionOfCeiling: gflops / ceiling, target, targetMet: met,
      extra: { runs, ...(c.extra ? c.extra(median) : {}) } });
  }
  if (!only || only.includes('pool-dispatch')) {
    const us = measureDispatch(e);
    results.push({ ...base, name: 'pool-dispatch', ms: us / 1000, gflops: null, fractionOfCeiling: null,
      target: '≤ 50 µs', targetMet: us <= 50, extra: { us: us.toFixed(1) } });
  }
  return results;
}
