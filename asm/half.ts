// Few-row products against bf16 weights (decoding): C[m, n] (=|+=) alpha·A[m, k]·W + bias, W packed
// as src/kernels/bf16.ts describes: outputs in pairs (panels), each panel's weights one contiguous
// run read front to back, blocks of 8 along k interleaved so that one 128-bit load widens to two
// float32 vectors with one shift (even 16-bit slots: k = 8b+0..3) and one mask (odd slots:
// 8b+4..7); the k mod 8 tail of each output in order. Threads split the panels. Per block of a
// panel, 4 multiply-adds into 4 accumulators (the latency of one chain is covered by the others;
// more rows per panel would run out of vector registers in V8's code). A's further rows re-read
// the panel from L1. A, C, bias are float32; bias = 0 means none. Pointers are byte addresses,
// lda/ldc in floats.
import { fma4, hsum4, share } from './common';

// Dot product of A's row at ai with an output's tail weights at wt (t values, in order).
@inline function tailDot(wt: usize, ai: usize, t: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < t; i++) s += load<f32>(ai + (<usize>i << 2)) * reinterpret<f32>(<u32>load<u16>(wt + (<usize>i << 1)) << 16);
  return s;
}

@inline function finish(c: usize, s: f32, alpha: f32, bias: usize, j: i32, accumulate: i32): void {
  let v = alpha * s;
  if (bias != 0) v += load<f32>(bias + (<usize>j << 2));
  store<f32>(c, accumulate ? load<f32>(c) + v : v);
}

export function matmulBf16(m: i32, n: i32, k: i32, a: usize, lda: i32, w: usize, bias: usize, c: usize, ldc: i32,
  alpha: f32, accumulate: i32, tid: i32, nth: i32): void {
  const j0 = share(n, tid, nth, 2), j1 = share(n, tid + 1, nth, 2);
  const k8 = k & ~7, t = k - k8;
  // The mask of the odd slots, built from a value the compilers cannot see (nth ≥ 1), so that it is
  // kept in a register rather than rematerialised at every use.
  const hi = i32x4.splat(<i32>0xffff0000 | (nth >> 31));
  let j = j0;
  for (; j + 2 <= j1; j += 2) {
    const wp = w + (<usize>j * k << 1), tail = wp + (<usize>k8 << 2);
    for (let i = 0; i < m; i++) {
      const ai = a + (<usize>i * lda << 2);
      let e0 = f32x4.splat(0), o0 = f32x4.splat(0), e1 = f32x4.splat(0), o1 = f32x4.splat(0);
      let q = wp;
      for (let kk = 0; kk < k8; kk += 8) {
        const xa = ai + (<usize>kk << 2);
        const xe = v128.load(xa), xo = v128.load(xa, 16);
        const v0 = v128.load(q), v1 = v128.load(q, 16);
        e0 = fma4(i32x4.shl(v0, 16), xe, e0); o0 = fma4(v128.and(v0, hi), xo, o0);
        e1 = fma4(i32x4.shl(v1, 16), xe, e1); o1 = fma4(v128.and(v1, hi), xo, o1);
        q += 32;
      }
      const ci = c + ((<usize>i * ldc + j) << 2), at = ai + (<usize>k8 << 2);
      finish(ci, hsum4(f32x4.add(e0, o0)) + tailDot(tail, at, t), alpha, bias, j, accumulate);
      finish(ci + 4, hsum4(f32x4.add(e1, o1)) + tailDot(tail + (<usize>t << 1), at, t), alpha, bias, j + 1, accumulate);
    }
  }
  if (j < j1) {
    // The last panel holds one output (n odd): its blocks, then its tail.
    const wj = w + (<usize>j * k << 1);
    for (let i = 0; i < m; i++) {
      const ai = a + (<usize>i * lda << 2);
      let e = f32x4.splat(0), o = f32x4.splat(0);
      for (let kk = 0; kk < k8; kk += 8) {
        const xa = ai + (<usize>kk << 2);
        const v = v128.load(wj + (<usize>kk << 1));
        e = fma4(i32x4.shl(v, 16), v128.load(xa), e); o = fma4(v128.and(v, hi), v128.load(xa, 16), o);
      }
      finish(c + ((<usize>i * ldc + j) << 2), hsum4(f32x4.add(e, o)) + tailDot(wj + (<usize>k8 << 1), ai + (<usize>k8 << 2), t), alpha, bias, j, accumulate);
    }
  }
}
