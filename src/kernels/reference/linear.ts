// Reference matmul and bias: plain loops, float64 accumulation. The definition of correct.
import { bf16Value, packedIndex } from '../bf16.js';
import type { Bf16MatmulDims, MatmulDims, U16 } from '../types.js';
import { checkRowsCols, resolveMatmul, resolveMatmulBf16 } from '../validate.js';
import type { Floats } from './floats.js';
import { activationValue, layerNormForward } from './layers.js';

export function matmul(d: MatmulDims, a: Floats, b: Floats, c: Floats): void {
  const r = resolveMatmul(d, a, b, c);
  for (let bi = 0; bi < r.batch; bi++) {
    const oa = bi * r.strideA, ob = bi * r.strideB, oc = bi * r.strideC;
    for (let i = 0; i < r.m; i++) {
      for (let j = 0; j < r.n; j++) {
        let s = 0;
        for (let k = 0; k < r.k; k++) {
          const av = r.transA ? a[oa + k * r.lda + i]! : a[oa + i * r.lda + k]!;
          const bv = r.transB ? b[ob + j * r.ldb + k]! : b[ob + k * r.ldb + j]!;
          s += av * bv;
        }
        const ci = oc + i * r.ldc + j;
        c[ci] = (r.accumulate ? c[ci]! : 0) + r.alpha * s;
      }
    }
  }
}

export function matmulBf16(d: Bf16MatmulDims, a: Floats, w: U16, bias: Floats | null, c: Floats, residual: Floats | null = null): void {
  const r = resolveMatmulBf16(d, a, w, bias, c, residual);
  let x = a, lda = r.lda;
  if (r.normalize) {
    // The prologue: layerNormForward of each row, into rows of A's own float type.
    const n = r.normalize, stats = new Float32Array(2);
    x = a instanceof Float64Array ? new Float64Array(r.m * r.k) : new Float32Array(r.m * r.k);
    for (let i = 0; i < r.m; i++) {
      layerNormForward({ rows: 1, cols: r.k, eps: n.eps }, a.subarray(i * r.lda, i * r.lda + r.k), n.gamma, n.beta,
        x.subarray(i * r.k, (i + 1) * r.k), stats.subarray(0, 1), stats.subarray(1, 2));
    }
    lda = r.k;
  }
  for (let i = 0; i < r.m; i++) {
    for (let j = 0; j < r.n; j++) {
      let s = 0;
      for (let k = 0; k < r.k; k++) s += x[i * lda + k]! * bf16Value(w[packedIndex(r.k, r.n, k, j)]!);
      const ci = i * r.ldc + j;
      const v = r.alpha * s + (bias ? bias[j]! : 0);
      c[ci] = (r.accumulate ? c[ci]! : 0) + (residual ? residual[i * r.ldr + j]! : 0) + (r.activation ? activationValue(r.activation, v) : v);
    }
  }
}

export function biasAddForward(rows: number, cols: number, y: Floats, bias: Floats): void {
  checkRowsCols('biasAddForward', rows, cols, { y: [y, rows * cols], bias: [bias, cols] });
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[r * cols + c] = y[r * cols + c]! + bias[c]!;
}

export function biasAddBackward(rows: number, cols: number, dy: Floats, dbias: Floats): void {
  checkRowsCols('biasAddBackward', rows, cols, { dy: [dy, rows * cols], dbias: [dbias, cols] });
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dy[r * cols + c]!;
    dbias[c] = dbias[c]! + s;
  }
}
