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
 * `loss` at four elements of every parameter — first, middle, last, and the one with the largest
 * analytic gradient (so sparse gradients, like an embedding table's used rows, are exercised too) —
 * each within 2e-3 + 5e-2·|numeric|. Returns how many were checked, how many analytic values were
 * non-zero, and the parameters with a non-zero checked gradient.
 */
export function checkParamGradients(params: { readonly list: readonly { readonly spec: { readonly name: string }; readonly size: number;
  readonly value: Float32Array; readonly grad: Float32Array }[] }, loss: () => number, label: string, h: number):
  { checked: number; nonzero: number; exercised: Set<string> } {
  let checked = 0, nonzero = 0;
  const exercised = new Set<string>();
  for (const p of params.list) {
    let largest = 0;
    for (let i = 1; i < p.size; i++) if (Math.abs(p.grad[i]!) > Math.abs(p.grad[largest]!)) largest = i;
    for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1, largest])) {
      const analytic = p.grad[i]!;
      const numericAt = (step: number): number => {
        const x = p.value[i]!;
        p.value[i] = x + step;
        const up = loss();
        p.value[i] = x - step;
        const down = loss();
        p.value[i] = x;
        return (up - down) / (2 * step);
      };
      const agrees = (numeric: number): boolean => Math.abs(numeric - analytic) <= 2e-3 + 5e-2 * Math.abs(numeric);
      // Hard decisions (a top-K choice, a halting step) can flip inside ±h and make one difference
      // meaningless; a wrong gradient disagrees at every step, so smaller steps get a second say.
      const tried: number[] = [];
      for (const step of [h, h / 10, h / 30]) {
        tried.push(numericAt(step));
        if (agrees(tried[tried.length - 1]!)) break;
      }
      if (!agrees(tried[tried.length - 1]!)) {
        throw new Error(`${label}: ${p.spec.name}[${i}] analytic ${analytic} vs finite differences ${tried.join(', ')} (h = ${h}, ${h / 10}, ${h / 30})`);
      }
      checked++;
      if (analytic !== 0) { nonzero++; exercised.add(p.spec.name); }
    }
  }
  return { checked, nonzero, exercised };
}
