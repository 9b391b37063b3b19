// Loss, optimiser and reduction kernels.
import { exp4, share } from './common';

@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// ---- softmax cross-entropy with z-loss over logits [R, V] and targets i32 [R] ----
// loss[r] = lse - logits[target] + zLoss·lse²; rows whose target == ignoreIndex get loss 0 and
// lse is still saved. Saves lse[R] for the backward.
export function crossEntropyForward(logits: usize, targets: usize, loss: usize, lse: usize,
  R: i32, V: i32, ignoreIndex: i32, zLoss: f32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const row = logits + (<usize>r * V << 2);
    let m: f32 = -Infinity;
    for (let j = 0; j < V; j++) m = Mathf.max(m, load<f32>(at(row, j)));
    let s: f64 = 0;
    let j = 0;
    const mv = f32x4.splat(m);
    for (; j + 4 <= V; j += 4) {
      const e = exp4(f32x4.sub(v128.load(at(row, j)), mv));
      s += <f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1) + <f64>f32x4.extract_lane(e, 2) + <f64>f32x4.extract_lane(e, 3);
    }
    for (; j < V; j++) s += <f64>Mathf.exp(load<f32>(at(row, j)) - m);
    const l = m + <f32>Math.log(s);
    store<f32>(at(lse, r), l);
    const t = load<i32>(at(targets, r));
    store<f32>(at(loss, r), t == ignoreIndex ? 0 : l - load<f32>(at(row, t)) + zLoss * l * l);
  }
}

// dlogits[r] += scale·(softmax·(1 + 2·zLoss·lse) - onehot(target)) for rows not ignored.
export function crossEntropyBackward(logits: usize, targets: usize, lse: usize, dlogits: usize,
  R: i32, V: i32, ignoreIndex: i32, zLoss: f32, gradScale: f32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const t = load<i32>(at(targets, r));
    if (t == ignoreIndex) continue;
    const row = logits + (<usize>r * V << 2), drow = dlogits + (<usize>r * V << 2);
    const l = load<f32>(at(lse, r));
    const lv = f32x4.splat(l);
    const fv = f32x4.splat(gradScale * (1 + 2 * zLoss * l));
    let j = 0;
    for (; j + 4 <= V; j += 4) {
      const p = exp4(f32x4.sub(v128.load(at(row, j)), lv));
      v128.store(at(drow, j), f32x4.add(v128.load(at(drow, j)), f32x4.mul(p, fv)));
    }
    const f = gradScale * (1 + 2 * zLoss * l);
    for (; j < V; j++) store<f32>(at(drow, j), load<f32>(at(drow, j)) + Mathf.exp(load<f32>(at(row, j)) - l) * f);
    store<f32>(at(drow, t), load<f32>(at(drow, t)) - gradScale);
  }
}

// ---- AdamW over a flat arena of n parameters (decoupled weight decay) ----
// g' = gradScale·g; m = b1·m + (1-b1)·g'; v = b2·v + (1-b2)·g'²;
// p -= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·p), with bc1 = 1-b1^t, bc2 = 1-b2^t.
export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f32, b1: f32, b2: f32,
  eps: f32, wd: f32, bc1: f32, bc2: f32, gradScale: f32, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  let i = share(n, tid, nth, 4);
  const vb1 = f32x4.splat(b1), vb1c = f32x4.splat(1 - b1), vb2 = f32x4.splat(b2), vb2c = f32x4.splat(1 - b2);
  const vgs = f32x4.splat(gradScale), vibc1 = f32x4.splat(1 / bc1), vibc2 = f32x4.splat(1 / bc2);
  const veps = f32x4.splat(eps), vlr = f32x4.splat(lr), vwd = f32x4.splat(wd);
  for (; i + 4 <= i1; i += 4) {
    const gg = f32x4.mul(v128.load(at(g, i)), vgs);
    const mm = f32x4.add(f32x4.mul(vb1, v128.load(at(m, i))), f32x4.mul(vb1c, gg));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(at(v, i))), f32x4.mul(vb2c, f32x4.mul(gg, gg)));
    v128.store(at(m, i), mm);
    v128.store(at(v, i), vv);
    const pp = v128.load(at(p, i));
    const upd = f32x4.add(f32x4.div(f32x4.mul(mm, vibc1), f32x4.add(f32x4.sqrt(f32x4.mul(vv, vibc2)), veps)), f32x4.mul(vwd, pp));
    v128.store(at(p, i), f32x4.sub(pp, f32x4.mul(vlr, upd)));
  }
  for (; i < i1; i++) {
    const gg = load<f32>(at(g, i)) * gradScale;
    const mm = b1 * load<f32>(at(m, i)) + (1 - b1) * gg;
    const vv = b2 * load<f32>(at(v, i)) + (1 - b2) * gg * gg;
    store<f32>(at(m, i), mm);
    store<f32>(at(v, i), vv);
    const pp = load<f32>(at(p, i));
    store<f32>(at(p, i), pp - lr * ((mm / bc1) / (Mathf.sqrt(vv / bc2) + eps) + wd * pp));
  }
}

// Thread tid's partial Σ x², in f64, written to out[tid] (f64 slots).
export function sumSquares(x: usize, n: i32, out: usize, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  let i = share(n, tid, nth, 4);
  let s: f64 = 0;
  // f32 vector partials, flushed to f64 every 1024 elements to keep long sums accurate.
  while (i + 4 <= i1) {
    let acc = f32x4.splat(0);
    const e = min(i1 & ~3, i + 1024);
    for (; i + 4 <= e; i += 4) { const v = v128.load(at(x, i)); acc = f32x4.add(acc, f32x4.mul(v, v)); }
    s += <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  }
  for (; i < i1; i++) { const v = <f64>load<f32>(at(x, i)); s += v * v; }
  store<f64>(out + (<usize>tid << 3), s);
}
