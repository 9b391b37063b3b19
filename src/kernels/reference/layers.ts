// Reference row- and element-wise layers: plain loops, float64 accumulation.
import type { Activation, DropoutDims, LayerNormDims, RotaryDims } from '../types.js';
import { dropoutHash, dropoutThreshold, erf, rotaryInverseFrequencies } from '../formulas.js';
import { checkDropoutP, checkIds, checkLayerNorm, checkRowsCols, resolveRotary, sameLength } from '../validate.js';
import type { Floats } from './floats.js';

export function embeddingForward(vocab: number, dim: number, table: Floats, ids: Int32Array, out: Floats): void {
  const K = 'embeddingForward';
  checkRowsCols(K, ids.length, dim, { table: [table, vocab * dim], out: [out, ids.length * dim] });
  checkIds(K, 'ids', ids, ids.length, vocab);
  for (let t = 0; t < ids.length; t++) for (let c = 0; c < dim; c++) out[t * dim + c] = table[ids[t]! * dim + c]!;
}

export function embeddingBackward(vocab: number, dim: number, dTable: Floats, ids: Int32Array, dOut: Floats): void {
  const K = 'embeddingBackward';
  checkRowsCols(K, ids.length, dim, { dTable: [dTable, vocab * dim], dOut: [dOut, ids.length * dim] });
  checkIds(K, 'ids', ids, ids.length, vocab);
  for (let t = 0; t < ids.length; t++) for (let c = 0; c < dim; c++) dTable[ids[t]! * dim + c] = dTable[ids[t]! * dim + c]! + dOut[t * dim + c]!;
}

export function layerNormForward(d: LayerNormDims, x: Floats, gamma: Floats, beta: Floats, y: Floats, mean: Floats, rstd: Floats): void {
  const { rows: R, cols: C, eps } = d;
  checkLayerNorm('layerNormForward', R, C, eps, x, { gamma, beta }, { mean, rstd });
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c]!;
    const mu = s / C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += (x[r * C + c]! - mu) ** 2;
    const rs = 1 / Math.sqrt(ss / C + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c]! - mu) * rs * gamma[c]! + beta[c]!;
  }
}

export function layerNormBackward(d: LayerNormDims, x: Floats, gamma: Floats, mean: Floats, rstd: Floats, dy: Floats,
  dx: Floats, dgamma: Floats, dbeta: Floats): void {
  const { rows: R, cols: C, eps } = d;
  checkLayerNorm('layerNormBackward', R, C, eps, x, { gamma, dgamma, dbeta }, { mean, rstd });
  for (let r = 0; r < R; r++) {
    const mu = mean[r]!, rs = rstd[r]!;
    let sg = 0, sgx = 0;
    for (let c = 0; c < C; c++) {
      const g = dy[r * C + c]! * gamma[c]!;
      const xh = (x[r * C + c]! - mu) * rs;
      sg += g;
      sgx += g * xh;
      dgamma[c] = dgamma[c]! + dy[r * C + c]! * xh;
      dbeta[c] = dbeta[c]! + dy[r * C + c]!;
    }
    for (let c = 0; c < C; c++) {
      const xh = (x[r * C + c]! - mu) * rs;
      const g = dy[r * C + c]! * gamma[c]!;
      dx[r * C + c] = dx[r * C + c]! + rs * (g - sg / C - xh * (sgx / C));
    }
  }
}

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export function activationValue(kind: Activation, v: number): number {
  switch (kind) {
    case 'squared-relu': return v > 0 ? v * v : 0;
    case 'gelu': return 0.5 * v * (1 + Math.tanh(GELU_K * (v + GELU_A * v * v * v)));
    case 'gelu-erf': return 0.5 * v * (1 + erf(v * Math.SQRT1_2));
    default: { const never: never = kind; throw new TypeError(`unknown activation ${String(never)}`); }
  }
}

