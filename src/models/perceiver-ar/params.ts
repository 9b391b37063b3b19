// Perceiver AR parameter list (names are the checkpoint tensor names) and typed accessors.
import type { ParamSpec } from '../../nn/params.js';
import { ParamStore } from '../../nn/params.js';
import type { LinearParams } from '../../nn/linear.js';
import type { ModelConfig } from './config.js';

export const linear = (name: string, inDim: number, outDim: number, init: 'fan-in' | 'zeros' = 'fan-in'): ParamSpec[] => [
  { name: `${name}.w`, shape: [inDim, outDim], init: init === 'zeros' ? { kind: 'zeros' } : { kind: 'fan-in', fanIn: inDim }, decay: true },
  { name: `${name}.b`, shape: [outDim], init: { kind: 'zeros' }, decay: false },
];
export const norm = (name: string, dim: number): ParamSpec[] => [
  { name: `${name}.g`, shape: [dim], init: { kind: 'ones' }, decay: false },
  { name: `${name}.b`, shape: [dim], init: { kind: 'zeros' }, decay: false },
];
export const mlp = (name: string, c: Pick<ModelConfig, 'width' | 'mlpRatio'>): ParamSpec[] => [
  ...norm(`${name}.ln_mlp`, c.width),
  ...linear(`${name}.mlp1`, c.width, c.mlpRatio * c.width),
  ...linear(`${name}.mlp2`, c.mlpRatio * c.width, c.width),
];

export function modelParamSpecs(c: ModelConfig): ParamSpec[] {
  const C = c.width, Ci = c.embedDim;
  const specs: ParamSpec[] = [
    { name: 'embed.tokens', shape: [c.vocabSize, Ci], init: { kind: 'fan-in', fanIn: 1 }, decay: false },
  ];
  if (c.position === 'learned') {
    for (let p = 0; p < c.positionDims; p++) {
      specs.push({ name: `embed.position.${p}`, shape: [c.maxPosition + 1, Ci], init: { kind: 'fan-in', fanIn: 1 }, decay: false });
    }
  }
  specs.push(...linear('latents.proj', Ci, C));
  specs.push(...norm('cross.ln_q', C), ...norm('cross.ln_kv', Ci), ...linear('cross.q', C, C), ...linear('cross.kv', Ci, 2 * C),
    ...linear('cross.out', C, C), ...mlp('cross', c));
  for (let l = 0; l < c.numLayers; l++) {
    specs.push(...norm(`self.${l}.ln`, C), ...linear(`self.${l}.qkv`, C, 3 * C), ...linear(`self.${l}.out`, C, C), ...mlp(`self.${l}`, c));
  }
  if (c.tapeLength > 0) specs.push(...norm('tape.ln', Ci), ...linear('tape.mlp1', Ci, 2 * Ci), ...linear('tape.mlp2', Ci, Ci));
  specs.push(...norm('final.ln', C), ...linear('head', C, c.vocabSize, 'zeros'));
  return specs;
}

export interface NormParams { readonly g: Float32Array; readonly b: Float32Array; readonly dg: Float32Array; readonly db: Float32Array }

export function linearOf(store: ParamStore, name: string): LinearParams {
  const w = store.get(`${name}.w`), b = store.get(`${name}.b`);
  return { w: w.value, b: b.value, dw: w.grad, db: b.grad, inDim: w.spec.shape[0]!, outDim: w.spec.shape[1]! };
}

export function normOf(store: ParamStore, name: string): NormParams {
  const g = store.get(`${name}.g`), b = store.get(`${name}.b`);
  return { g: g.value, b: b.value, dg: g.grad, db: b.grad };
}

/** The parameters of one attention + MLP block. Cross-attend blocks have kv (and ln_kv) separately. */
export interface BlockParams {
  readonly ln: NormParams;
  readonly lnKv: NormParams | null;
  readonly q: LinearParams | null;
  readonly kv: LinearParams | null;
  readonly qkv: LinearParams | null;
  readonly out: LinearParams;
  readonly lnMlp: NormParams;
  readonly mlp1: LinearParams;
  readonly mlp2: LinearParams;
  readonly heads: number;
}

export function crossBlockParams(store: ParamStore, c: ModelConfig): BlockParams {
  return {
    ln: normOf(store, 'cross.ln_q'), lnKv: normOf(store, 'cross.ln_kv'), q: linearOf(store, 'cross.q'), kv: linearOf(store, 'cross.kv'),
    qkv: null, out: linearOf(store, 'cross.out'), lnMlp: normOf(store, 'cross.ln_mlp'), mlp1: linearOf(store, 'cross.mlp1'),
    mlp2: linearOf(store, 'cross.mlp2'), heads: c.crossAttendHeads,
  };
}

export function selfBlockParams(store: ParamStore, c: ModelConfig, l: number): BlockParams {
  const p = `self.${l}`;
  return {
    ln: normOf(store, `${p}.ln`), lnKv: null, q: null, kv: null, qkv: linearOf(store, `${p}.qkv`), out: linearOf(store, `${p}.out`),
    lnMlp: normOf(store, `${p}.ln_mlp`), mlp1: linearOf(store, `${p}.mlp1`), mlp2: linearOf(store, `${p}.mlp2`), heads: c.numHeads,
  };
}
