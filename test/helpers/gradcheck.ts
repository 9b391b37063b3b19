import { assertClose } from './compare.js';

/**
 * Central finite differences in float64: for each input x_i (every element, or a sample of
 * `samples` elements), (L(x + h·e_i) − L(x − h·e_i)) / 2h must match the analytic gradient.
 */
export function gradcheck(label: string, loss: () => number, input: Float64Array, analytic: Float64Array,
  opts: { h?: number; atol?: number; rtol?: number; samples?: number } = {}): void {
  const h = opts.h ?? 1e-6;
  const n = input.length;
  const idx = opts.samples && opts.samples < n
    ? Array.from({ length: opts.samples }, (_, i) => Math.floor((i * n) / opts.samples!))
    : Array.from({ length: n }, (_, i) => i);
  const numeric = new Float64Array(idx.length), picked = new Float64Array(idx.length);
  idx.forEach((i, j) => {
    const x = input[i]!;
    input[i] = x + h;
    const up = loss();
    input[i] = x - h;
    const down = loss();
    input[i] = x;
    numeric[j] = (up - down) / (2 * h);
    picked[j] = analytic[i]!;
  });
  assertClose(picked, numeric, `${label} (analytic vs finite differences)`, opts.atol ?? 1e-6, opts.rtol ?? 1e-5);
}

/** Σ w_i·y_i: a scalar loss whose gradient wrt y is w, for checking backward passes. */
export function weightedSum(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
  return s;
}

/**
 * A model's analytic parameter gradients (already in params.grad) against central differences of
 * `loss` at three elements of every parameter (first, middle, last), each within
 * 2e-3 + 5e-2·|numeric|. Returns how many were checked and how many analytic values were non-zero.
 */
export function checkParamGradients(params: { readonly list: readonly { readonly spec: { readonly name: string }; readonly size: number;
  readonly value: Float32Array; readonly grad: Float32Array }[] }, loss: () => number, label: string, h: number): { checked: number; nonzero: number } {
  let checked = 0, nonzero = 0;
  for (const p of params.list) {
    for (const i of [0, Math.floor(p.size / 2), p.size - 1]) {
      const x = p.value[i]!;
      p.value[i] = x + h;
      const up = loss();
      p.value[i] = x - h;
      const down = loss();
      p.value[i] = x;
      const numeric = (up - down) / (2 * h), analytic = p.grad[i]!;
      if (!(Math.abs(numeric - analytic) <= 2e-3 + 5e-2 * Math.abs(numeric))) {
        throw new Error(`${label}: ${p.spec.name}[${i}] analytic ${analytic} vs finite differences ${numeric}`);
      }
      checked++;
      if (analytic !== 0) nonzero++;
    }
  }
  return { checked, nonzero };
}
