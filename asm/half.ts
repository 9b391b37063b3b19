// Few-row products against bf16 weights (decoding): C[m, n] (=|+=) alpha·A[m, k]·W + bias, W packed
// as src/kernels/bf16.ts describes: outputs in panels of 3 (BF16_PANEL), each panel's weights one
// contiguous run read front to back, blocks of 8 along k interleaved so that one 128-bit load
// widens to two float32 vectors with one shift (even 16-bit slots: k = 8b+0..3) and one mask (odd
// slots: 8b+4..7); the k mod 8 tail of each output in order. Threads split the panels. Per block of
// a panel, 6 multiply-adds into 6 accumulators: enough independent chains to take 12 bytes a cycle
// (4 took 8), and few enough that V8 keeps them in registers (8 spill; docs/engine.md). A's further
// rows re-read the panel from L1. A, C, bias are float32; bias = 0 means none. Pointers are byte
// addresses, lda/ldc/ldr in floats.
// A prologue (decoding fuses it to save a pass over the pool per layer norm): gamma ≠ 0 gives
// C = … alpha·LN(A)·W …, each row of A layer-normalised with gamma, beta and eps first — the floats
// layerNormForward would give (asm/layers.ts layerNormRow), in each thread's own scratch (m·k
// floats, at most NORMALIZE_MAX_ELEMENTS: src/kernels/validate.ts refuses more).
// split > 0 with two threads gives the first thread panels [0, split) and the second the rest
// (the backend follows the threads' speeds: src/kernels/wasm/split-balancer.ts); each output is
// computed the same way whoever computes it.
// Epilogues (decoding fuses them to save a pass over the pool per layer): residual ≠ 0 gives
// C = R[m, n] + (alpha·A·W + bias), the sum a separate add would give; act ≥ 0 (an activation kind
// of asm/activations.ts) gives C = act(alpha·A·W + bias), applied by each thread to its own columns
// after its products, with the activation kernel's code and its choice of form per element (as
// activationForward over the m·n outputs in a row: the same floats for any thread count). Neither is
// combined with accumulate, nor with each other (src/kernels/validate.ts refuses it).
import { activateRange } from './activations';
import { fma4, hsum4, share, SCRATCH_BYTES } from './common';
import { layerNormRow } from './layers';

// Dot product of A's row at ai with an output's tail weights at wt (t values, in order).
@inline function tailDot(wt: usize, ai: usize, t: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < t; i++) s += load<f32>(ai + (<usize>i << 2)) * reinterpret<f32>(<u32>load<u16>(wt + (<usize>i << 1)) << 16);
  return s;
}

// r: the residual's element for this output, or 0.
@inline function finish(c: usize, s: f32, alpha: f32, bias: usize, j: i32, accumulate: i32, r: usize): void {
  let v = alpha * s;
  if (bias != 0) v += load<f32>(bias + (<usize>j << 2));
  if (r != 0) v = load<f32>(r) + v;
  store<f32>(c, accumulate ? load<f32>(c) + v : v);
}

@inline function residualAt(residual: usize, ldr: i32, i: i32, j: i32): usize {
  return residual == 0 ? 0 : residual + ((<usize>i * ldr + j) << 2);
}

