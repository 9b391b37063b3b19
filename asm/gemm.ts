// Matrix multiply: register-tiled micro-kernels (4 rows × 8 columns in eight v128 accumulators)
// plus a packed driver for the public matmul. The same micro-kernels serve the fused attention
// (gemmBlockT, on its packed or transposed tiles).
//
// Micro-kernel operand conventions (all strides in BYTES):
//   A(i, k) at a + 4*i + k*csA          (4-row tiles with each k's values adjacent: packed tiles
//                                        or a transposed matrix; one-row kernels read a + k*csA)
//   B row k at b + k*ldb, with the tile's columns contiguous
//   C(i, j) at c + i*ldc + 4*j           C = alpha*A·B + beta*C, beta ∈ {0, 1}
import { fma4, share, SCRATCH_BYTES } from './common';

@inline function store8(c: usize, x0: v128, x1: v128, alpha: v128, beta: f32): void {
  if (beta == 0) {
    v128.store(c, f32x4.mul(x0, alpha));
    v128.store(c, f32x4.mul(x1, alpha), 16);
  } else {
    v128.store(c, fma4(x0, alpha, v128.load(c)));
    v128.store(c, fma4(x1, alpha, v128.load(c, 16)), 16);
  }
}

@inline function store4(c: usize, x0: v128, alpha: v128, beta: f32): void {
  if (beta == 0) v128.store(c, f32x4.mul(x0, alpha));
  else v128.store(c, fma4(x0, alpha, v128.load(c)));
}

function kernel1x8(a: usize, csA: usize, b: usize, ldb: usize, kc: i32,
  c: usize, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const x = v128.load32_splat(a);
    c00 = fma4(x, v128.load(b), c00);
    c01 = fma4(x, v128.load(b, 16), c01);
    a += csA;
    b += ldb;
  }
  store8(c, c00, c01, f32x4.splat(alpha), beta);
}

// 4 rows × 4 columns, A laid out as kernel4x8T reads it (the four rows' values per k adjacent).
function kernel4x4T(a: usize, csA: usize, b: usize, ldb: usize, kc: i32,
  c: usize, ldc: usize, alpha: f32, beta: f32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    c0 = fma4(v128.load32_splat(a), b0, c0);
    c1 = fma4(v128.load32_splat(a, 4), b0, c1);
    c2 = fma4(v128.load32_splat(a, 8), b0, c2);
    c3 = fma4(v128.load32_splat(a, 12), b0, c3);
    a += csA;
    b += ldb;
  }
  const al = f32x4.splat(alpha);
  store4(c, c0, al, beta);
  store4(c + ldc, c1, al, beta);
  store4(c + ldc * 2, c2, al, beta);
  store4(c + ldc * 3, c3, al, beta);
}

function kernel1x4(a: usize, csA: usize, b: usize, ldb: usize, kc: i32,
  c: usize, alpha: f32, beta: f32): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    c0 = fma4(v128.load32_splat(a), v128.load(b), c0);
    a += csA;
    b += ldb;
  }
  store4(c, c0, f32x4.splat(alpha), beta);
}

function kernel1x1(a: usize, csA: usize, b: usize, ldb: usize, kc: i32,
  c: usize, alpha: f32, beta: f32): void {
  let s: f32 = 0;
  for (let k = 0; k < kc; k++) {
    s += load<f32>(a) * load<f32>(b);
    a += csA;
    b += ldb;
  }
  store<f32>(c, beta == 0 ? alpha * s : load<f32>(c) + alpha * s);
}

