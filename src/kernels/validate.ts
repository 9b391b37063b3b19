// Argument checks shared by every backend, so that a bad call fails the same way everywhere, with
// a message that names the kernel, the argument and what it needs. Also resolves optional dims.
import { ACTIVATIONS, NORMALIZE_MAX_ELEMENTS, type AttentionDims, type AttentionMask, type Bf16MatmulDims, type MatmulDims, type RotaryDims } from './types.js';

type Sized = { readonly length: number };

export const MAX_HEAD_DIM = 256;

export function positiveInt(kernel: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${kernel}: ${name} must be a positive integer, got ${value}` +
      (value === 0 ? ' (zero-length inputs are not supported)' : ''));
  }
  return value;
}

export function nonNegativeInt(kernel: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${kernel}: ${name} must be a non-negative integer, got ${value}`);
  return value;
}

export function needLength(kernel: string, name: string, buf: Sized, count: number): void {
  if (buf.length < count) {
    throw new RangeError(`${kernel}: ${name} has ${buf.length} elements but needs at least ${count}`);
  }
}

export function sameLength(kernel: string, names: readonly string[], bufs: readonly Sized[]): number {
  const n = bufs[0]!.length;
  if (n === 0) throw new RangeError(`${kernel}: ${names[0]} is empty (zero-length inputs are not supported)`);
  for (let i = 1; i < bufs.length; i++) {
    if (bufs[i]!.length !== n) throw new RangeError(`${kernel}: ${names[i]} has ${bufs[i]!.length} elements, expected ${n} like ${names[0]}`);
  }
  return n;
}

function finite(kernel: string, name: string, value: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`${kernel}: ${name} must be a finite number, got ${value}`);
  return value;
}

export type ResolvedMatmul = Required<MatmulDims>;

export function resolveMatmul(d: MatmulDims, a: Sized, b: Sized, c: Sized): ResolvedMatmul {
  const K = 'matmul';
  const m = positiveInt(K, 'm', d.m), n = positiveInt(K, 'n', d.n), k = positiveInt(K, 'k', d.k);
  const transA = d.transA ?? false, transB = d.transB ?? false;
  const aCols = transA ? m : k, aRows = transA ? k : m;
  const bCols = transB ? k : n, bRows = transB ? n : k;
  const lda = d.lda ?? aCols, ldb = d.ldb ?? bCols, ldc = d.ldc ?? n;
  if (!Number.isInteger(lda) || lda < aCols) throw new RangeError(`${K}: lda=${lda} must be an integer ≥ ${aCols} (the stored width of A)`);
  if (!Number.isInteger(ldb) || ldb < bCols) throw new RangeError(`${K}: ldb=${ldb} must be an integer ≥ ${bCols} (the stored width of B)`);
  if (!Number.isInteger(ldc) || ldc < n) throw new RangeError(`${K}: ldc=${ldc} must be an integer ≥ ${n} (the width of C)`);
  const batch = positiveInt(K, 'batch', d.batch ?? 1);
  const strideA = nonNegativeInt(K, 'strideA', d.strideA ?? aRows * lda);
  const strideB = nonNegativeInt(K, 'strideB', d.strideB ?? bRows * ldb);
  const strideC = nonNegativeInt(K, 'strideC', d.strideC ?? m * ldc);
  needLength(K, 'A', a, (batch - 1) * strideA + (aRows - 1) * lda + aCols);
  needLength(K, 'B', b, (batch - 1) * strideB + (bRows - 1) * ldb + bCols);
  needLength(K, 'C', c, (batch - 1) * strideC + (m - 1) * ldc + n);
  const alpha = finite(K, 'alpha', d.alpha ?? 1);
  return { m, n, k, transA, transB, lda, ldb, ldc, batch, strideA, strideB, strideC, alpha, accumulate: d.accumulate ?? false };
}

export type ResolvedBf16Matmul = Required<Bf16MatmulDims>;

