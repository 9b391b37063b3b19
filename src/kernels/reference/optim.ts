// Reference loss and optimiser kernels.
import type { AdamWStep, CrossEntropyDims } from '../types.js';
import { checkAdamW, checkCrossEntropy, sameLength } from '../validate.js';
import type { Floats } from './floats.js';

export function crossEntropyForward(d: CrossEntropyDims, logits: Floats, targets: Int32Array, loss: Floats, lse: Floats): void {
  const { rows: R, vocab: V } = d;
  checkCrossEntropy('crossEntropyForward', R, V, logits, targets, { loss, lse }, d.ignoreIndex);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let j = 0; j < V; j++) { const x = logits[r * V + j]!; if (!(x <= m)) m = x; }
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[r * V + j]! - m);
    const l = m + Math.log(s);
    lse[r] = l;
    const t = targets[r]!;
    loss[r] = t === d.ignoreIndex ? 0 : l - logits[r * V + t]! + d.zLoss * l * l;
  }
}

export function crossEntropyBackward(d: CrossEntropyDims, logits: Floats, targets: Int32Array, lse: Floats, dLogits: Floats, gradScale: number): void {
  const { rows: R, vocab: V } = d;
  checkCrossEntropy('crossEntropyBackward', R, V, logits, targets, { lse }, d.ignoreIndex);
  for (let r = 0; r < R; r++) {
    const t = targets[r]!;
    if (t === d.ignoreIndex) continue;
    const l = lse[r]!, f = gradScale * (1 + 2 * d.zLoss * l);
    for (let j = 0; j < V; j++) dLogits[r * V + j] = dLogits[r * V + j]! + Math.exp(logits[r * V + j]! - l) * f;
    dLogits[r * V + t] = dLogits[r * V + t]! - gradScale;
  }
}

export function adamw(s: AdamWStep, params: Floats, grads: Floats, m: Floats, v: Floats): void {
  const n = sameLength('adamw', ['params', 'grads', 'm', 'v'], [params, grads, m, v]);
  checkAdamW('adamw', s);
  const bc1 = 1 - Math.pow(s.beta1, s.step), bc2 = 1 - Math.pow(s.beta2, s.step), gs = s.gradScale ?? 1;
  for (let i = 0; i < n; i++) {
    const g = grads[i]! * gs;
    m[i] = s.beta1 * m[i]! + (1 - s.beta1) * g;
    v[i] = s.beta2 * v[i]! + (1 - s.beta2) * g * g;
    const p = params[i]!;
    params[i] = p - s.lr * ((m[i]! / bc1) / (Math.sqrt(v[i]! / bc2) + s.eps) + s.weightDecay * p);
  }
}

export function sumSquares(x: Floats): number {
  sameLength('sumSquares', ['x'], [x]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}