// A in 4-row tiles whose four values per k are adjacent: A(i, k) at a + 4*i + k*csA — the
// matmul's packed tiles (csA = 16, B panels of 8: ldb = 32), or a transposed matrix such as the
// attention's Kᵀ, Qᵀ, Sᵀ or P (csA = its row stride). Row offsets are immediates, so per k the
// loop carries only the two pointers.
function kernel4x8T(a: usize, csA: usize, b: usize, ldb: usize, kc: i32, c: usize, ldc: usize, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = a + <usize>kc * csA;
  while (a < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = fma4(x, b0, c00); c01 = fma4(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = fma4(x, b0, c10); c11 = fma4(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = fma4(x, b0, c20); c21 = fma4(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = fma4(x, b0, c30); c31 = fma4(x, b1, c31);
    a += csA;
    b += ldb;
  }
  const al = f32x4.splat(alpha);
  store8(c, c00, c01, al, beta);
  store8(c + ldc, c10, c11, al, beta);
  store8(c + ldc * 2, c20, c21, al, beta);
  store8(c + ldc * 3, c30, c31, al, beta);
}

// C[m×n] = alpha·A[m×kc]·B[kc×n] + beta·C, beta ∈ {0, 1}, with A laid out as kernel4x8T reads it
// (A(i, k) at a + 4*i + k*csA) and B unpacked (row k at b + k*ldb). Any m, n ≥ 0: rows past the
// last multiple of 4 and columns past the last multiple of 8 take the narrower kernels.
export function gemmBlockT(m: i32, n: i32, kc: i32, a: usize, csA: usize,
  b: usize, ldb: usize, c: usize, ldc: usize, alpha: f32, beta: f32): void {
  const m4 = m & ~3;
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2);
    for (let i = 0; i < m4; i += 4) kernel4x8T(a + (<usize>i << 2), csA, bj, ldb, kc, cj + <usize>i * ldc, ldc, alpha, beta);
    for (let i = m4; i < m; i++) kernel1x8(a + (<usize>i << 2), csA, bj, ldb, kc, cj + <usize>i * ldc, alpha, beta);
  }
  if (j + 4 <= n) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2);
    for (let i = 0; i < m4; i += 4) kernel4x4T(a + (<usize>i << 2), csA, bj, ldb, kc, cj + <usize>i * ldc, ldc, alpha, beta);
    for (let i = m4; i < m; i++) kernel1x4(a + (<usize>i << 2), csA, bj, ldb, kc, cj + <usize>i * ldc, alpha, beta);
    j += 4;
  }
  for (; j < n; j++) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2);
    for (let i = 0; i < m; i++) kernel1x1(a + (<usize>i << 2), csA, bj, ldb, kc, cj + <usize>i * ldc, alpha, beta);
  }
}

// Blocking of the public matmul (BLIS-style): up to KC rows of op(B) are packed at a time into
// panels of 8 columns, as many panels as fit 512 KiB of the thread's scratch; op(A) is packed MC
// rows at a time into 4-row tiles laid out [tile][k][4], so the micro-kernel streams both operands
// contiguously whatever the stored layout. A long KC means each C tile is loaded and stored once
// per KC rows of B: C rarely fits in L2, and those reloads are what costs.
const KC: i32 = 512;
const MC: i32 = 64;
const B_PACK_FLOATS: i32 = 131072;
// Thread scratch used: B_PACK_FLOATS + MC·KC + 8 floats (655 KiB of the 1 MiB).

// Packs op(B)[k0..k0+kc, 8p..8p+8) for panels p0..p1 into ws as [panel][k][8], zero-padded.
function packB(b: usize, ldb: i32, transB: bool, n: i32, k0: i32, kc: i32, p0: i32, p1: i32, ws: usize): void {
  let dst = ws;
  for (let p = p0; p < p1; p++) {
    const j0 = p * 8;
    const nj = min(8, n - j0);
    for (let k = 0; k < kc; k++) {
      if (!transB && nj == 8) {
        const src = b + ((<usize>(k0 + k) * ldb + j0) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let jj = 0; jj < 8; jj++) {
          let v: f32 = 0;
          if (jj < nj) {
            const j = j0 + jj;
            v = transB ? load<f32>(b + ((<usize>j * ldb + k0 + k) << 2)) : load<f32>(b + ((<usize>(k0 + k) * ldb + j) << 2));
          }
          store<f32>(dst + (<usize>jj << 2), v);
        }
      }
      dst += 32;
    }
  }
}

