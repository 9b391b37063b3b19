// Row kernels of the dense attention path (used when a native BLAS computes the products): for one
// batch row, the raw scores S = Q·Kᵀ of every head are laid out as rows r = h·Tq + i of Tk floats;
// these kernels mask and normalise them, and form the score gradient. Visibility is the same rule
// as the fused kernel: key j is seen by query i iff (no causal, or kPos[j] ≤ qPos[i]) and (no
// validity, or kValid[j] ≠ 0). Each thread builds a row's additive mask (0 / −inf) in its scratch.
import { exp4, hsum4, share, SCRATCH_BYTES } from './common';

@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

/** The additive mask of query i into `bias` [Tk]; returns whether any key is visible. */
function maskRow(bias: usize, Tk: i32, causal: i32, qp: i32, kPos: usize, kValid: usize): bool {
  let any = false;
  for (let j = 0; j < Tk; j++) {
    const visible = (causal == 0 || load<i32>(at(kPos, j)) <= qp) && (kValid == 0 || load<u8>(kValid + <usize>j) != 0);
    store<f32>(at(bias, j), visible ? 0 : -Infinity);
    any = any || visible;
  }
  return any;
}

/**
 * rows = H·Tq rows of S [rows, Tk] (one batch row). given = 0: P = softmax(scale·S + mask) in
 * place and lse[r] = its logsumexp (−inf and a zero row when no key is visible). given = 1:
 * P = exp(scale·S + mask − lse[r]) with lse as given (a zero row for lse = −inf).
 * qPos [Tq], kPos/kValid [Tk] of this batch row (0 = no causal / no validity).
 */
export function attnSoftmaxRows(S: usize, rows: i32, Tq: i32, Tk: i32, scale: f32, qPos: usize, kPos: usize, kValid: usize, causal: i32,
  lse: usize, given: i32, scratch: usize, tid: i32, nth: i32): void {
  const bias = scratch + <usize>tid * SCRATCH_BYTES, vs = f32x4.splat(scale);
  const r1 = share(rows, tid + 1, nth, 1);
  for (let r = share(rows, tid, nth, 1); r < r1; r++) {
    const i = r % Tq, row = S + (<usize>r * Tk << 2);
    const qp = causal != 0 ? load<i32>(at(qPos, i)) : 0;
    let l: f32 = given != 0 ? load<f32>(at(lse, r)) : 0;
    if (!maskRow(bias, Tk, causal, qp, kPos, kValid) || l == -Infinity) {
      memory.fill(row, 0, <usize>Tk << 2);
      if (given == 0) store<f32>(at(lse, r), -Infinity);
      continue;
    }
    let j = 0;
    if (given == 0) {
      let mx = f32x4.splat(-Infinity), m: f32 = -Infinity;
      for (; j + 4 <= Tk; j += 4) mx = f32x4.max(mx, f32x4.add(f32x4.mul(v128.load(at(row, j)), vs), v128.load(at(bias, j))));
      for (; j < Tk; j++) m = max(m, load<f32>(at(row, j)) * scale + load<f32>(at(bias, j)));
      m = max(max(max(m, f32x4.extract_lane(mx, 0)), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
      const vm = f32x4.splat(m);
      let acc = f32x4.splat(0), tail: f32 = 0;
      for (j = 0; j + 4 <= Tk; j += 4) {
        const e = exp4(f32x4.sub(f32x4.add(f32x4.mul(v128.load(at(row, j)), vs), v128.load(at(bias, j))), vm));
        v128.store(at(row, j), e);
        acc = f32x4.add(acc, e);
      }
      for (; j < Tk; j++) {
        const e = Mathf.exp(load<f32>(at(row, j)) * scale + load<f32>(at(bias, j)) - m);
        store<f32>(at(row, j), e);
        tail += e;
      }
      const sum = hsum4(acc) + tail, inv = f32x4.splat(1 / sum);
      for (j = 0; j + 4 <= Tk; j += 4) v128.store(at(row, j), f32x4.mul(v128.load(at(row, j)), inv));
      for (; j < Tk; j++) store<f32>(at(row, j), load<f32>(at(row, j)) / sum);
      store<f32>(at(lse, r), m + Mathf.log(sum));
    } else {
      const vl = f32x4.splat(l);
      for (; j + 4 <= Tk; j += 4) {
        v128.store(at(row, j), exp4(f32x4.sub(f32x4.add(f32x4.mul(v128.load(at(row, j)), vs), v128.load(at(bias, j))), vl)));
      }
      for (; j < Tk; j++) store<f32>(at(row, j), Mathf.exp(load<f32>(at(row, j)) * scale + load<f32>(at(bias, j)) - l));
    }
  }
}

/**
 * dS = P ∘ (dP − δ)·scale in place in dP, with δ[r] = Σ_d dO·O of query i, head h (r = h·Tq + i);
 * dO, O of this batch row: [Tq, ldo] with head h at column h·D.
 */
export function attnSoftmaxGradRows(P: usize, dP: usize, rows: i32, Tq: i32, Tk: i32, D: i32, scale: f32, dO: usize, O: usize, ldo: i32,
  tid: i32, nth: i32): void {
  const r1 = share(rows, tid + 1, nth, 1), vs = f32x4.splat(scale);
  for (let r = share(rows, tid, nth, 1); r < r1; r++) {
    const h = r / Tq, i = r % Tq, o = <usize>(i * ldo + h * D) << 2;
    let delta: f32 = 0;
    for (let d = 0; d < D; d++) delta += load<f32>(dO + o + (<usize>d << 2)) * load<f32>(O + o + (<usize>d << 2));
    const vd = f32x4.splat(delta), p = P + (<usize>r * Tk << 2), g = dP + (<usize>r * Tk << 2);
    let j = 0;
    for (; j + 4 <= Tk; j += 4) v128.store(at(g, j), f32x4.mul(f32x4.mul(v128.load(at(p, j)), f32x4.sub(v128.load(at(g, j)), vd)), vs));
    for (; j < Tk; j++) store<f32>(at(g, j), load<f32>(at(p, j)) * (load<f32>(at(g, j)) - delta) * scale);
  }
}