export function resolveMatmulBf16(d: Bf16MatmulDims, a: Sized, w: Sized, bias: Sized | null, c: Sized, residual: Sized | null = null): ResolvedBf16Matmul {
  const K = 'matmulBf16';
  const m = positiveInt(K, 'm', d.m), n = positiveInt(K, 'n', d.n), k = positiveInt(K, 'k', d.k);
  const lda = d.lda ?? k, ldc = d.ldc ?? n;
  if (!Number.isInteger(lda) || lda < k) throw new RangeError(`${K}: lda=${lda} must be an integer ≥ ${k} (the width of A)`);
  if (!Number.isInteger(ldc) || ldc < n) throw new RangeError(`${K}: ldc=${ldc} must be an integer ≥ ${n} (the width of C)`);
  needLength(K, 'A', a, (m - 1) * lda + k);
  needLength(K, 'W (packed bf16)', w, n * k);
  if (bias) needLength(K, 'bias', bias, n);
  needLength(K, 'C', c, (m - 1) * ldc + n);
  const accumulate = d.accumulate ?? false, activation = d.activation ?? null, ldr = d.ldr ?? n;
  if (activation !== null && !ACTIVATIONS.includes(activation)) throw new RangeError(`${K}: unknown activation '${String(activation)}' (${ACTIVATIONS.join(', ')})`);
  if (Number(accumulate) + Number(residual !== null) + Number(activation !== null) > 1) {
    const fused = [accumulate ? 'accumulate' : '', residual ? 'a residual' : '', activation ? `the activation ${activation}` : ''].filter(Boolean);
    throw new RangeError(`${K}: ${fused.join(' and ')} cannot be combined (one epilogue at a time)`);
  }
  if (residual) {
    if (!Number.isInteger(ldr) || ldr < n) throw new RangeError(`${K}: ldr=${ldr} must be an integer ≥ ${n} (the width of the residual)`);
    needLength(K, 'residual', residual, (m - 1) * ldr + n);
  }
  const normalize = d.normalize ?? null;
  if (normalize) {
    if (!(normalize.eps > 0) || !Number.isFinite(normalize.eps)) throw new RangeError(`${K}: normalize.eps must be a finite number > 0, got ${normalize.eps}`);
    needLength(K, 'normalize.gamma', normalize.gamma, k);
    needLength(K, 'normalize.beta', normalize.beta, k);
    if (m * k > NORMALIZE_MAX_ELEMENTS) throw new RangeError(`${K}: normalize takes m·k ≤ ${NORMALIZE_MAX_ELEMENTS} (normalised into per-thread scratch), got m·k = ${m * k}`);
  }
  return { m, n, k, lda, ldc, alpha: finite(K, 'alpha', d.alpha ?? 1), accumulate, ldr, activation, normalize };
}

export interface ResolvedAttention {
  readonly B: number; readonly Tq: number; readonly Tk: number; readonly H: number; readonly D: number;
  readonly ldq: number; readonly ldk: number; readonly ldv: number; readonly ldo: number; readonly scale: number;
}

export function resolveAttention(kernel: string, d: AttentionDims, mask: AttentionMask,
  q: Sized, k: Sized, v: Sized, o: Sized, lse: Sized): ResolvedAttention {
  const B = positiveInt(kernel, 'batch', d.batch), Tq = positiveInt(kernel, 'queries', d.queries);
  const Tk = positiveInt(kernel, 'keys', d.keys), H = positiveInt(kernel, 'heads', d.heads);
  const D = positiveInt(kernel, 'headDim', d.headDim);
  if (D > MAX_HEAD_DIM) throw new RangeError(`${kernel}: headDim=${D} exceeds the supported maximum ${MAX_HEAD_DIM}`);
  const HD = H * D;
  const ld = (name: string, value: number | undefined): number => {
    const x = value ?? HD;
    if (!Number.isInteger(x) || x < HD) throw new RangeError(`${kernel}: ${name}=${x} must be an integer ≥ heads·headDim = ${HD}`);
    return x;
  };
  const r: ResolvedAttention = {
    B, Tq, Tk, H, D, ldq: ld('ldq', d.ldq), ldk: ld('ldk', d.ldk), ldv: ld('ldv', d.ldv), ldo: ld('ldo', d.ldo),
    scale: finite(kernel, 'scale', d.scale ?? 1 / Math.sqrt(D)),
  };
  needLength(kernel, 'q', q, (B * Tq - 1) * r.ldq + HD);
  needLength(kernel, 'k', k, (B * Tk - 1) * r.ldk + HD);
  needLength(kernel, 'v', v, (B * Tk - 1) * r.ldv + HD);
  needLength(kernel, 'out', o, (B * Tq - 1) * r.ldo + HD);
  needLength(kernel, 'lse', lse, B * H * Tq);
  if (mask.causal) {
    needLength(kernel, 'queryPositions', mask.causal.queryPositions, B * Tq);
    needLength(kernel, 'keyPositions', mask.causal.keyPositions, B * Tk);
  }
  if (mask.keyValid) needLength(kernel, 'keyValid', mask.keyValid, B * Tk);
  return r;
}

/** attentionMerge: out/out2 [B·Tq, ldo] and lse/lse2 [B, H, Tq]; `keys` and the other strides are not read. */
export function resolveAttentionMerge(kernel: string, d: AttentionDims, o: Sized, lse: Sized, o2: Sized, lse2: Sized): ResolvedAttention {
  const B = positiveInt(kernel, 'batch', d.batch), Tq = positiveInt(kernel, 'queries', d.queries);
  const H = positiveInt(kernel, 'heads', d.heads), D = positiveInt(kernel, 'headDim', d.headDim);
  const HD = H * D, ldo = d.ldo ?? HD;
  if (!Number.isInteger(ldo) || ldo < HD) throw new RangeError(`${kernel}: ldo=${ldo} must be an integer ≥ heads·headDim = ${HD}`);
  needLength(kernel, 'out', o, (B * Tq - 1) * ldo + HD);
  needLength(kernel, 'out2', o2, (B * Tq - 1) * ldo + HD);
  needLength(kernel, 'lse', lse, B * H * Tq);
  needLength(kernel, 'lse2', lse2, B * H * Tq);
  return { B, Tq, Tk: 1, H, D, ldq: HD, ldk: HD, ldv: HD, ldo, scale: 1 };
}

