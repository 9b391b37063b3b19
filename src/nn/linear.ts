// A linear layer y = x·W + b as a forward/backward pair over the kernel set. W is stored
// [in, out] (row-major), so the forward is a plain matmul and the backward two transposed ones.
import { NORMALIZE_MAX_ELEMENTS, type Activation, type F32, type KernelSet, type LayerNormOperand } from '../kernels/types.js';

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

/** Whether a product of `rows` rows reads the bf16 copy of W (and can then fuse its epilogue). */
export function readsBf16(p: LinearParams, rows: number): boolean {
  return p.w16 !== null && rows <= BF16_MAX_ROWS;
}

/** y[rows, out] = x[rows, in]·W (+ b). */
export function linearForward(k: KernelSet, p: LinearParams, rows: number, x: F32, y: F32): void {
  if (readsBf16(p, rows)) {
    k.matmulBf16({ m: rows, n: p.outDim, k: p.inDim }, x, p.w16!, p.b, y);
    return;
  }
  k.matmul({ m: rows, n: p.outDim, k: p.inDim }, x, p.w, y);
  if (p.b) k.biasAddForward(rows, p.outDim, y, p.b);
}

/**
 * y = residual + (x·W + b), the same floats as linearForward then add: one pool pass when the
 * product reads bf16 weights (the sum fused into it), a product and an add otherwise. y must not
 * overlap the residual (the unfused path writes the product into y first).
 */
export function linearForwardResidual(k: KernelSet, p: LinearParams, rows: number, x: F32, residual: F32, y: F32): void {
  if (y.buffer === residual.buffer && y.byteOffset < residual.byteOffset + residual.byteLength && residual.byteOffset < y.byteOffset + y.byteLength) {
    throw new RangeError('linearForwardResidual: y overlaps the residual');
  }
  if (readsBf16(p, rows)) {
    k.matmulBf16({ m: rows, n: p.outDim, k: p.inDim }, x, p.w16!, p.b, y, residual);
    return;
  }
  linearForward(k, p, rows, x, y);
  k.add(residual, y, y);
}

/**
 * y = act(x·W + b). With `pre` (kept for a backward) x·W + b is written there first; without it,
 * and when the product reads bf16 weights, the activation is fused into the product (one pool pass).
 */
export function linearForwardActivated(k: KernelSet, p: LinearParams, rows: number, x: F32, activation: Activation, y: F32, pre: F32 | null): void {
  if (!pre && readsBf16(p, rows)) {
    k.matmulBf16({ m: rows, n: p.outDim, k: p.inDim, activation }, x, p.w16!, p.b, y);
    return;
  }
  const h = pre ?? y;
  linearForward(k, p, rows, x, h);
  k.activationForward(activation, h, y);
}

/** Where an unfused layer norm writes LN(x) and its statistics (rows of the product's width, one mean and rstd a row). */
export interface NormOutputs { readonly y: F32; readonly mean: F32; readonly rstd: F32 }

/**
 * y = act?(LN(x)·W + b). When LN(x) need not be kept (`keepNorm` false: no backward follows), the
 * product reads bf16 weights, no pre-activation is asked for and rows·inDim ≤
 * NORMALIZE_MAX_ELEMENTS, the norm is the product's
 * prologue (one pool pass, the same floats, normOut untouched); otherwise layerNormForward into
 * normOut and the product from there, with `pre` as linearForwardActivated takes it.
 */
export function linearForwardNormed(k: KernelSet, p: LinearParams, rows: number, x: F32, norm: LayerNormOperand, normOut: NormOutputs, keepNorm: boolean,
  y: F32, activation: Activation | null = null, pre: F32 | null = null): void {
  if (!keepNorm && !pre && readsBf16(p, rows) && rows * p.inDim <= NORMALIZE_MAX_ELEMENTS) {
    k.matmulBf16({ m: rows, n: p.outDim, k: p.inDim, activation, normalize: norm }, x, p.w16!, p.b, y);
    return;
  }
  const n = rows * p.inDim, normed = normOut.y.subarray(0, n);
  k.layerNormForward({ rows, cols: p.inDim, eps: norm.eps }, x.subarray(0, n), norm.gamma, norm.beta, normed, normOut.mean.subarray(0, rows),
    normOut.rstd.subarray(0, rows));
  if (activation) linearForwardActivated(k, p, rows, normed, activation, y, pre);
  else linearForward(k, p, rows, normed, y);
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
