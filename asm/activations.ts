// Element-wise activations; kind: 0 squared ReLU, 1 GELU (tanh form), 2 exact GELU x·Φ(x) with erf
// from Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7). activateRange is shared by the
// activation kernel and the bf16 product's fused epilogue (asm/half.ts). The vector forms work
// lane by lane, so an element's value depends only on which form it takes: the activation kernel
// over n elements takes the vector form for the first n − n mod 4 and the scalar form for the rest,
// and the epilogue makes the same choice per element whatever the threads' shares, so both give
// the same floats for any thread count.
import { exp4, fma4, share } from './common';

@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

const GELU_K: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;

@inline function tanh4(u: v128): v128 {
  // tanh(u) = 1 - 2/(exp(2u) + 1); exact ±1 in the saturated range.
  const e = exp4(f32x4.add(u, u));
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
}

const ERF_P: f32 = 0.3275911;
const ERF_A1: f32 = 0.254829592, ERF_A2: f32 = -0.284496736, ERF_A3: f32 = 1.421413741, ERF_A4: f32 = -1.453152027, ERF_A5: f32 = 1.061405429;
const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/** Φ(v) = ½(1 + erf(v/√2)) given v and e = exp(−v²/2) (A&S 7.1.26 on |v|/√2, reflected for v < 0). */
@inline function phi4(v: v128, e: v128): v128 {
  const a = f32x4.mul(f32x4.abs(v), f32x4.splat(INV_SQRT2));
  const t = f32x4.div(f32x4.splat(1), fma4(f32x4.splat(ERF_P), a, f32x4.splat(1)));
  let poly = fma4(f32x4.splat(ERF_A5), t, f32x4.splat(ERF_A4));
  poly = fma4(poly, t, f32x4.splat(ERF_A3));
  poly = fma4(poly, t, f32x4.splat(ERF_A2));
  poly = fma4(poly, t, f32x4.splat(ERF_A1));
  const tail = f32x4.mul(f32x4.mul(f32x4.mul(poly, t), e), f32x4.splat(0.5)); // ½·erfc(|v|/√2)
  return v128.bitselect(tail, f32x4.sub(f32x4.splat(1), tail), f32x4.lt(v, f32x4.splat(0)));
}

@inline function phi(v: f32, e: f32): f32 {
  const t: f32 = 1 / (1 + ERF_P * Mathf.abs(v) * INV_SQRT2);
  const tail: f32 = 0.5 * ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * e;
  return v < 0 ? tail : 1 - tail;
}

@inline function halfSquareExp4(v: v128): v128 { return exp4(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(v, v))); }

@inline function activate4(kind: i32, v: v128): v128 {
  if (kind == 0) { const p = f32x4.max(v, f32x4.splat(0)); return f32x4.mul(p, p); }
  if (kind == 2) return f32x4.mul(v, phi4(v, halfSquareExp4(v)));
  const u = f32x4.mul(f32x4.splat(GELU_K), fma4(f32x4.mul(f32x4.splat(GELU_A), v), f32x4.mul(v, v), v));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), v), f32x4.add(f32x4.splat(1), tanh4(u)));
}

@inline function activate1(kind: i32, v: f32): f32 {
  if (kind == 0) { const p = Mathf.max(v, 0); return p * p; }
  if (kind == 2) return v * phi(v, Mathf.exp(-0.5 * v * v));
  return 0.5 * v * (1 + Mathf.tanh(GELU_K * (v + GELU_A * v * v * v)));
}

/** y[i] = act(x[i]) for i < n (x and y may be the same): the vector form for i < nVector, the scalar form after. */
export function activateRange(kind: i32, x: usize, y: usize, n: i32, nVector: i32): void {
  let i = 0;
  for (; i + 4 <= nVector; i += 4) v128.store(at(y, i), activate4(kind, v128.load(at(x, i))));
  for (; i < nVector; i++) store<f32>(at(y, i), f32x4.extract_lane(activate4(kind, f32x4.splat(load<f32>(at(x, i)))), 0));
  for (; i < n; i++) store<f32>(at(y, i), activate1(kind, load<f32>(at(x, i))));
}

export function activationForward(kind: i32, x: usize, y: usize, n: i32, tid: i32, nth: i32): void {
  const i0 = share(n, tid, nth, 4), i1 = share(n, tid + 1, nth, 4);
  const vectorEnd = n & ~3;
  activateRange(kind, at(x, i0), at(y, i0), i1 - i0, max(0, min(i1, vectorEnd) - i0));
}

@inline function activationGrad(kind: i32, v: f32): f32 {
  if (kind == 0) return v > 0 ? 2 * v : 0;
  if (kind == 2) { const e = Mathf.exp(-0.5 * v * v); return phi(v, e) + v * e * INV_SQRT_2PI; }
  const t = Mathf.tanh(GELU_K * (v + GELU_A * v * v * v));
  return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * GELU_A * v * v);
}

export function activationBackward(kind: i32, x: usize, dy: usize, dx: usize, n: i32, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  let i = share(n, tid, nth, 4);
  const zero = f32x4.splat(0), half = f32x4.splat(0.5), one = f32x4.splat(1);
  for (; i + 4 <= i1; i += 4) {
    const v = v128.load(at(x, i));
    let g: v128;
    if (kind == 0) g = f32x4.mul(f32x4.splat(2), f32x4.max(v, zero));
    else if (kind == 2) { const e = halfSquareExp4(v); g = fma4(f32x4.mul(v, e), f32x4.splat(INV_SQRT_2PI), phi4(v, e)); }
    else {
      const v2 = f32x4.mul(v, v);
      const t = tanh4(f32x4.mul(f32x4.splat(GELU_K), fma4(f32x4.mul(f32x4.splat(GELU_A), v), v2, v)));
      const du = f32x4.mul(f32x4.splat(GELU_K), fma4(f32x4.splat(3 * GELU_A), v2, one));
      g = f32x4.add(f32x4.mul(half, f32x4.add(one, t)), f32x4.mul(f32x4.mul(f32x4.mul(half, v), f32x4.sub(one, f32x4.mul(t, t))), du));
    }
    v128.store(at(dx, i), fma4(v128.load(at(dy, i)), g, v128.load(at(dx, i))));
  }
  for (; i < i1; i++) store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * activationGrad(kind, load<f32>(at(x, i))));
}
