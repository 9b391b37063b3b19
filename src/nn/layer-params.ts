// Parameter lists and typed views of the layers several models share: linear maps, layer norms and
// the pre-norm MLP (names are checkpoint tensor names: NAME.w / NAME.b, NAME.g / NAME.b).
import type { LinearParams } from './linear.js';
import type { ParamSpec, ParamStore } from './params.js';

/** A linear map's weight (and its bias unless `bias` is false). */
export const linear = (name: string, inDim: number, outDim: number, init: 'fan-in' | 'zeros' = 'fan-in', bias = true): ParamSpec[] => [
  { name: `${name}.w`, shape: [inDim, outDim], init: init === 'zeros' ? { kind: 'zeros' } : { kind: 'fan-in', fanIn: inDim }, decay: true },
  ...(bias ? [{ name: `${name}.b`, shape: [outDim], init: { kind: 'zeros' }, decay: false } satisfies ParamSpec] : []),
];
export const norm = (name: string, dim: number): ParamSpec[] => [
  { name: `${name}.g`, shape: [dim], init: { kind: 'ones' }, decay: false },
  { name: `${name}.b`, shape: [dim], init: { kind: 'zeros' }, decay: false },
];
export const mlp = (name: string, c: { readonly width: number; readonly mlpRatio: number }, bias = true): ParamSpec[] => [
  ...norm(`${name}.ln_mlp`, c.width),
  ...linear(`${name}.mlp1`, c.width, c.mlpRatio * c.width, 'fan-in', bias),
  ...linear(`${name}.mlp2`, c.mlpRatio * c.width, c.width, 'fan-in', bias),
];

export interface NormParams { readonly g: Float32Array; readonly b: Float32Array; readonly dg: Float32Array; readonly db: Float32Array }

/** A linear map's parameters; its bias is null when the store holds none (`${name}.b`). */
export function linearOf(store: ParamStore, name: string): LinearParams {
  const w = store.get(`${name}.w`), b = store.has(`${name}.b`) ? store.get(`${name}.b`) : null;
  return { w: w.value, b: b?.value ?? null, dw: w.grad, db: b?.grad ?? null, inDim: w.spec.shape[0]!, outDim: w.spec.shape[1]!, get w16() { return w.half; } };
}

export function normOf(store: ParamStore, name: string): NormParams {
  const g = store.get(`${name}.g`), b = store.get(`${name}.b`);
  return { g: g.value, b: b.value, dg: g.grad, db: b.grad };
}

