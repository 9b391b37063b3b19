// A linear layer y = x·W + b as a forward/backward pair over the kernel set. W is stored
// [in, out] (row-major), so the forward is a plain matmul and the backward two transposed ones.
import type { F32, KernelSet } from '../kernels/types.js';

export interface LinearParams {
  readonly w: F32;
  readonly b: F32 | null;
  readonly dw: F32;
  readonly db: F32 | null;
  readonly inDim: number;
  readonly outDim: number;
  /** W packed as bf16 (kernels/bf16.ts) when the model decodes with bf16 weights; else null. */
  readonly w16: Uint16Array | null;
}

/** Products of at most this many rows (decoding) read the bf16 copy of W when there is one. */
export const BF16_MAX_ROWS = 8;

/** y[rows, out] = x[rows, in]·W (+ b); `ldy` lets y be a column slice of a wider buffer. */
export function linearForward(k: KernelSet, p: LinearParams, rows: number, x: F32, y: F32): void {
  const w16 = p.w16;
  if (w16 && rows <= BF16_MAX_ROWS) {
    k.matmulBf16({ m: rows, n: p.outDim, k: p.inDim }, x, w16, p.b, y);
    return;
  }
  k.matmul({ m: rows, n: p.outDim, k: p.inDim }, x, p.w, y);
  if (p.b) k.biasAddForward(rows, p.outDim, y, p.b);
}

/**
 * dx += dy·Wᵀ (when dx is given; dx = dy·Wᵀ with overwriteDx, which saves the caller zeroing it);
 * dW += xᵀ·dy; db += Σ dy.
 */
export function linearBackward(k: KernelSet, p: LinearParams, rows: number, x: F32, dy: F32, dx: F32 | null, overwriteDx = false): void {
  if (dx) k.matmul({ m: rows, n: p.inDim, k: p.outDim, transB: true, accumulate: !overwriteDx }, dy, p.w, dx);
  k.matmul({ m: p.inDim, n: p.outDim, k: rows, transA: true, accumulate: true }, x, dy, p.dw);
  if (p.db) k.biasAddBackward(rows, p.outDim, dy, p.db);
}