export function activationDerivative(kind: Activation, v: number): number {
  switch (kind) {
    case 'squared-relu': return v > 0 ? 2 * v : 0;
    case 'gelu': {
      const t = Math.tanh(GELU_K * (v + GELU_A * v * v * v));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * GELU_A * v * v);
    }
    case 'gelu-erf': return 0.5 * (1 + erf(v * Math.SQRT1_2)) + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    default: { const never: never = kind; throw new TypeError(`unknown activation ${String(never)}`); }
  }
}

export function activationForward(kind: Activation, x: Floats, y: Floats): void {
  const n = sameLength('activationForward', ['x', 'y'], [x, y]);
  for (let i = 0; i < n; i++) y[i] = activationValue(kind, x[i]!);
}

export function activationBackward(kind: Activation, x: Floats, dy: Floats, dx: Floats): void {
  const n = sameLength('activationBackward', ['x', 'dy', 'dx'], [x, dy, dx]);
  for (let i = 0; i < n; i++) dx[i] = dx[i]! + dy[i]! * activationDerivative(kind, x[i]!);
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function gluForward(rows: number, cols: number, x: Floats, y: Floats): void {
  checkRowsCols('gluForward', rows, cols, { x: [x, rows * 2 * cols], y: [y, rows * cols] });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * 2 * cols + c]! * sigmoid(x[r * 2 * cols + cols + c]!);
  }
}

export function gluBackward(rows: number, cols: number, x: Floats, dy: Floats, dx: Floats): void {
  checkRowsCols('gluBackward', rows, cols, { x: [x, rows * 2 * cols], dy: [dy, rows * cols], dx: [dx, rows * 2 * cols] });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ia = r * 2 * cols + c, ig = ia + cols;
      const a = x[ia]!, s = sigmoid(x[ig]!), g = dy[r * cols + c]!;
      dx[ia] = dx[ia]! + g * s;
      dx[ig] = dx[ig]! + g * a * s * (1 - s);
    }
  }
}

export function add(a: Floats, b: Floats, out: Floats): void {
  const n = sameLength('add', ['a', 'b', 'out'], [a, b, out]);
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

export function scale(x: Floats, s: number): void {
  sameLength('scale', ['x'], [x]);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * s;
}

function dropoutApply(kernel: string, d: DropoutDims, x: Floats, y: Floats, accumulate: boolean): void {
  const n = sameLength(kernel, ['input', 'output'], [x, y]);
  checkDropoutP(kernel, d.p);
  const threshold = dropoutThreshold(d.p), keepScale = 1 / (1 - d.p), offset = d.offset ?? 0;
  for (let i = 0; i < n; i++) {
    const v = dropoutHash(d.seed, offset + i) >= threshold ? x[i]! * keepScale : 0;
    y[i] = accumulate ? y[i]! + v : v;
  }
}

export function dropoutForward(d: DropoutDims, x: Floats, y: Floats): void { dropoutApply('dropoutForward', d, x, y, false); }
export function dropoutBackward(d: DropoutDims, dy: Floats, dx: Floats): void { dropoutApply('dropoutBackward', d, dy, dx, true); }

function rotate(kernel: string, d: RotaryDims, x: Floats, positions: Int32Array, sign: number): void {
  const r = resolveRotary(kernel, d, x, positions);
  const freqs = rotaryInverseFrequencies(r.rotaryDims, r.maxWavelength, r.spacing);
  for (let row = 0; row < r.rows; row++) {
    for (let i = 0; i < freqs.length; i++) {
      const ang = positions[row]! * freqs[i]!;
      const cs = Math.cos(ang), sn = sign * Math.sin(ang);
      for (let h = 0; h < r.heads; h++) {
        const e = row * r.rowStride + h * r.headDim + 2 * i;
        const x0 = x[e]!, x1 = x[e + 1]!;
        x[e] = x0 * cs - x1 * sn;
        x[e + 1] = x0 * sn + x1 * cs;
      }
    }
  }
}

export function rotaryForward(d: RotaryDims, x: Floats, positions: Int32Array): void { rotate('rotaryForward', d, x, positions, 1); }
export function rotaryBackward(d: RotaryDims, dx: Floats, positions: Int32Array): void { rotate('rotaryBackward', d, dx, positions, -1); }

