// Fused masked multi-head attention (flash-style): online softmax over key blocks, logsumexp saved
// for the backward, scores recomputed in the backward. Never materialises a Tq×Tk matrix: per
// thread only QB×KB score tiles and D×KB packed key/value tiles live in its scratch.
//
// Layout (strides in floats): element (b, t, h, d) of q is at q + 4*((b*Tq + t)*ldq + h*D + d);
// k, v likewise with Tk, ldk, ldv; o and dO with Tq, ldo; dq/dk/dv share q/k/v's strides.
// lse: [B, H, Tq]. qPos: i32 [B, Tq], kPos: i32 [B, Tk] (read when causal != 0);
// kValid: u8 [B, Tk] or 0 for all valid.
// Key j is visible to query i iff (!causal || kPos[j] <= qPos[i]) && kValid[j] != 0.
// A query with no visible key gets an all-zero output and lse = -inf (and zero gradients).
import { exp4, fma4, hsum4, share, SCRATCH_BYTES } from './common';
import { gemmBlockT } from './gemm';

// The host's BLAS (cblas_sgemm, row-major; byte addresses in this memory, strides in floats),
// present when the engine runs with a native BLAS in Node: with `native` set, the attention
// kernels hand their tile products to it, one single-threaded call per product from each thread
// (64×64×64 tiles run about twice as fast there as in 128-bit wasm SIMD). Hosts without one supply
// a function that throws; the kernels never call it with native = 0.
@external("env", "tileGemm")
declare function tileGemm(transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32, a: usize, lda: i32,
  b: usize, ldb: i32, beta: f32, c: usize, ldc: i32): void;

const QB: i32 = 64;
const KB: i32 = 64;
const KBB: usize = <usize>KB << 2;
const QBB: usize = <usize>QB << 2;
// Must equal MAX_HEAD_DIM in src/kernels/validate.ts (tile sizes in the scratch depend on it).
const MAX_HEAD_DIM: i32 = 256;

@inline function f32At(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

// p[j] = exp(p[j] - sub) in place; returns the sum.
export function expRowSub(p: usize, n: i32, sub: f32): f32 {
  const sv = f32x4.splat(sub);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = exp4(f32x4.sub(v128.load(p + (<usize>j << 2)), sv));
    v128.store(p + (<usize>j << 2), e);
    acc = f32x4.add(acc, e);
  }
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < n; j++) {
    const e = Mathf.exp(f32At(p, j) - sub);
    store<f32>(p + (<usize>j << 2), e);
    s += e;
  }
  return s;
}

export function scaleRow(p: usize, n: i32, s: f32): void {
  const sv = f32x4.splat(s);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), f32x4.mul(v128.load(p + (<usize>j << 2)), sv));
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), f32At(p, j) * s);
}

export function fillRow(p: usize, n: i32, x: f32): void {
  const xv = f32x4.splat(x);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), xv);
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), x);
}

export function dotRow(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = fma4(v128.load(a + (<usize>j << 2)), v128.load(b + (<usize>j << 2)), acc);
  let s = hsum4(acc);
  for (; j < n; j++) s += f32At(a, j) * f32At(b, j);
  return s;
}

// The largest of p[0..n) (−∞ for n = 0), NaN when any is NaN (as the reference's max propagates it:
// pmax alone would skip NaN lanes).
export function maxRow(p: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity), nan = i32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const x = v128.load(p + (<usize>j << 2));
    mv = f32x4.pmax(mv, x);
    nan = v128.or(nan, f32x4.ne(x, x));
  }
  let m = Mathf.max(Mathf.max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), Mathf.max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < n; j++) m = Mathf.max(m, f32At(p, j));
  return v128.any_true(nan) ? NaN : m;
}

// −1 (all bits) when key j is visible to the query at position pq, else 0.
@inline export function visibleKey(j: i32, kPos: usize, kValid: usize, pq: i32, causalFlag: i32): i32 {
  return (causalFlag == 0 || load<i32>(kPos + (<usize>j << 2)) <= pq) && (kValid == 0 || load<u8>(kValid + j) != 0) ? -1 : 0;
}