export function matmulBf16(m: i32, n: i32, k: i32, a: usize, lda: i32, w: usize, bias: usize, c: usize, ldc: i32,
  alpha: f32, accumulate: i32, residual: usize, ldr: i32, act: i32, gamma: usize, beta: usize, eps: f32, scratch: usize, split: i32,
  tid: i32, nth: i32): void {
  // split > 0 (two threads): the first thread's panels are [0, split), the second's the rest.
  let j0 = share(n, tid, nth, 3), j1 = share(n, tid + 1, nth, 3);
  if (nth == 2 && split > 0) {
    j0 = tid == 0 ? 0 : min(n, split * 3);
    j1 = tid == 0 ? min(n, split * 3) : n;
  }
  if (gamma != 0 && j1 > j0) {
    // The prologue: A's rows layer-normalised (gamma, beta, eps) into this thread's scratch, which
    // the products then read (every thread normalises all m rows: a few hundred floats each).
    const an = scratch + <usize>tid * SCRATCH_BYTES;
    for (let i = 0; i < m; i++) layerNormRow(a + (<usize>i * lda << 2), an + (<usize>i * k << 2), gamma, beta, k, eps, 0, 0);
    a = an;
    lda = k;
  }
  const k8 = k & ~7, t = k - k8;
  // The mask of the odd slots, built from a value the compilers cannot see (nth ≥ 1), so that it is
  // kept in a register rather than rematerialised at every use.
  const hi = i32x4.splat(<i32>0xffff0000 | (nth >> 31));
  let j = j0;
  for (; j + 3 <= j1; j += 3) {
    const wp = w + (<usize>j * k << 1), tail = wp + (<usize>k8 * 6);
    for (let i = 0; i < m; i++) {
      const ai = a + (<usize>i * lda << 2);
      let e0 = f32x4.splat(0), o0 = f32x4.splat(0), e1 = f32x4.splat(0), o1 = f32x4.splat(0);
      let e2 = f32x4.splat(0), o2 = f32x4.splat(0);
      let q = wp, xa = ai;
      const qEnd = wp + <usize>k8 * 6;
      while (q < qEnd) {
        const xe = v128.load(xa), xo = v128.load(xa, 16);
        let v = v128.load(q);
        e0 = fma4(i32x4.shl(v, 16), xe, e0); o0 = fma4(v128.and(v, hi), xo, o0);
        v = v128.load(q, 16);
        e1 = fma4(i32x4.shl(v, 16), xe, e1); o1 = fma4(v128.and(v, hi), xo, o1);
        v = v128.load(q, 32);
        e2 = fma4(i32x4.shl(v, 16), xe, e2); o2 = fma4(v128.and(v, hi), xo, o2);
        q += 48; xa += 32;
      }
      const ci = c + ((<usize>i * ldc + j) << 2), at = ai + (<usize>k8 << 2), tB = <usize>t << 1;
      const ri = residualAt(residual, ldr, i, j), rs: usize = ri == 0 ? 0 : 4;
      finish(ci, hsum4(f32x4.add(e0, o0)) + tailDot(tail, at, t), alpha, bias, j, accumulate, ri);
      finish(ci + 4, hsum4(f32x4.add(e1, o1)) + tailDot(tail + tB, at, t), alpha, bias, j + 1, accumulate, ri + rs);
      finish(ci + 8, hsum4(f32x4.add(e2, o2)) + tailDot(tail + 2 * tB, at, t), alpha, bias, j + 2, accumulate, ri + 2 * rs);
    }
  }
  if (j < j1) {
    // The last panel holds 1 or 2 outputs (n mod 3): each output's blocks are 16·width bytes apart.
    const width = j1 - j, wp = w + (<usize>j * k << 1), step = <usize>width << 4, tail = wp + (<usize>k8 * width << 1);
    for (let r = 0; r < width; r++) {
      for (let i = 0; i < m; i++) {
        const ai = a + (<usize>i * lda << 2);
        let e = f32x4.splat(0), o = f32x4.splat(0);
        let q = wp + (<usize>r << 4);
        for (let kk = 0; kk < k8; kk += 8) {
          const xa = ai + (<usize>kk << 2);
          const v = v128.load(q);
          e = fma4(i32x4.shl(v, 16), v128.load(xa), e); o = fma4(v128.and(v, hi), v128.load(xa, 16), o);
          q += step;
        }
        finish(c + ((<usize>i * ldc + j + r) << 2), hsum4(f32x4.add(e, o)) + tailDot(tail + (<usize>(r * t) << 1), ai + (<usize>k8 << 2), t),
          alpha, bias, j + r, accumulate, residualAt(residual, ldr, i, j + r));
      }
    }
  }
  if (act >= 0 && j1 > j0) {
    const vectorEnd = (m * n) & ~3;
    for (let i = 0; i < m; i++) {
      const ci = c + ((<usize>i * ldc + j0) << 2), flat = i * n + j0;
      activateRange(act, ci, ci, j1 - j0, max(0, min(j1 - j0, vectorEnd - flat)));
    }
  }
}