// Packs op(A)[i0..i1, k0..k0+kc) into dst as [tile of 4 rows][k][4], the last tile zero-padded.
// Full tiles are copied with vectors: transposed A is already [k][row]; row-major A is read four
// k at a time from each of the 4 rows and transposed 4×4 with shuffles.
function packA(a: usize, lda: i32, transA: bool, i0: i32, i1: i32, k0: i32, kc: i32, dst: usize): void {
  if (transA) {
    // Row k of the stored A holds all the block's rows: copy it across the tiles in one sweep
    // (going tile by tile instead would touch kc cache lines per tile and thrash L1).
    const full = (i1 - i0) >> 2;
    const tileB = <usize>kc << 4;
    for (let k = 0; k < kc; k++) {
      const src = a + ((<usize>(k0 + k) * lda + i0) << 2);
      const d = dst + (<usize>k << 4);
      for (let t = 0; t < full; t++) v128.store(d + <usize>t * tileB, v128.load(src + (<usize>t << 4)));
    }
    packTail(a, lda, true, i0 + full * 4, i1, k0, kc, dst + <usize>full * tileB);
    return;
  }
  for (let t = i0; t < i1; t += 4) {
    const nr = min(4, i1 - t);
    let k = 0;
    if (nr == 4) {
      const r0 = a + ((<usize>t * lda + k0) << 2), ldB = <usize>lda << 2;
      const r1 = r0 + ldB, r2 = r1 + ldB, r3 = r2 + ldB;
      for (; k + 4 <= kc; k += 4) {
        const off = <usize>k << 2;
        const x0 = v128.load(r0 + off), x1 = v128.load(r1 + off), x2 = v128.load(r2 + off), x3 = v128.load(r3 + off);
        const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
        v128.store(dst, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
        dst += 64;
      }
    }
    packTail(a, lda, false, t, t + nr, k0 + k, kc - k, dst);
    dst += <usize>(kc - k) << 4;
  }
}

// Element-wise packing of one partial tile (rows t..t1, fewer than 4 or a k remainder), zero-padded.
function packTail(a: usize, lda: i32, transA: bool, t: i32, t1: i32, k0: i32, kc: i32, dst: usize): void {
  if (t >= t1) return;
  const nr = t1 - t;
  for (let k = 0; k < kc; k++) {
    for (let r = 0; r < 4; r++) {
      let v: f32 = 0;
      if (r < nr) {
        v = transA ? load<f32>(a + ((<usize>(k0 + k) * lda + t + r) << 2)) : load<f32>(a + ((<usize>(t + r) * lda + k0 + k) << 2));
      }
      store<f32>(dst + (<usize>r << 2), v);
    }
    dst += 16;
  }
}

// C[0..m, j0..j1) (=|+=) alpha·A·B reading B strictly row after row (sequential memory: the
// hardware prefetchers see one stream per thread), accumulating into the C slice, which stays in
// L1. Decoding is bound by how fast the weights stream from memory, so this is its hot loop.
function streamRowsOfB(m: i32, j0: i32, j1: i32, k: i32, a: usize, rsA: usize, csA: usize, b: usize, ldbB: usize,
  c: usize, ldcB: usize, alpha: f32, beta: f32): void {
  const jv = j0 + ((j1 - j0) & ~3);
  if (beta == 0) for (let i = 0; i < m; i++) memory.fill(c + <usize>i * ldcB + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
  let kk = 0;
  for (; kk + 4 <= k; kk += 4) {
    const b0 = b + <usize>kk * ldbB, b1 = b0 + ldbB, b2 = b1 + ldbB, b3 = b2 + ldbB;
    for (let i = 0; i < m; i++) {
      const ai = a + <usize>i * rsA + <usize>kk * csA;
      const x0 = alpha * load<f32>(ai), x1 = alpha * load<f32>(ai + csA), x2 = alpha * load<f32>(ai + 2 * csA), x3 = alpha * load<f32>(ai + 3 * csA);
      const v0 = f32x4.splat(x0), v1 = f32x4.splat(x1), v2 = f32x4.splat(x2), v3 = f32x4.splat(x3);
      const ci = c + <usize>i * ldcB;
      let j = j0;
      for (; j < jv; j += 4) {
        const o = <usize>j << 2;
        const s01 = fma4(v1, v128.load(b1 + o), fma4(v0, v128.load(b0 + o), v128.load(ci + o)));
        v128.store(ci + o, fma4(v3, v128.load(b3 + o), fma4(v2, v128.load(b2 + o), s01)));
      }
      for (; j < j1; j++) {
        const o = <usize>j << 2;
        store<f32>(ci + o, load<f32>(ci + o) + x0 * load<f32>(b0 + o) + x1 * load<f32>(b1 + o) + x2 * load<f32>(b2 + o) + x3 * load<f32>(b3 + o));
      }
    }
  }
  for (; kk + 2 <= k; kk += 2) {
    const b0 = b + <usize>kk * ldbB, b1 = b0 + ldbB;
    for (let i = 0; i < m; i++) {
      const ai = a + <usize>i * rsA + <usize>kk * csA;
      const x0 = alpha * load<f32>(ai), x1 = alpha * load<f32>(ai + csA);
      const v0 = f32x4.splat(x0), v1 = f32x4.splat(x1);
      const ci = c + <usize>i * ldcB;
      let j = j0;
      for (; j < jv; j += 4) {
        const o = <usize>j << 2;
        v128.store(ci + o, fma4(v1, v128.load(b1 + o), fma4(v0, v128.load(b0 + o), v128.load(ci + o))));
      }
      for (; j < j1; j++) {
        const o = <usize>j << 2;
        store<f32>(ci + o, load<f32>(ci + o) + x0 * load<f32>(b0 + o) + x1 * load<f32>(b1 + o));
      }
    }
  }
  for (; kk < k; kk++) {
    const b0 = b + <usize>kk * ldbB;
    for (let i = 0; i < m; i++) {
      const x0 = alpha * load<f32>(a + <usize>i * rsA + <usize>kk * csA);
      const ci = c + <usize>i * ldcB;
      for (let j = j0; j < j1; j++) store<f32>(ci + (<usize>j << 2), load<f32>(ci + (<usize>j << 2)) + x0 * load<f32>(b0 + (<usize>j << 2)));
    }
  }
}

// Few rows on several threads: thread t streams the contiguous rows k ∈ share(k, t) of B into a
// partial product P_t [m, n] in its scratch; matmulFewRowsReduce then sums the partials into C.
export function matmulFewRowsPartial(transA: i32, m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
  scratch: usize, tid: i32, nth: i32): void {
  const k0 = share(k, tid, nth, 1), k1 = share(k, tid + 1, nth, 1);
  const p = scratch + <usize>tid * SCRATCH_BYTES;
  const rsA: usize = transA ? 4 : <usize>lda << 2, csA: usize = transA ? <usize>lda << 2 : 4;
  if (k0 >= k1) { memory.fill(p, 0, <usize>(m * n) << 2); return; }
  streamRowsOfB(m, 0, n, k1 - k0, a + <usize>k0 * csA, rsA, csA, b + (<usize>k0 * ldb << 2), <usize>ldb << 2, p, <usize>n << 2, 1, 0);
}

// C[i, j] = (C[i, j] if accumulate) + alpha·Σ_t P_t[i, j] over the `used` partials (threads split columns).
export function matmulFewRowsReduce(m: i32, n: i32, c: usize, ldc: i32, alpha: f32, accumulate: i32, scratch: usize, used: i32,
  tid: i32, nth: i32): void {
  const j0 = share(n, tid, nth, 4), j1 = share(n, tid + 1, nth, 4);
  const al = f32x4.splat(alpha);
  for (let i = 0; i < m; i++) {
    const ci = c + (<usize>i * ldc << 2), pi = <usize>(i * n) << 2;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      let acc = f32x4.splat(0);
      for (let t = 0; t < used; t++) acc = f32x4.add(acc, v128.load(scratch + <usize>t * SCRATCH_BYTES + pi + (<usize>j << 2)));
      const o = ci + (<usize>j << 2);
      v128.store(o, accumulate ? fma4(acc, al, v128.load(o)) : f32x4.mul(acc, al));
    }
    for (; j < j1; j++) {
      let acc: f32 = 0;
      for (let t = 0; t < used; t++) acc += load<f32>(scratch + <usize>t * SCRATCH_BYTES + pi + (<usize>j << 2));
      const o = ci + (<usize>j << 2);
      store<f32>(o, accumulate ? load<f32>(o) + alpha * acc : alpha * acc);
    }
  }
}

// Up to SMALL_M rows (decoding, tiny batches): packing B would cost more than the product, so B is
// streamed in place. Threads split the columns.
const SMALL_M: i32 = 8;

function matmulFewRows(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, alpha: f32, accumulate: i32, batch: i32, strideA: i32, strideB: i32, strideC: i32, tid: i32, nth: i32): void {
  const j0 = share(n, tid, nth, 8), j1 = share(n, tid + 1, nth, 8);
  if (j0 >= j1) return;
  const beta: f32 = accumulate ? 1 : 0;
  const rsA: usize = transA ? 4 : <usize>lda << 2, csA: usize = transA ? <usize>lda << 2 : 4;
  for (let bi = 0; bi < batch; bi++) {
    const ab = a + (<usize>bi * strideA << 2), bb = b + (<usize>bi * strideB << 2), cb = c + (<usize>bi * strideC << 2);
    if (!transB) {
      streamRowsOfB(m, j0, j1, k, ab, rsA, csA, bb, <usize>ldb << 2, cb, <usize>ldc << 2, alpha, beta);
      continue;
    }
    // op(B) = Bᵀ: C[i, j] = Σ_k A[i, k]·B[j, k], a dot product of two contiguous rows (A not transposed here).
    for (let j = j0; j < j1; j++) {
      const brow = bb + (<usize>j * ldb << 2);
      for (let i = 0; i < m; i++) {
        const arow = ab + (<usize>i * lda << 2);
        let acc = f32x4.splat(0);
        let kk = 0;
        for (; kk + 4 <= k; kk += 4) acc = fma4(v128.load(arow + (<usize>kk << 2)), v128.load(brow + (<usize>kk << 2)), acc);
        let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; kk < k; kk++) sum += load<f32>(arow + (<usize>kk << 2)) * load<f32>(brow + (<usize>kk << 2));
        const ci = cb + ((<usize>i * ldc + j) << 2);
        store<f32>(ci, beta == 0 ? alpha * sum : load<f32>(ci) + alpha * sum);
      }
    }
  }
}

