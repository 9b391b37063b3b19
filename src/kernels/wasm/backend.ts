// The wasm backend: validates like the reference, turns views into pointers and dispatches the
// AssemblyScript kernels, inline for small work or across the worker pool.
import {
  NORMALIZE_MAX_ELEMENTS, type Activation, type AdamWStep, type AttentionDims, type AttentionMask, type CrossEntropyDims, type DropoutDims, type F32,
  type I32, type KernelSet, type LayerNormDims, type MatmulDims, type RotaryDims,
} from '../types.js';
import { rotaryInverseFrequencies } from '../formulas.js';
import {
  checkAdamW, checkCrossEntropy, checkDropoutP, checkIds, checkLayerNorm, checkRowsCols, resolveAttention, resolveAttentionMerge, resolveMatmul,
  resolveMatmulBf16, resolveRotary, sameLength,
} from '../validate.js';
import type { NativeMatmul } from '../native-gemm.js';
import type { EngineMemory } from './memory.js';
import { DECODE_BLOCK, SCRATCH_BYTES, type KernelExport, type ThreadRunner } from './exports.js';
import { JobRecorder, type JobHooks } from './job-recorder.js';
import { fineTimer, SplitBalancer } from './split-balancer.js';

export interface WasmBackendParts {
  readonly memory: EngineMemory;
  readonly runner: ThreadRunner;
  /** Base of threads × SCRATCH_BYTES of per-thread workspace. */
  readonly scratch: number;
  /** A small f64 area for per-call parameters (rotary frequencies, reduction partials). */
  readonly params: Float64Array;
  /** Work (≈ element operations) below which a kernel runs inline on the calling thread. */
  readonly minParallelWork: number;
  /** Large matmuls go to this native gemm when given (Node with a BLAS library); null: all in wasm. */
  readonly native?: NativeMatmul | null;
  /** How two threads split a bf16 product (default: one that follows the threads' speeds when the timer is fine enough). */
  readonly balancer?: SplitBalancer;
}

const ACTIVATION_KIND: Record<Activation, number> = { 'squared-relu': 0, gelu: 1, 'gelu-erf': 2 };
/** Matmuls with at most this many rows take the few-rows path (asm/gemm.ts SMALL_M). */
const FEW_ROWS = 8;

