// Perceiver AR parameter list (names are the checkpoint tensor names) and typed accessors.
import type { ParamSpec } from '../../nn/params.js';
import { linear, linearOf, mlp, norm, normOf, type NormParams } from '../../nn/layer-params.js';
import { ParamStore } from '../../nn/params.js';
import type { LinearParams } from '../../nn/linear.js';
import { hasLearnedTable, type ModelConfig } from './config.js';

/**
 * The model's tensors. Switches of the config leave some out: the latents' projection
 * (latentInput 'embedding'), every bias but the cross-attend output's (linearBiases
 * 'cross-output'), the final norm (outputNorm false), the head's matrix (outputHead 'tied…': the
 * token embedding serves) and its bias (outputHead 'tied').
 */
export function modelParamSpecs(c: ModelConfig): ParamSpec[] {
  const C = c.width, Ci = c.embedDim, bias = c.linearBiases === 'all';
  const specs: ParamSpec[] = [
    // Tied to the output, the embedding is scaled so that the initial logits have unit variance.
    { name: 'embed.tokens', shape: [c.vocabSize, Ci], init: { kind: 'fan-in', fanIn: c.outputHead === 'linear' ? 1 : Ci }, decay: false },
  ];
  if (hasLearnedTable(c)) {
    for (let p = 0; p < c.positionDims; p++) {
      specs.push({ name: `embed.position.${p}`, shape: [c.maxPosition + 1, Ci], init: { kind: 'fan-in', fanIn: 1 }, decay: false });
    }
  }
  if (c.latentInput === 'projection') specs.push(...linear('latents.proj', Ci, C));
  specs.push(...norm('cross.ln_q', C), ...norm('cross.ln_kv', Ci), ...linear('cross.q', C, C, 'fan-in', bias), ...linear('cross.kv', Ci, 2 * C, 'fan-in', bias),
    ...linear('cross.out', C, C), ...mlp('cross', c, bias));
  for (let l = 0; l < c.numLayers; l++) {
    specs.push(...norm(`self.${l}.ln`, C), ...linear(`self.${l}.qkv`, C, 3 * C, 'fan-in', bias), ...linear(`self.${l}.out`, C, C, 'fan-in', bias),
      ...mlp(`self.${l}`, c, bias));
  }
  if (c.tapeLength > 0) specs.push(...norm('tape.ln', Ci), ...linear('tape.mlp1', Ci, 2 * Ci), ...linear('tape.mlp2', Ci, Ci));
  if (c.outputNorm) specs.push(...norm('final.ln', C));
  if (c.outputHead === 'linear') specs.push(...linear('head', C, c.vocabSize, 'zeros'));
  else if (c.outputHead === 'tied+bias') specs.push({ name: 'head.b', shape: [c.vocabSize], init: { kind: 'zeros' }, decay: false });
  return specs;
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
