// The kernel set: one typed interface, implemented by every backend (`reference`, `wasm`, later
// WebGPU or native BLAS). Model code calls only these functions, so a backend can be swapped
// without touching it. Conventions:
// - Buffers are flat row-major Float32Array / Int32Array / Uint8Array views; for the wasm backend
//   they must be views into the engine's memory (engine.allocF32 & co).
// - Kernels never allocate. Forward kernels write their outputs; backward kernels ACCUMULATE (+=)
//   into gradient buffers, so the caller zeroes gradients once per step.
// - Dimension letters used below: R rows, C columns/channels, V vocabulary, B batch, H heads,
//   D head dimension, Tq/Tk query/key lengths.

import type { RotarySpacing } from './formulas.js';

export type F32 = Float32Array;
export type I32 = Int32Array;
export type U8 = Uint8Array;
export type U16 = Uint16Array;

/** C = alpha·op(A)·op(B) (+ C when accumulate); op(A) is m×k, op(B) is k×n, C is m×n. */
export interface MatmulDims {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** A is stored k×m (row-major) and used transposed. */
  readonly transA?: boolean;
  /** B is stored n×k (row-major) and used transposed. */
  readonly transB?: boolean;
  /** Row strides in floats of the stored A, B, C (defaults: their stored widths). */
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
  /** Number of matrices; the i-th uses offsets i·strideA, i·strideB, i·strideC (floats). */
  readonly batch?: number;
  readonly strideA?: number;
  readonly strideB?: number;
  readonly strideC?: number;
  readonly alpha?: number;
  readonly accumulate?: boolean;
}

/**
 * C[m, n] (=|+=) alpha·A[m, k]·W + bias, with W a bf16 weight [k, n] packed by packBf16Weights
 * (kernels/bf16.ts): decoding's few-row products at half the bytes. A and C are float32, rows
 * lda/ldc floats apart; arithmetic is float32.
 * Fused epilogues (one pass over the pool instead of two): with a residual R [m, n] (rows ldr
 * apart), C = R + (alpha·A·W + bias); with an activation, C = act(alpha·A·W + bias). Neither goes
 * with accumulate, nor with the other.
 */
export interface Bf16MatmulDims {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly lda?: number;
  readonly ldc?: number;
  readonly alpha?: number;
  readonly accumulate?: boolean;
  /** Row stride of the residual in floats (default n; unused without a residual). */
  readonly ldr?: number;
  readonly activation?: Activation | null;
  /**
   * A prologue: each row of A layer-normalised first (gamma and beta of k floats, eps > 0), the
   * floats layerNormForward would give; neither the normalised rows nor their statistics are kept.
   * m·k at most NORMALIZE_MAX_ELEMENTS (the wasm backend normalises into each thread's scratch).
   */
  readonly normalize?: LayerNormOperand | null;
}

/** The most elements (m·k) a product with a layer-norm prologue (Bf16MatmulDims.normalize) takes. */
export const NORMALIZE_MAX_ELEMENTS = 262_144;

/** A layer norm's parameters, for a product that normalises its input first (Bf16MatmulDims.normalize). */
export interface LayerNormOperand {
  readonly gamma: F32;
  readonly beta: F32;
  readonly eps: number;
}

/**
 * Multi-head attention over q [B, Tq, H, D] and k, v [B, Tk, H, D] (row strides ldq/ldk/ldv/ldo
 * in floats, default H·D, so fused projections can be read in place). Output o [B, Tq, H, D],
 * logsumexp lse [B, H, Tq].
 */
export interface AttentionDims {
  readonly batch: number;
  readonly queries: number;
  readonly keys: number;
  readonly heads: number;
  readonly headDim: number;
  readonly ldq?: number;
  readonly ldk?: number;
  readonly ldv?: number;
  readonly ldo?: number;
  /** Default 1/sqrt(headDim). */
  readonly scale?: number;
}

/**
 * Which keys each query sees. Key j is visible to query i iff
 * (no causal, or keyPositions[b, j] <= queryPositions[b, i]) and (no keyValid, or keyValid[b, j] != 0).
 * A query with no visible key outputs zeros (lse = -inf) and passes no gradient.
 */
export interface AttentionMask {
  readonly causal?: { readonly queryPositions: I32; readonly keyPositions: I32 };
  readonly keyValid?: U8;
}

export type Activation = 'squared-relu' | 'gelu' | 'gelu-erf';
export const ACTIVATIONS: readonly Activation[] = ['squared-relu', 'gelu', 'gelu-erf'];

export interface LayerNormDims { readonly rows: number; readonly cols: number; readonly eps: number }

/** Rotary encoding of the first `rotaryDims` dims of each head, in adjacent pairs (2i, 2i+1). */
export interface RotaryDims {
  readonly rows: number;
  readonly heads: number;
  readonly headDim: number;
  /** Row stride in floats (default heads·headDim). */
  readonly rowStride?: number;
  /** Even, ≤ headDim. */
  readonly rotaryDims: number;
  /** inv_freq_i = maxWavelength^(−i/(nb−1)), nb = rotaryDims/2 (spacing 'perceiver', the default), or maxWavelength^(−2i/rotaryDims) ('roformer'). */
  readonly maxWavelength: number;
  readonly spacing?: RotarySpacing;
}