/** The kernels, and the recorder every job of theirs goes through (Engine.jobRecording). */
export function createWasmKernels(parts: WasmBackendParts): { readonly kernels: KernelSet; readonly recorder: JobRecorder } {
  // A normalising product's rows go into each thread's scratch (asm/half.ts).
  if (NORMALIZE_MAX_ELEMENTS * 4 > SCRATCH_BYTES) throw new Error(`NORMALIZE_MAX_ELEMENTS (${NORMALIZE_MAX_ELEMENTS}) floats exceed a thread's scratch (${SCRATCH_BYTES} bytes)`);
  const { memory, runner, scratch, params, minParallelWork } = parts, native = parts.native ?? null;
  const recorder = new JobRecorder(runner, () => kernels);
  const call = (fn: KernelExport, args: number[], work: number, hooks?: JobHooks): void => {
    recorder.run(fn, args, work < minParallelWork ? 1 : runner.threads, hooks);
  };
  const p = (kernel: string, name: string, view: ArrayBufferView): number => memory.pointer(view, kernel, name);
  const paramsPtr = memory.pointer(params, 'engine', 'params');
  // The one-query attention's count of threads done (reset before each call; the kernel leaves it 0).
  const arrived = memory.i32(1, 'attention arrival count'), arrivedPtr = memory.pointer(arrived, 'engine', 'arrived');
  arrived[0] = 0;
  const balancer = parts.balancer ?? new SplitBalancer(runner.threads === 2 && fineTimer());

  const attentionArgs = (kernel: string, d: AttentionDims, mask: AttentionMask, bufs: Record<string, F32>) => {
    const r = resolveAttention(kernel, d, mask, bufs.q!, bufs.k!, bufs.v!, bufs.out!, bufs.lse!);
    const qPos = mask.causal ? p(kernel, 'queryPositions', mask.causal.queryPositions) : 0;
    const kPos = mask.causal ? p(kernel, 'keyPositions', mask.causal.keyPositions) : 0;
    const kValid = mask.keyValid ? p(kernel, 'keyValid', mask.keyValid) : 0;
    return { r, qPos, kPos, kValid, causal: mask.causal ? 1 : 0, work: r.B * r.H * r.Tq * r.Tk * r.D };
  };

  // The frequencies of the last rotary call, kept: a decode step rotates once or twice a layer with the same ones.
  let frequencies: { key: string; values: Float64Array } = { key: '', values: new Float64Array(0) };
  const rotary = (kernel: string, d: RotaryDims, x: F32, positions: I32, sign: number): void => {
    const r = resolveRotary(kernel, d, x, positions);
    if (r.rotaryDims === 0) return;
    const key = `${r.rotaryDims} ${r.maxWavelength} ${r.spacing}`;
    if (frequencies.key !== key) frequencies = { key, values: rotaryInverseFrequencies(r.rotaryDims, r.maxWavelength, r.spacing) };
    const values = frequencies.values, writeFrequencies = (): void => params.set(values);
    writeFrequencies();
    // A replay writes them again: other jobs use the parameter area too.
    call('rotary', [p(kernel, 'x', x), p(kernel, 'positions', positions), paramsPtr, r.rows, r.heads, r.headDim,
      r.rowStride, r.rotaryDims, sign], r.rows * r.heads * r.rotaryDims * 4, { prepare: writeFrequencies });
  };

  const dropout = (kernel: string, d: DropoutDims, x: F32, y: F32, mode: number): void => {
    const n = sameLength(kernel, ['input', 'output'], [x, y]);
    checkDropoutP(kernel, d.p);
    call('dropout', [p(kernel, 'input', x), p(kernel, 'output', y), n, d.p, d.seed >>> 0, (d.offset ?? 0) >>> 0, mode], n * 4);
  };

  // The fused attention, its tile products in the native BLAS when the engine wired one to every
  // thread (the library held to one thread of its own meanwhile), else in wasm.
  const tiles = native?.attentionTiles ?? null;
  const fused = (run: (tiles: number) => void): void => {
    if (!tiles) { run(0); return; }
    recorder.refuse('attention tiles on the native BLAS');
    tiles.setThreads(1);
    try { run(1); } finally { tiles.setThreads(tiles.threads); }
  };

  const kernels: KernelSet = {
    matmul(d: MatmulDims, a: F32, b: F32, c: F32): void {
      const K = 'matmul';
      const r = resolveMatmul(d, a, b, c);
      const work = r.batch * r.m * r.n * r.k;
      // Native BLAS for every product but the few-row ones (decoding), where the wasm path that
      // streams B once across threads is faster (docs/benchmarks.md, the BLAS threshold).
      if (native && r.m > native.maxWasmRows && r.m * r.n * r.k >= native.minWork) {
        recorder.refuse('a product on the native BLAS');
        native.yieldCores();
        const beta = r.accumulate ? 1 : 0;
        for (let i = 0; i < r.batch; i++) {
          native.gemm.sgemm(r.transA, r.transB, r.m, r.n, r.k, r.alpha, a.subarray(i * r.strideA), r.lda, b.subarray(i * r.strideB), r.ldb,
            beta, c.subarray(i * r.strideC), r.ldc);
        }
        return;
      }
      // Few rows (decoding): split K so each thread streams one contiguous block of B (the
      // asm matmul's own few-rows path splits columns, which suits one thread).
      if (r.m <= FEW_ROWS && !r.transB && r.batch === 1 && runner.threads > 1 && work >= minParallelWork && r.m * r.n * 4 <= SCRATCH_BYTES) {
        recorder.run('matmulFewRowsPartial', [r.transA ? 1 : 0, r.m, r.n, r.k, p(K, 'A', a), r.lda, p(K, 'B', b), r.ldb, scratch], runner.threads);
        recorder.run('matmulFewRowsReduce', [r.m, r.n, p(K, 'C', c), r.ldc, r.alpha, r.accumulate ? 1 : 0, scratch, runner.threads], runner.threads);
        return;
      }
      call('matmul', [r.transA ? 1 : 0, r.transB ? 1 : 0, r.m, r.n, r.k, p(K, 'A', a), r.lda, p(K, 'B', b), r.ldb,
        p(K, 'C', c), r.ldc, r.alpha, r.accumulate ? 1 : 0, r.batch, r.strideA, r.strideB, r.strideC, scratch], work);
    },
    matmulBf16(d, a, w, bias, c, residual = null) {
      const K = 'matmulBf16';
      const r = resolveMatmulBf16(d, a, w, bias, c, residual);
      const nz = r.normalize; // m·k ≤ NORMALIZE_MAX_ELEMENTS = SCRATCH_BYTES / 4 (validated)
      // Two threads: the split follows the threads' speeds (split-balancer.ts); the outputs do not depend on it.
      const work = r.m * r.n * r.k, panels = Math.ceil(r.n / 3), split = runner.threads === 2 && work >= minParallelWork ? balancer.split(panels) : 0;
      const observe = (): void => balancer.observe(runner.lastWaitMs ?? null);
      // A replay takes the balancer's split of the moment (the last argument), and reports its wait.
      call('matmulBf16', [r.m, r.n, r.k, p(K, 'A', a), r.lda, p(K, 'W', w), bias ? p(K, 'bias', bias) : 0, p(K, 'C', c), r.ldc, r.alpha,
        r.accumulate ? 1 : 0, residual ? p(K, 'residual', residual) : 0, r.ldr, r.activation ? ACTIVATION_KIND[r.activation] : -1,
        nz ? p(K, 'normalize.gamma', nz.gamma) : 0, nz ? p(K, 'normalize.beta', nz.beta) : 0, nz ? nz.eps : 0, scratch, split], work,
      split > 0 ? { prepare: (args) => { args[args.length - 1] = balancer.split(panels); }, finish: observe } : undefined);
      if (split > 0) observe();
    },
    biasAddForward(rows, cols, y, bias) {
      const K = 'biasAddForward';
      checkRowsCols(K, rows, cols, { y: [y, rows * cols], bias: [bias, cols] });
      call('biasAddForward', [p(K, 'y', y), p(K, 'bias', bias), rows, cols], rows * cols);
    },
    biasAddBackward(rows, cols, dy, dbias) {
      const K = 'biasAddBackward';
      checkRowsCols(K, rows, cols, { dy: [dy, rows * cols], dbias: [dbias, cols] });
      call('biasAddBackward', [p(K, 'dy', dy), p(K, 'dbias', dbias), rows, cols], rows * cols);
    },
    embeddingForward(vocab, dim, table, ids, out) {
      const K = 'embeddingForward';
      checkRowsCols(K, ids.length, dim, { table: [table, vocab * dim], out: [out, ids.length * dim] });
      checkIds(K, 'ids', ids, ids.length, vocab);
      call('embeddingForward', [p(K, 'table', table), p(K, 'ids', ids), p(K, 'out', out), ids.length, dim], ids.length * dim);
    },
    embeddingBackward(vocab, dim, dTable, ids, dOut) {
      const K = 'embeddingBackward';
      checkRowsCols(K, ids.length, dim, { dTable: [dTable, vocab * dim], dOut: [dOut, ids.length * dim] });
      checkIds(K, 'ids', ids, ids.length, vocab);
      call('embeddingBackward', [p(K, 'dTable', dTable), p(K, 'ids', ids), p(K, 'dOut', dOut), ids.length, dim], ids.length * dim);
    },
    layerNormForward(d: LayerNormDims, x, gamma, beta, y, mean, rstd) {
      const K = 'layerNormForward';
      checkLayerNorm(K, d.rows, d.cols, d.eps, x, { gamma, beta }, { mean, rstd });
      checkRowsCols(K, d.rows, d.cols, { y: [y, d.rows * d.cols] });
      call('layerNormForward', [p(K, 'x', x), p(K, 'gamma', gamma), p(K, 'beta', beta), p(K, 'y', y), p(K, 'mean', mean),
        p(K, 'rstd', rstd), d.rows, d.cols, d.eps], d.rows * d.cols * 4);
    },
    layerNormBackward(d: LayerNormDims, x, gamma, mean, rstd, dy, dx, dgamma, dbeta) {
      const K = 'layerNormBackward';
      checkLayerNorm(K, d.rows, d.cols, d.eps, x, { gamma, dgamma, dbeta }, { mean, rstd });
      checkRowsCols(K, d.rows, d.cols, { dy: [dy, d.rows * d.cols], dx: [dx, d.rows * d.cols] });
      if (d.cols * 8 > SCRATCH_BYTES) throw new RangeError(`${K}: cols=${d.cols} exceeds the wasm backend's maximum ${SCRATCH_BYTES / 8}`);
      const work = d.rows * d.cols * 8;
      const used = work < minParallelWork ? 1 : runner.threads;
      recorder.run('layerNormBackward', [p(K, 'x', x), p(K, 'gamma', gamma), p(K, 'mean', mean), p(K, 'rstd', rstd), p(K, 'dy', dy),
        p(K, 'dx', dx), scratch, d.rows, d.cols], used);
      call('layerNormReduceParams', [scratch, p(K, 'dgamma', dgamma), p(K, 'dbeta', dbeta), d.cols, used], d.cols * used);
    },
    activationForward(kind, x, y) {
      const K = 'activationForward';
      const n = sameLength(K, ['x', 'y'], [x, y]);
      call('activationForward', [ACTIVATION_KIND[kind], p(K, 'x', x), p(K, 'y', y), n], n * 4);
    },
    activationBackward(kind, x, dy, dx) {
      const K = 'activationBackward';
      const n = sameLength(K, ['x', 'dy', 'dx'], [x, dy, dx]);
      call('activationBackward', [ACTIVATION_KIND[kind], p(K, 'x', x), p(K, 'dy', dy), p(K, 'dx', dx), n], n * 8);
    },
    gluForward(rows, cols, x, y) {
      const K = 'gluForward';
      checkRowsCols(K, rows, cols, { x: [x, rows * 2 * cols], y: [y, rows * cols] });
      call('gluForward', [p(K, 'x', x), p(K, 'y', y), rows, cols], rows * cols * 8);
    },
    gluBackward(rows, cols, x, dy, dx) {
      const K = 'gluBackward';
      checkRowsCols(K, rows, cols, { x: [x, rows * 2 * cols], dy: [dy, rows * cols], dx: [dx, rows * 2 * cols] });
      call('gluBackward', [p(K, 'x', x), p(K, 'dy', dy), p(K, 'dx', dx), rows, cols], rows * cols * 8);
    },
    add(a, b, out) {
      const K = 'add';
      const n = sameLength(K, ['a', 'b', 'out'], [a, b, out]);
      call('add', [p(K, 'a', a), p(K, 'b', b), p(K, 'out', out), n], n);
    },
    scale(x, s) {
      const n = sameLength('scale', ['x'], [x]);
      call('scale', [p('scale', 'x', x), s, n], n);
    },
    dropoutForward(d, x, y) { dropout('dropoutForward', d, x, y, 0); },
    dropoutBackward(d, dy, dx) { dropout('dropoutBackward', d, dy, dx, 1); },
    rotaryForward(d, x, positions) { rotary('rotaryForward', d, x, positions, 1); },
    rotaryBackward(d, dx, positions) { rotary('rotaryBackward', d, dx, positions, -1); },
    attentionForward(d, mask, q, k, v, out, lse) {
      const K = 'attentionForward';
      const { r, qPos, kPos, kValid, causal, work } = attentionArgs(K, d, mask, { q, k, v, out, lse });
      // One query (cached decoding): stream whole K/V rows for all heads, keys split across threads.
      const decodeThreads = work < minParallelWork ? 1 : runner.threads;
      if (r.B === 1 && r.Tq === 1 && r.H * (r.D + 4 + DECODE_BLOCK) <= SCRATCH_BYTES / 4) {
        // One pass: the last thread to finish merges the threads' partial results (asm/decode-attention.ts).
        const clearArrivals = (): void => { arrived[0] = 0; };
        clearArrivals();
        recorder.run('attentionDecode', [p(K, 'q', q), p(K, 'k', k), p(K, 'v', v), p(K, 'out', out), p(K, 'lse', lse), qPos, kPos, kValid,
          r.Tk, r.H, r.D, r.ldk, r.ldv, r.scale, causal, scratch, arrivedPtr], decodeThreads, { prepare: clearArrivals });
        return;
      }
      fused((tiles) => call('attentionForward', [p(K, 'q', q), p(K, 'k', k), p(K, 'v', v), p(K, 'out', out), p(K, 'lse', lse), qPos, kPos, kValid,
        r.B, r.Tq, r.Tk, r.H, r.D, r.ldq, r.ldk, r.ldv, r.ldo, r.scale, causal, tiles, scratch], work));
    },
    attentionBackward(d, mask, q, k, v, out, lse, dOut, dq, dk, dv) {
      const K = 'attentionBackward';
      const { r, qPos, kPos, kValid, causal, work } = attentionArgs(K, d, mask, { q, k, v, out, lse });
      resolveAttention(K, d, mask, dq, dk, dv, dOut, lse);
      fused((tiles) => call('attentionBackward', [p(K, 'q', q), p(K, 'k', k), p(K, 'v', v), p(K, 'out', out), p(K, 'lse', lse), p(K, 'dOut', dOut),
        p(K, 'dq', dq), p(K, 'dk', dk), p(K, 'dv', dv), qPos, kPos, kValid,
        r.B, r.Tq, r.Tk, r.H, r.D, r.ldq, r.ldk, r.ldv, r.ldo, r.scale, causal, tiles, scratch], work));
    },
    attentionMerge(d, out, lse, out2, lse2) {
      const K = 'attentionMerge';
      const r = resolveAttentionMerge(K, d, out, lse, out2, lse2);
      call('attentionMerge', [p(K, 'out', out), p(K, 'lse', lse), p(K, 'out2', out2), p(K, 'lse2', lse2), r.B, r.Tq, r.H, r.D, r.ldo],
        r.B * r.Tq * r.H * r.D * 4);
    },
    crossEntropyForward(d: CrossEntropyDims, logits, targets, loss, lse) {
      const K = 'crossEntropyForward';
      checkCrossEntropy(K, d.rows, d.vocab, logits, targets, { loss, lse }, d.ignoreIndex);
      call('crossEntropyForward', [p(K, 'logits', logits), p(K, 'targets', targets), p(K, 'loss', loss), p(K, 'lse', lse),
        d.rows, d.vocab, d.ignoreIndex, d.zLoss], d.rows * d.vocab * 2);
    },
    crossEntropyBackward(d: CrossEntropyDims, logits, targets, lse, dLogits, gradScale) {
      const K = 'crossEntropyBackward';
      checkCrossEntropy(K, d.rows, d.vocab, logits, targets, { lse }, d.ignoreIndex);
      checkRowsCols(K, d.rows, d.vocab, { dLogits: [dLogits, d.rows * d.vocab] });
      call('crossEntropyBackward', [p(K, 'logits', logits), p(K, 'targets', targets), p(K, 'lse', lse), p(K, 'dLogits', dLogits),
        d.rows, d.vocab, d.ignoreIndex, d.zLoss, gradScale], d.rows * d.vocab * 2);
    },
    adamw(s: AdamWStep, params, grads, m, v) {
      const K = 'adamw';
      const n = sameLength(K, ['params', 'grads', 'm', 'v'], [params, grads, m, v]);
      checkAdamW(K, s);
      call('adamw', [p(K, 'params', params), p(K, 'grads', grads), p(K, 'm', m), p(K, 'v', v), n, s.lr, s.beta1, s.beta2, s.eps,
        s.weightDecay, 1 - Math.pow(s.beta1, s.step), 1 - Math.pow(s.beta2, s.step), s.gradScale ?? 1], n * 4);
    },
    sumSquares(x) {
      const n = sameLength('sumSquares', ['x'], [x]);
      const nth = n < minParallelWork ? 1 : runner.threads;
      recorder.refuse('sumSquares (its result is read back)');
      params.fill(0, 0, runner.threads);
      recorder.run('sumSquares', [p('sumSquares', 'x', x), n, paramsPtr], nth);
      let s = 0;
      for (let t = 0; t < nth; t++) s += params[t]!;
      return s;
    },
  };
  return { kernels, recorder };
}