// dst[j] += w·src[j], four at a time (a multiply, then an add: the same floats as one at a time).
export function addScaledRow(dst: usize, src: usize, w: f32, n: i32): void {
  const wv = f32x4.splat(w);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(wv, v128.load(src + o))));
  }
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), f32At(dst, j) + w * f32At(src, j));
}

// dst[j] += src[j]
function addRow(dst: usize, src: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), f32At(dst, j) + f32At(src, j));
}

// dst[d][i] = row i of x (x + i*ldB bytes), for i < n and d < D; dst rows are dstB bytes apart.
// Four rows × four columns at a time are transposed with shuffles; the rest element by element.
function packTransposed(x: usize, ldB: usize, n: i32, D: i32, dst: usize, dstB: usize): void {
  const n4 = n & ~3, D4 = D & ~3;
  for (let i = 0; i < n4; i += 4) {
    const r0 = x + <usize>i * ldB, r1 = r0 + ldB, r2 = r1 + ldB, r3 = r2 + ldB;
    const out = dst + (<usize>i << 2);
    for (let d = 0; d < D4; d += 4) {
      const off = <usize>d << 2;
      const x0 = v128.load(r0 + off), x1 = v128.load(r1 + off), x2 = v128.load(r2 + off), x3 = v128.load(r3 + off);
      const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const o = out + <usize>d * dstB;
      v128.store(o, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
      v128.store(o + dstB, i32x4.shuffle(t0, t1, 2, 3, 6, 7));
      v128.store(o + dstB * 2, i32x4.shuffle(t2, t3, 0, 1, 4, 5));
      v128.store(o + dstB * 3, i32x4.shuffle(t2, t3, 2, 3, 6, 7));
    }
    for (let d = D4; d < D; d++) {
      for (let r = 0; r < 4; r++) store<f32>(dst + <usize>d * dstB + (<usize>(i + r) << 2), f32At(x + <usize>(i + r) * ldB, d));
    }
  }
  for (let i = n4; i < n; i++) {
    const row = x + <usize>i * ldB;
    for (let d = 0; d < D; d++) store<f32>(dst + <usize>d * dstB + (<usize>i << 2), f32At(row, d));
  }
}

// Minimum and maximum of an i32 run (positions of a query or key block).
@inline function posMin(p: usize, n: i32): i32 {
  let m = i32.MAX_VALUE;
  for (let j = 0; j < n; j++) m = min(m, load<i32>(p + (<usize>j << 2)));
  return m;
}
@inline function posMax(p: usize, n: i32): i32 {
  let m = i32.MIN_VALUE;
  for (let j = 0; j < n; j++) m = max(m, load<i32>(p + (<usize>j << 2)));
  return m;
}
function anyInvalid(valid: usize, n: i32): bool {
  for (let j = 0; j < n; j++) if (load<u8>(valid + j) == 0) return true;
  return false;
}

// Sets S[i][j] = -inf for the invisible (query, key) pairs of a tile.
function applyMask(S: usize, nq: i32, nk: i32, qp: usize, kp: usize, kv: usize, causal: bool): void {
  for (let i = 0; i < nq; i++) {
    const row = S + <usize>i * KBB;
    const pi = causal ? load<i32>(qp + (<usize>i << 2)) : 0;
    for (let j = 0; j < nk; j++) {
      let visible = true;
      if (causal && load<i32>(kp + (<usize>j << 2)) > pi) visible = false;
      if (kv != 0 && load<u8>(kv + j) == 0) visible = false;
      if (!visible) store<f32>(row + (<usize>j << 2), -Infinity);
    }
  }
}

// Decides how a (query block, key block) tile is masked: 0 = fully hidden (skip), 1 = no mask
// needed, 2 = apply the element mask.
function tileMode(causal: bool, qMin: i32, qMax: i32, kp: usize, kv: usize, nk: i32): i32 {
  let partial = false;
  if (causal) {
    if (posMin(kp, nk) > qMax) return 0;
    if (posMax(kp, nk) > qMin) partial = true;
  }
  if (kv != 0 && anyInvalid(kv, nk)) partial = true;
  return partial ? 2 : 1;
}

// Forward, per task (batch, head, block of QB queries), scores kept transposed: Sᵀ = K·Qᵀ (in
// wasm: Qᵀ packed once per task, Kᵀ per key block, so the micro-kernel reads both as adjacent
// values), the online softmax runs down the key axis with SIMD across 4 queries at a time, then
// O += P·V reads Sᵀ as a transposed A.
export function attentionForward(q: usize, k: usize, v: usize, o: usize, lse: usize,
  qPos: usize, kPos: usize, kValid: usize, B: i32, Tq: i32, Tk: i32, H: i32, D: i32,
  ldq: i32, ldk: i32, ldv: i32, ldo: i32, scale: f32, causalFlag: i32, native: i32, scratch: usize,
  tid: i32, nth: i32): void {
  const causal = causalFlag != 0;
  const ws = scratch + <usize>tid * SCRATCH_BYTES;
  const Qt = ws;                                   // D × QB (queries contiguous)
  const Kt = Qt + (<usize>MAX_HEAD_DIM * QBB);     // D × KB (keys contiguous)
  const St = Kt + (<usize>MAX_HEAD_DIM * KBB);     // KB × QB: scores, then probabilities
  const mrow = St + <usize>KB * QBB;               // QB running maxima
  const lrow = mrow + QBB;                         // QB running sums
  const crow = lrow + QBB;                         // QB rescale factors of the current block
  const nqb = (Tq + QB - 1) / QB;
  const tasks = B * H * nqb;
  const ldoB = <usize>ldo << 2;
  for (let task = tid; task < tasks; task += nth) {
    const qb = task % nqb;
    const bh = task / nqb;
    const h = bh % H, b = bh / H;
    const i0 = qb * QB;
    const nq = min(QB, Tq - i0);
    const nq4 = (nq + 3) & ~3;
    const qBase = q + ((<usize>(b * Tq + i0) * ldq + h * D) << 2);
    const oBase = o + ((<usize>(b * Tq + i0) * ldo + h * D) << 2);
    const qp = qPos + (<usize>(b * Tq + i0) << 2);
    const qMin = causal ? posMin(qp, nq) : 0, qMax = causal ? posMax(qp, nq) : 0;
    if (!native) {
      packTransposed(qBase, <usize>ldq << 2, nq, D, Qt, QBB);
      for (let d = 0; d < D; d++) for (let i = nq; i < nq4; i++) store<f32>(Qt + <usize>d * QBB + (<usize>i << 2), 0);
    }
    for (let i = 0; i < QB; i++) {
      store<f32>(mrow + (<usize>i << 2), -Infinity);
      store<f32>(lrow + (<usize>i << 2), 0);
    }
    for (let i = 0; i < nq; i++) fillRow(oBase + <usize>i * ldoB, D, 0);
    for (let j0 = 0; j0 < Tk; j0 += KB) {
      const nk = min(KB, Tk - j0);
      const kp = kPos + (<usize>(b * Tk + j0) << 2);
      const kv: usize = kValid == 0 ? <usize>0 : kValid + <usize>(b * Tk + j0);
      const mode = tileMode(causal, qMin, qMax, kp, kv, nk);
      if (mode == 0) continue;
      const kBase = k + ((<usize>(b * Tk + j0) * ldk + h * D) << 2);
      const vBase = v + ((<usize>(b * Tk + j0) * ldv + h * D) << 2);
      if (native) {
        tileGemm(0, 1, nk, nq, D, scale, kBase, ldk, qBase, ldq, 0, St, QB);
        for (let j = 0; j < nk; j++) for (let i = nq; i < nq4; i++) store<f32>(St + <usize>j * QBB + (<usize>i << 2), 0);
      } else {
        packTransposed(kBase, <usize>ldk << 2, nk, D, Kt, KBB);
        gemmBlockT(nk, nq4, D, Kt, KBB, Qt, QBB, St, QBB, scale, 0);
      }
      if (mode == 2) applyMaskTransposed(St, nq, nk, qp, kp, kv, causal);
      onlineSoftmaxColumns(St, nk, nq4, mrow, lrow, crow);
      for (let i = 0; i < nq; i++) {
        const corr = load<f32>(crow + (<usize>i << 2));
        if (corr != 1) scaleRow(oBase + <usize>i * ldoB, D, corr);
      }
      if (native) tileGemm(1, 0, nq, D, nk, 1, St, QB, vBase, ldv, 1, oBase, ldo);
      else gemmBlockT(nq, D, nk, St, QBB, vBase, <usize>ldv << 2, oBase, ldoB, 1, 1);
    }
    const lseBase = lse + (<usize>((b * H + h) * Tq + i0) << 2);
    for (let i = 0; i < nq; i++) {
      const l = load<f32>(lrow + (<usize>i << 2));
      const orow = oBase + <usize>i * ldoB;
      if (l == 0) {
        fillRow(orow, D, 0);
        store<f32>(lseBase + (<usize>i << 2), -Infinity);
      } else {
        scaleRow(orow, D, 1 / l);
        store<f32>(lseBase + (<usize>i << 2), load<f32>(mrow + (<usize>i << 2)) + Mathf.log(l));
      }
    }
  }
}

// Sᵀ[j][i] = -inf for the invisible (query i, key j) pairs of a tile.
function applyMaskTransposed(St: usize, nq: i32, nk: i32, qp: usize, kp: usize, kv: usize, causal: bool): void {
  for (let j = 0; j < nk; j++) {
    const row = St + <usize>j * QBB;
    const invalid = kv != 0 && load<u8>(kv + j) == 0;
    const pj = causal ? load<i32>(kp + (<usize>j << 2)) : 0;
    for (let i = 0; i < nq; i++) {
      if (invalid || (causal && pj > load<i32>(qp + (<usize>i << 2)))) store<f32>(row + (<usize>i << 2), -Infinity);
    }
  }
}

// One key block of the online softmax, 4 queries per vector: new max m' = max(m, max_j S[j]),
// P = exp(S − m'), l = l·exp(m − m') + Σ_j P; the factor exp(m − m') goes to corr for the output
// rows. A query whose scores are all −inf so far keeps m = −inf, P = 0, l = 0.
function onlineSoftmaxColumns(St: usize, nk: i32, nq4: i32, mrow: usize, lrow: usize, crow: usize): void {
  const ninf = f32x4.splat(-Infinity), zero = f32x4.splat(0);
  for (let i = 0; i < nq4; i += 4) {
    const col = St + (<usize>i << 2);
    // Two independent chains; pmax is one instruction (scores are never NaN unless inputs are).
    let mx = ninf, mx2 = ninf;
    let j = 0;
    for (; j + 2 <= nk; j += 2) {
      mx = f32x4.pmax(mx, v128.load(col + <usize>j * QBB));
      mx2 = f32x4.pmax(mx2, v128.load(col + <usize>j * QBB + QBB));
    }
    if (j < nk) mx = f32x4.pmax(mx, v128.load(col + <usize>j * QBB));
    const mOld = v128.load(mrow + (<usize>i << 2));
    const mNew = f32x4.pmax(mOld, f32x4.pmax(mx, mx2));
    const mSafe = v128.bitselect(zero, mNew, f32x4.eq(mNew, ninf));
    let sum = zero;
    for (let j = 0; j < nk; j++) {
      const e = exp4(f32x4.sub(v128.load(col + <usize>j * QBB), mSafe));
      v128.store(col + <usize>j * QBB, e);
      sum = f32x4.add(sum, e);
    }
    const corr = exp4(f32x4.sub(mOld, mSafe));
    v128.store(crow + (<usize>i << 2), corr);
    v128.store(lrow + (<usize>i << 2), fma4(v128.load(lrow + (<usize>i << 2)), corr, sum));
    v128.store(mrow + (<usize>i << 2), mNew);
  }
}

// Gradients, accumulated (+=) into dq, dk, dv. One thread owns a whole (batch, head) pair, so
// the dq/dk/dv rows it writes are its own: no atomics and no reduction buffers. In wasm, Kᵀ and
// Vᵀ are packed per key block, Qᵀ, dOᵀ and dSᵀ per tile (the BLAS path reads them in place).
export function attentionBackward(q: usize, k: usize, v: usize, o: usize, lse: usize, dO: usize,
  dq: usize, dk: usize, dv: usize, qPos: usize, kPos: usize, kValid: usize,
  B: i32, Tq: i32, Tk: i32, H: i32, D: i32, ldq: i32, ldk: i32, ldv: i32, ldo: i32,
  scale: f32, causalFlag: i32, native: i32, scratch: usize, tid: i32, nth: i32): void {
  const causal = causalFlag != 0;
  const ws = scratch + <usize>tid * SCRATCH_BYTES;
  const tileB = <usize>MAX_HEAD_DIM * KBB;
  const Kt = ws, Vt = Kt + tileB;                  // D × KB each (keys contiguous)
  const dKacc = Vt + tileB, dVacc = dKacc + tileB; // KB × D each (row stride D)
  const P = dVacc + tileB;                         // QB × KB: probabilities
  const dP = P + <usize>QB * KBB;                  // QB × KB: dP, then dS
  const dSt = dP + <usize>QB * KBB;                // KB × QB: dS transposed
  const Qt = dSt + <usize>KB * QBB;                // D × QB each (queries contiguous)
  const dOt = Qt + <usize>MAX_HEAD_DIM * QBB;
  const ldqB = <usize>ldq << 2, ldkB = <usize>ldk << 2, ldvB = <usize>ldv << 2, ldoB = <usize>ldo << 2;
  const DB = <usize>D << 2;
  for (let bh = tid; bh < B * H; bh += nth) {
    const h = bh % H, b = bh / H;
    for (let j0 = 0; j0 < Tk; j0 += KB) {
      const nk = min(KB, Tk - j0);
      const kp = kPos + (<usize>(b * Tk + j0) << 2);
      const kv: usize = kValid == 0 ? <usize>0 : kValid + <usize>(b * Tk + j0);
      const kBase = k + ((<usize>(b * Tk + j0) * ldk + h * D) << 2);
      const vBase = v + ((<usize>(b * Tk + j0) * ldv + h * D) << 2);
      if (!native) {
        packTransposed(kBase, ldkB, nk, D, Kt, KBB);
        packTransposed(vBase, ldvB, nk, D, Vt, KBB);
      }
      memory.fill(dKacc, 0, <usize>nk * DB);
      memory.fill(dVacc, 0, <usize>nk * DB);
      for (let i0 = 0; i0 < Tq; i0 += QB) {
        const nq = min(QB, Tq - i0);
        const qp = qPos + (<usize>(b * Tq + i0) << 2);
        const mode = tileMode(causal, causal ? posMin(qp, nq) : 0, causal ? posMax(qp, nq) : 0, kp, kv, nk);
        if (mode == 0) continue;
        const rowOff = <usize>(b * Tq + i0);
        const qBase = q + ((rowOff * ldq + h * D) << 2);
        const oBase = o + ((rowOff * ldo + h * D) << 2);
        const dOBase = dO + ((rowOff * ldo + h * D) << 2);
        const dqBase = dq + ((rowOff * ldq + h * D) << 2);
        const lseBase = lse + (<usize>((b * H + h) * Tq + i0) << 2);
        // P = exp(scale·Q·Kᵀ − lse), masked.
        if (native) tileGemm(0, 1, nq, nk, D, scale, qBase, ldq, kBase, ldk, 0, P, KB);
        else {
          packTransposed(qBase, ldqB, nq, D, Qt, QBB);
          packTransposed(dOBase, ldoB, nq, D, dOt, QBB);
          gemmBlockT(nq, nk, D, Qt, QBB, Kt, KBB, P, KBB, scale, 0);
        }
        if (mode == 2) applyMask(P, nq, nk, qp, kp, kv, causal);
        for (let i = 0; i < nq; i++) {
          const l = load<f32>(lseBase + (<usize>i << 2));
          if (l == -Infinity) fillRow(P + <usize>i * KBB, nk, 0);
          else expRowSub(P + <usize>i * KBB, nk, l);
        }
        // dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P∘(dP − rowsum(O∘dO)).
        if (native) {
          tileGemm(1, 0, nk, D, nq, 1, P, KB, dOBase, ldo, 1, dVacc, D);
          tileGemm(0, 1, nq, nk, D, 1, dOBase, ldo, vBase, ldv, 0, dP, KB);
        } else {
          gemmBlockT(nk, D, nq, P, KBB, dOBase, ldoB, dVacc, DB, 1, 1);
          gemmBlockT(nq, nk, D, dOt, QBB, Vt, KBB, dP, KBB, 1, 0);
        }
        for (let i = 0; i < nq; i++) {
          const orow = oBase + <usize>i * ldoB, drow = dOBase + <usize>i * ldoB;
          const delta = dotRow(orow, drow, D);
          const pr = P + <usize>i * KBB, dpr = dP + <usize>i * KBB;
          const dv4 = f32x4.splat(delta);
          let j = 0;
          for (; j + 4 <= nk; j += 4) {
            const off = <usize>j << 2;
            v128.store(dpr + off, f32x4.mul(v128.load(pr + off), f32x4.sub(v128.load(dpr + off), dv4)));
          }
          for (; j < nk; j++) store<f32>(dpr + (<usize>j << 2), f32At(pr, j) * (f32At(dpr, j) - delta));
        }
        // dK += scale·dSᵀ·Q; dQ += scale·dS·K (through dSᵀ, so both read A as adjacent rows).
        if (native) {
          tileGemm(1, 0, nk, D, nq, scale, dP, KB, qBase, ldq, 1, dKacc, D);
          tileGemm(0, 0, nq, D, nk, scale, dP, KB, kBase, ldk, 1, dqBase, ldq);
        } else {
          gemmBlockT(nk, D, nq, dP, KBB, qBase, ldqB, dKacc, DB, scale, 1);
          packTransposed(dP, KBB, nq, nk, dSt, QBB);
          gemmBlockT(nq, D, nk, dSt, QBB, kBase, ldkB, dqBase, ldqB, scale, 1);
        }
      }
      const dkBase = dk + ((<usize>(b * Tk + j0) * ldk + h * D) << 2);
      const dvBase = dv + ((<usize>(b * Tk + j0) * ldv + h * D) << 2);
      for (let j = 0; j < nk; j++) {
        addRow(dkBase + <usize>j * ldkB, dKacc + <usize>j * DB, D);
        addRow(dvBase + <usize>j * ldvB, dVacc + <usize>j * DB, D);
      }
    }
  }
}

// ---- Merging results over disjoint key sets (keys processed in chunks) -------------------------
// For each (b, i, h): lse' = log(e^lse + e^lse2), o' = e^(lse − lse')·o + e^(lse2 − lse')·o2.
// o, o2: [B·Tq, ldo]; lse, lse2: [B, H, Tq]. Threads split the B·Tq rows.
export function attentionMerge(o: usize, lse: usize, o2: usize, lse2: usize, B: i32, Tq: i32, H: i32, D: i32, ldo: i32,
  tid: i32, nth: i32): void {
  const rows = B * Tq, r1 = share(rows, tid + 1, nth, 1);
  for (let r = share(rows, tid, nth, 1); r < r1; r++) {
    const b = r / Tq, i = r % Tq;
    for (let h = 0; h < H; h++) {
      const li = lse + (<usize>((b * H + h) * Tq + i) << 2), li2 = lse2 + (<usize>((b * H + h) * Tq + i) << 2);
      const a = load<f32>(li), c = load<f32>(li2);
      if (c == -Infinity) continue;
      const m = Mathf.max(a, c);
      const l = m + Mathf.log(Mathf.exp(a - m) + Mathf.exp(c - m));
      const wa: f32 = a == -Infinity ? 0 : Mathf.exp(a - l), wc = Mathf.exp(c - l);
      const off = (<usize>r * ldo + h * D) << 2;
      const va = f32x4.splat(wa), vc = f32x4.splat(wc);
      let d = 0;
      for (; d + 4 <= D; d += 4) {
        const p = o + off + (<usize>d << 2), p2 = o2 + off + (<usize>d << 2);
        v128.store(p, f32x4.add(f32x4.mul(va, v128.load(p)), f32x4.mul(vc, v128.load(p2))));
      }
      for (; d < D; d++) {
        const p = o + off + (<usize>d << 2), p2 = o2 + off + (<usize>d << 2);
        store<f32>(p, wa * load<f32>(p) + wc * load<f32>(p2));
      }
      store<f32>(li, l);
    }
  }
}
