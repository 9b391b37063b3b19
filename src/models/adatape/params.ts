// Parameter list of the sequence classifiers (names are checkpoint tensor names) and accessors.
import type { ParamSpec, ParamStore } from '../../nn/params.js';
import type { EncoderBlockParams } from '../encoder/block.js';
import { linear, linearOf, norm, normOf } from '../../nn/layer-params.js';
import { elementTokens, hasTape, inputBankTokens, patchGrid, type ClassifierConfig } from './config.js';

const small = (name: string, shape: number[]): ParamSpec => ({ name, shape, init: { kind: 'normal', std: 0.02 }, decay: false });

/** Blocks that exist: numLayers, or one shared block for the Universal Transformer. */
export const blockCount = (c: ClassifierConfig): number => (c.model === 'universal' ? 1 : c.numLayers);

export function classifierParamSpecs(c: ClassifierConfig): ParamSpec[] {
  const C = c.width, L = c.sequenceLength, F = c.mlpRatio * C;
  const specs: ParamSpec[] = [];
  if (c.input === 'image') {
    specs.push(...linear('embed.patch', patchGrid(c, c.patchSize).features, C), small('embed.position', [L, C]));
  } else if (elementTokens(c)) {
    specs.push({ name: 'embed.elements.w', shape: [c.symbols, C], init: { kind: 'fan-in', fanIn: 1 }, decay: true }, small('embed.elements.b', [C]));
    specs.push(small('embed.position', [L, C]));
  } else {
    // Dense over the flattened one-hot sequence: exactly L rows of the table are summed.
    specs.push({ name: 'embed.flat.w', shape: [L * c.symbols, C], init: { kind: 'fan-in', fanIn: L }, decay: true }, small('embed.flat.b', [C]));
  }
  if (c.cls) specs.push(small('embed.cls', [C]));
  if (hasTape(c)) {
    specs.push(...norm('tape.ln', C));
    if (c.bank === 'input' && c.input === 'image') {
      specs.push(...linear('tape.bank', patchGrid(c, c.bankPatchSize).features, C), small('tape.bank_position', [inputBankTokens(c), C]));
    } else if (c.bank === 'input') specs.push(...linear('tape.bank', c.symbols, C));
    else specs.push(small('tape.bank', [c.bankSize, C]));
    if (c.tapeMlp) specs.push(...linear('tape.mlp1', C, 2 * F), ...linear('tape.mlp2', F, C));
  }
  for (let l = 0; l < blockCount(c); l++) {
    specs.push(...norm(`block.${l}.ln`, C), ...linear(`block.${l}.qkv`, C, 3 * C), ...linear(`block.${l}.out`, C, C),
      ...norm(`block.${l}.ln_mlp`, C), ...linear(`block.${l}.mlp1`, C, F), ...linear(`block.${l}.mlp2`, F, C));
    if (hasTape(c) && c.separateTapeFfn && l >= c.readLayer) specs.push(...linear(`block.${l}.tape_mlp1`, C, F), ...linear(`block.${l}.tape_mlp2`, F, C));
  }
  if (c.model === 'universal') {
    specs.push(small('act.step', [c.maxSteps, C]), ...linear('act.halt', C, 1));
  }
  specs.push(...norm('final.ln', C), ...linear('head', C, c.numClasses, 'zeros'));
  return specs;
}

export function encoderBlockOf(store: ParamStore, c: ClassifierConfig, l: number): EncoderBlockParams {
  const p = `block.${l}`, tape = store.has(`${p}.tape_mlp1.w`);
  return {
    ln: normOf(store, `${p}.ln`), qkv: linearOf(store, `${p}.qkv`), out: linearOf(store, `${p}.out`), lnMlp: normOf(store, `${p}.ln_mlp`),
    mlp1: linearOf(store, `${p}.mlp1`), mlp2: linearOf(store, `${p}.mlp2`),
    tapeMlp1: tape ? linearOf(store, `${p}.tape_mlp1`) : null, tapeMlp2: tape ? linearOf(store, `${p}.tape_mlp2`) : null, heads: c.numHeads,
  };
}
