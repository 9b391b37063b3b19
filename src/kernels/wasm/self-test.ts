// A native BLAS checked on the path the engine really uses (issue 21, item 5): products on views
// of the engine's shared memory (not separate arrays), and — when the fused attention hands its
// tile products to the BLAS — an attention forward and backward whose tiles the pool's threads
// compute through their own bindings of the library (addresses in the shared memory, calls from
// several threads at once; a thread that claims no share in time leaves its share to the calling
// thread). Each is compared with the reference kernels; the engine drops the path that disagrees
// (platform/node/engine.ts).
import type { Engine } from '../../engine.js';
import { Rng } from '../../tensor/rng.js';
import type { NativeGemm } from '../native-gemm.js';
import { referenceKernels } from '../reference/index.js';

export interface NativeSelfTest {
  /** Why the engine's large products through the BLAS are wrong, or null. */
  readonly gemm: string | null;
  /** Why the attention's tile products through the BLAS are wrong, or null (also null when the engine has no tiles). */
  readonly tiles: string | null;
}

/** The largest |got − want| / (1 + |want|) over two arrays, with where it is. */
function worst(got: Float32Array, want: Float32Array): { error: number; at: number } {
  let error = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    if (!(e <= error)) { error = e; at = i; }
  }
  return { error, at };
}

const TOLERANCE = 1e-4;

/** Engine and reference results, side by side, of a causal attention forward and backward. */
export interface AttentionPairs {
  readonly out: readonly [Float32Array, Float32Array]; readonly dq: readonly [Float32Array, Float32Array];
  readonly dk: readonly [Float32Array, Float32Array]; readonly dv: readonly [Float32Array, Float32Array];
}

/**
 * A causal self-attention over T keys, `heads` heads of D dims, forward and backward through the
 * engine's kernels and the reference kernels, on inputs from `filled` (engine memory): each
 * result as [engine, reference].
 */
export function attentionAgainstReference(engine: Engine, T: number, heads: number, D: number, filled: (n: number) => Float32Array): AttentionPairs {
  const n = T * heads * D, ad = { batch: 1, queries: T, keys: T, heads, headDim: D }, copy = (x: Float32Array): Float32Array => Float32Array.from(x);
  const positions = engine.allocI32(T, 'attention check');
  for (let i = 0; i < T; i++) positions[i] = i;
  const mask = { causal: { queryPositions: positions, keyPositions: positions } };
  const plain = { causal: { queryPositions: Int32Array.from(positions), keyPositions: Int32Array.from(positions) } };
  const [q, k, v, dOut] = [filled(n), filled(n), filled(n), filled(n)];
  const out = engine.allocF32(n, 'attention check'), lse = engine.allocF32(heads * T, 'attention check');
  const [dq, dk, dv] = [0, 1, 2].map(() => engine.allocF32(n, 'attention check').fill(0)) as [Float32Array, Float32Array, Float32Array];
  const r = { out: new Float32Array(n), lse: new Float32Array(heads * T), dq: new Float32Array(n), dk: new Float32Array(n), dv: new Float32Array(n) };
  engine.kernels.attentionForward(ad, mask, q, k, v, out, lse);
  engine.kernels.attentionBackward(ad, mask, q, k, v, out, lse, dOut, dq, dk, dv);
  referenceKernels.attentionForward(ad, plain, copy(q), copy(k), copy(v), r.out, r.lse);
  referenceKernels.attentionBackward(ad, plain, copy(q), copy(k), copy(v), r.out, r.lse, copy(dOut), r.dq, r.dk, r.dv);
  return { out: [out, r.out], dq: [dq, r.dq], dk: [dk, r.dk], dv: [dv, r.dv] };
}

export function nativeSelfTest(engine: Engine, gemm: NativeGemm): NativeSelfTest {
  const mark = engine.mark(), rng = new Rng(0x5e1f);
  const filled = (n: number): Float32Array => { const v = engine.allocF32(n, 'BLAS self-test'); rng.fillUniform(v, 1); return v; };
  const copy = (x: Float32Array): Float32Array => Float32Array.from(x);
  const describe = (what: string, [got, want]: readonly [Float32Array, Float32Array]): string | null => {
    const w = worst(got, want);
    return w.error > TOLERANCE ? `${what} on the engine's shared memory gave ${got[w.at]} instead of ${want[w.at]} (element ${w.at})` : null;
  };
  try {
    // The library itself (whatever thresholds route products to it), on views of the shared memory
    // with padded row strides: C += A·Bᵀ (40×48, 56×48, ldc 61), then C = Aᵀ·B (A stored 33×21 with lda 37).
    let gemm_: string | null = null;
    for (const d of [{ m: 40, n: 56, k: 48, transA: false, transB: true, lda: 48, ldb: 48, ldc: 61, beta: 1 },
      { m: 21, n: 30, k: 33, transA: true, transB: false, lda: 37, ldb: 30, ldc: 30, beta: 0 }]) {
      const a = filled((d.transA ? d.k : d.m) * d.lda), b = filled((d.transB ? d.n : d.k) * d.ldb), c = filled(d.m * d.ldc);
      const want = copy(c);
      gemm.sgemm(d.transA, d.transB, d.m, d.n, d.k, 1, a, d.lda, b, d.ldb, d.beta, c, d.ldc);
      referenceKernels.matmul({ m: d.m, n: d.n, k: d.k, transA: d.transA, transB: d.transB, lda: d.lda, ldb: d.ldb, ldc: d.ldc, accumulate: d.beta === 1 },
        copy(a), copy(b), want);
      gemm_ ??= describe(`a ${d.m}×${d.k}·${d.k}×${d.n} product${d.transA ? ' (A transposed)' : ' (B transposed)'}`, [c, want]);
    }
    if (!engine.info.blasAttentionTiles) return { gemm: gemm_, tiles: null };
    // Causal attention, forward and backward (every transpose the tiles use), over 70 keys (a full
    // and a partial key tile), one head per thread (at least 2), so that each thread has tiles to compute.
    const heads = Math.max(2, engine.info.threads), r = attentionAgainstReference(engine, 70, heads, 16, filled);
    const what = `a ${heads}-head attention's tile products`;
    return {
      gemm: gemm_,
      tiles: describe(`${what} (forward)`, r.out) ?? describe(`${what} (dQ)`, r.dq) ?? describe(`${what} (dK)`, r.dk) ?? describe(`${what} (dV)`, r.dv),
    };
  } finally {
    engine.release(mark);
  }
}