export function resolveRotary(kernel: string, d: RotaryDims, x: Sized, positions: Sized): Required<RotaryDims> {
  const rows = positiveInt(kernel, 'rows', d.rows), heads = positiveInt(kernel, 'heads', d.heads);
  const headDim = positiveInt(kernel, 'headDim', d.headDim);
  const rowStride = d.rowStride ?? heads * headDim;
  if (!Number.isInteger(rowStride) || rowStride < heads * headDim) {
    throw new RangeError(`${kernel}: rowStride=${rowStride} must be an integer ≥ heads·headDim = ${heads * headDim}`);
  }
  const rot = d.rotaryDims;
  if (!Number.isInteger(rot) || rot < 0 || rot % 2 !== 0 || rot > headDim) {
    throw new RangeError(`${kernel}: rotaryDims=${rot} must be an even integer in [0, headDim=${headDim}]`);
  }
  if (!(d.maxWavelength >= 1) || !Number.isFinite(d.maxWavelength)) {
    throw new RangeError(`${kernel}: maxWavelength must be a finite number ≥ 1, got ${d.maxWavelength}`);
  }
  needLength(kernel, 'x', x, (rows - 1) * rowStride + heads * headDim);
  needLength(kernel, 'positions', positions, rows);
  const spacing = d.spacing ?? 'perceiver';
  if (spacing !== 'perceiver' && spacing !== 'roformer') throw new RangeError(`${kernel}: spacing must be 'perceiver' or 'roformer', got '${String(spacing)}'`);
  return { rows, heads, headDim, rowStride, rotaryDims: rot, maxWavelength: d.maxWavelength, spacing };
}

export function checkDropoutP(kernel: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`${kernel}: p must be in [0, 1), got ${p}`);
}

export function checkIds(kernel: string, name: string, ids: Int32Array, count: number, limit: number): void {
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= limit) throw new RangeError(`${kernel}: ${name}[${i}] = ${id} is outside [0, ${limit})`);
  }
}

export function checkRowsCols(kernel: string, rows: number, cols: number, bufs: Record<string, [Sized, number]>): void {
  positiveInt(kernel, 'rows', rows);
  positiveInt(kernel, 'cols', cols);
  // for…in, not Object.entries: these checks run on every kernel call (no arrays allocated per call).
  for (const name in bufs) needLength(kernel, name, bufs[name]![0], bufs[name]![1]);
}

export function checkLayerNorm(kernel: string, rows: number, cols: number, eps: number, x: Sized, params: Record<string, Sized>, stats: Record<string, Sized>): void {
  positiveInt(kernel, 'rows', rows);
  positiveInt(kernel, 'cols', cols);
  if (!(eps > 0)) throw new RangeError(`${kernel}: eps must be > 0, got ${eps}`);
  needLength(kernel, 'x', x, rows * cols);
  for (const name in params) needLength(kernel, name, params[name]!, cols);
  for (const name in stats) needLength(kernel, name, stats[name]!, rows);
}

export function checkCrossEntropy(kernel: string, rows: number, vocab: number, logits: Sized, targets: Int32Array, perRow: Record<string, Sized>, ignoreIndex: number): void {
  positiveInt(kernel, 'rows', rows);
  positiveInt(kernel, 'vocab', vocab);
  needLength(kernel, 'logits', logits, rows * vocab);
  needLength(kernel, 'targets', targets, rows);
  for (const name in perRow) needLength(kernel, name, perRow[name]!, rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t !== ignoreIndex && (t < 0 || t >= vocab)) {
      throw new RangeError(`${kernel}: targets[${r}] = ${t} is outside [0, ${vocab}) and is not ignoreIndex (${ignoreIndex})`);
    }
  }
}

export function checkAdamW(kernel: string, s: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }): void {
  if (!Number.isInteger(s.step) || s.step < 1) throw new RangeError(`${kernel}: step must be an integer ≥ 1, got ${s.step}`);
  if (!(s.beta1 >= 0 && s.beta1 < 1)) throw new RangeError(`${kernel}: beta1 must be in [0, 1), got ${s.beta1}`);
  if (!(s.beta2 >= 0 && s.beta2 < 1)) throw new RangeError(`${kernel}: beta2 must be in [0, 1), got ${s.beta2}`);
  if (!(s.eps > 0)) throw new RangeError(`${kernel}: eps must be > 0, got ${s.eps}`);
  if (!Number.isFinite(s.lr) || !Number.isFinite(s.weightDecay)) throw new RangeError(`${kernel}: lr and weightDecay must be finite`);
}