/** Seeded dropout: element i is kept iff hash(seed, offset + i) ≥ p·2^32; kept values scaled 1/(1−p). */
export interface DropoutDims { readonly p: number; readonly seed: number; readonly offset?: number }

export interface CrossEntropyDims {
  readonly rows: number;
  readonly vocab: number;
  /** Rows whose target equals this id get zero loss and zero gradient. */
  readonly ignoreIndex: number;
  /** Weight of the z-loss term zLoss·lse². */
  readonly zLoss: number;
}

/** One AdamW step with decoupled weight decay; `step` counts from 1. */
export interface AdamWStep {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly step: number;
  /** Multiplies the gradient first (global-norm clipping, loss scaling). Default 1. */
  readonly gradScale?: number;
}

export interface KernelSet {
  matmul(d: MatmulDims, a: F32, b: F32, c: F32): void;
  /** Inference only (no backward): see Bf16MatmulDims. bias [n] or null; residual: m rows of n, ldr floats apart (null/absent: none). */
  matmulBf16(d: Bf16MatmulDims, a: F32, w: U16, bias: F32 | null, c: F32, residual?: F32 | null): void;

  /** y[R, C] += bias[C]. */
  biasAddForward(rows: number, cols: number, y: F32, bias: F32): void;
  /** dbias[C] += Σ_r dy[r, C]. */
  biasAddBackward(rows: number, cols: number, dy: F32, dbias: F32): void;

  /** out[T, C] = table[ids[t], C] with table [V, C]. */
  embeddingForward(vocab: number, dim: number, table: F32, ids: I32, out: F32): void;
  /** dTable[ids[t], C] += dOut[t, C]. */
  embeddingBackward(vocab: number, dim: number, dTable: F32, ids: I32, dOut: F32): void;

  /** y = (x − mean)·rstd·gamma + beta per row; saves mean[R] and rstd[R]. */
  layerNormForward(d: LayerNormDims, x: F32, gamma: F32, beta: F32, y: F32, mean: F32, rstd: F32): void;
  layerNormBackward(d: LayerNormDims, x: F32, gamma: F32, mean: F32, rstd: F32, dy: F32,
    dx: F32, dgamma: F32, dbeta: F32): void;

  /** y = f(x) element-wise: squared ReLU relu(x)², GELU in its tanh form (as jax.nn.gelu), or exact GELU x·Φ(x) ('gelu-erf', as torch's default). */
  activationForward(kind: Activation, x: F32, y: F32): void;
  activationBackward(kind: Activation, x: F32, dy: F32, dx: F32): void;

  /** x [R, 2C] = [a | g] → y [R, C] = a·sigmoid(g). */
  gluForward(rows: number, cols: number, x: F32, y: F32): void;
  gluBackward(rows: number, cols: number, x: F32, dy: F32, dx: F32): void;

  /** out = a + b (out may alias a or b). The residual backward is add(dx, dy, dx). */
  add(a: F32, b: F32, out: F32): void;
  /** x *= s. */
  scale(x: F32, s: number): void;

  dropoutForward(d: DropoutDims, x: F32, y: F32): void;
  /** dx += mask(dy) with the same (seed, offset) as the forward. */
  dropoutBackward(d: DropoutDims, dy: F32, dx: F32): void;

  /** In place; positions i32 [rows] are absolute (1-based in Perceiver AR data). */
  rotaryForward(d: RotaryDims, x: F32, positions: I32): void;
  /** In place on the gradient: the inverse rotation. */
  rotaryBackward(d: RotaryDims, dx: F32, positions: I32): void;

  attentionForward(d: AttentionDims, mask: AttentionMask, q: F32, k: F32, v: F32, out: F32, lse: F32): void;
  attentionBackward(d: AttentionDims, mask: AttentionMask, q: F32, k: F32, v: F32, out: F32, lse: F32,
    dOut: F32, dq: F32, dk: F32, dv: F32): void;
  /**
   * Folds an attention result over more keys of the same queries into (out, lse): the softmax over
   * the union of both key sets (online-softmax merge). Reads batch, queries, heads, headDim, ldo.
   * With attentionBackward's use of the given lse, this lets the keys be processed in chunks.
   */
  attentionMerge(d: AttentionDims, out: F32, lse: F32, out2: F32, lse2: F32): void;

  /** loss[r] = lse − logit[target] + zLoss·lse² (0 for ignored rows); saves lse[R]. */
  crossEntropyForward(d: CrossEntropyDims, logits: F32, targets: I32, loss: F32, lse: F32): void;
  /** dLogits += gradScale·∂loss[r]/∂logits for every row not ignored. */
  crossEntropyBackward(d: CrossEntropyDims, logits: F32, targets: I32, lse: F32, dLogits: F32, gradScale: number): void;

  adamw(s: AdamWStep, params: F32, grads: F32, m: F32, v: F32): void;

  /** Σ x² accumulated in float64. */
  sumSquares(x: F32): number;
}

export type KernelName = keyof KernelSet;