// C = alpha·op(A)·op(B) (+ C when accumulate), for `batch` matrices at the given float strides.
// op(A) is m×k, op(B) is k×n; lda/ldb/ldc are row strides in floats of the stored matrices.
// Threads split the column panels when there are enough of them, else the rows.
export function matmul(transA: i32, transB: i32, m: i32, n: i32, k: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, alpha: f32, accumulate: i32,
  batch: i32, strideA: i32, strideB: i32, strideC: i32, ws: usize, tid: i32, nth: i32): void {
  if (m <= SMALL_M && !(transA && transB)) {
    matmulFewRows(transA != 0, transB != 0, m, n, k, a, lda, b, ldb, c, ldc, alpha, accumulate, batch, strideA, strideB, strideC, tid, nth);
    return;
  }
  const panels = (n + 7) >> 3;
  const splitCols = panels >= nth * 4 || m < nth * 8;
  const p0 = splitCols ? share(panels, tid, nth, 1) : 0;
  const p1 = splitCols ? share(panels, tid + 1, nth, 1) : panels;
  const r0 = splitCols ? 0 : share(m, tid, nth, 4);
  const r1 = splitCols ? m : share(m, tid + 1, nth, 4);
  if (p0 >= p1 || r0 >= r1) return;
  const wsB = ws + <usize>tid * SCRATCH_BYTES;
  const wsA = wsB + (<usize>B_PACK_FLOATS << 2);
  const NCP = max(1, B_PACK_FLOATS / (min(KC, k) * 8));
  const tmp = wsA + (<usize>(MC * KC) << 2);
  const ldcB: usize = <usize>ldc << 2;
  for (let bi = 0; bi < batch; bi++) {
    const ab = a + (<usize>bi * strideA << 2);
    const bb = b + (<usize>bi * strideB << 2);
    const cb = c + (<usize>bi * strideC << 2);
    for (let pb = p0; pb < p1; pb += NCP) {
      const pe = min(pb + NCP, p1);
      for (let k0 = 0; k0 < k; k0 += KC) {
        const kc = min(KC, k - k0);
        const beta: f32 = (k0 > 0 || accumulate) ? 1 : 0;
        packB(bb, ldb, transB != 0, n, k0, kc, pb, pe, wsB);
        for (let i0 = r0; i0 < r1; i0 += MC) {
          const ie = min(i0 + MC, r1);
          packA(ab, lda, transA != 0, i0, ie, k0, kc, wsA);
          for (let p = pb; p < pe; p++) {
            const bp = wsB + (<usize>((p - pb) * kc) << 5);
            const j0 = p * 8;
            const cj = cb + (<usize>j0 << 2);
            const full = j0 + 8 <= n;
            for (let i = i0; i < ie; i += 4) {
              const ap = wsA + (<usize>((i - i0) * kc) << 2);
              const nr = min(4, ie - i);
              if (full && nr == 4) {
                kernel4x8T(ap, 16, bp, 32, kc, cj + <usize>i * ldcB, ldcB, alpha, beta);
                continue;
              }
              for (let r = 0; r < nr; r++) {
                const ci = cj + <usize>(i + r) * ldcB;
                if (full) { kernel1x8(ap + (<usize>r << 2), 16, bp, 32, kc, ci, alpha, beta); continue; }
                // Partial panel: compute 8 columns into tmp, store only the valid ones.
                kernel1x8(ap + (<usize>r << 2), 16, bp, 32, kc, tmp, alpha, 0);
                for (let jj = 0; jj < n - j0; jj++) {
                  const v = load<f32>(tmp + (<usize>jj << 2));
                  store<f32>(ci + (<usize>jj << 2), beta == 0 ? v : load<f32>(ci + (<usize>jj << 2)) + v);
                }
              }
            }
          }
        }
      }
    }
  }
}
