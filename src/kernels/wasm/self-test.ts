// A native BLAS checked on the path the engine really uses (issue 21, item 5): products on views
// of the engine's shared memory (not separate arrays), and — when the fused attention hands its
// tile products to the BLAS — an attention forward whose tiles every pool thread computes through
// its own binding of the library (addresses in the shared memory, one call per tile from each
// thread at once). Each is compared with the reference kernels; the engine drops the path that
// disagrees (platform/node/engine.ts).
import type { Engine } from '../../engine.js';
import { Rng } from '../../tensor/rng.js';
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

export function nativeSelfTest(engine: Engine): NativeSelfTest {
  const mark = engine.mark(), rng = new Rng(0x5e1f);
  const filled = (n: number): Float32Array => { const v = engine.allocF32(n, 'BLAS self-test'); rng.fillUniform(v, 1); return v; };
  const describe = (what: string, got: Float32Array, want: Float32Array): string | null => {
    const w = worst(got, want);
    return w.error > TOLERANCE ? `${what} on the engine's shared memory gave ${got[w.at]} instead of ${want[w.at]} (element ${w.at})` : null;
  };
  try {
    // 40×48·(56×48)ᵀ accumulated into C with a row stride of 61: 107,520 multiply-adds, above the BLAS threshold.
    const d = { m: 40, n: 56, k: 48, transB: true, ldc: 61, accumulate: true };
    const a = filled(40 * 48), b = filled(56 * 48), c = filled(40 * 61), want = Float32Array.from(c);
    engine.kernels.matmul(d, a, b, c);
    referenceKernels.matmul(d, Float32Array.from(a), Float32Array.from(b), want);
    const gemm = describe('a 40×48·48×56 product', c, want);
    if (!engine.info.blasAttentionTiles) return { gemm, tiles: null };
    // Causal attention over 130 keys (three key tiles, the last partial) in 2 heads per thread: every thread computes tiles.
    const heads = 2 * engine.info.threads, T = 130, D = 32, width = heads * D;
    const ad = { batch: 1, queries: T, keys: T, heads, headDim: D };
    const positions = engine.allocI32(T, 'BLAS self-test');
    for (let i = 0; i < T; i++) positions[i] = i;
    const mask = { causal: { queryPositions: positions, keyPositions: positions } };
    const q = filled(T * width), k = filled(T * width), v = filled(T * width), out = engine.allocF32(T * width, 'BLAS self-test');
    const lse = engine.allocF32(heads * T, 'BLAS self-test'), wantOut = new Float32Array(T * width), wantLse = new Float32Array(heads * T);
    engine.kernels.attentionForward(ad, mask, q, k, v, out, lse);
    const plain = { causal: { queryPositions: Int32Array.from(positions), keyPositions: Int32Array.from(positions) } };
    referenceKernels.attentionForward(ad, plain, Float32Array.from(q), Float32Array.from(k), Float32Array.from(v), wantOut, wantLse);
    return { gemm, tiles: describe(`a ${heads}-head attention's tile products`, out, wantOut) ?? describe('the attention\'s log-sum-exp', lse, wantLse) };
  } finally {
    engine.release(mark);
  }
}
