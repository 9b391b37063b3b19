// The PyTorch port's models (krasserm/perceiver-io; spec krasserm-interop §2–§4) as configurations
// of ours: its config mapped to a ModelConfig with the port's switches set, and its state dict
// mapped tensor by tensor to our parameters and back. PyTorch Linear weights are [out, in] and ours
// [in, out]; its separate q/k/v projections are our fused kv (cross-attend) and qkv (self-attention)
// matrices; its absolute table (0-based positions) fills rows 1… of ours (1-based event index).
// Token ids are shifted by one: our id 0 is PAD (no token), so the port's id t is our t + 1, the
// vocabulary one larger, and PAD's logit excluded from the softmax (padLogit 'excluded').
import { InputError } from '../../errors.js';
import type { ParamStore } from '../../nn/params.js';
import { MODEL_DEFAULTS, validateModelConfig, type ModelConfig } from './config.js';
import { checkPortStateDict, portRotaryDims, type PortConfig } from './port-config.js';

/** A tensor in the port's layout: its shape (PyTorch's) and float32 values, row-major. */
export interface PortTensor { readonly shape: readonly number[]; readonly data: Float32Array }

/**
 * The switches that make our Perceiver AR the port's architecture (spec krasserm-interop §4), for a
 * model of width C built here and exported later; with them embedDim = width, crossAttendHeads =
 * numHeads, and either position 'rotary' with rotaryFraction 1, or 'learned+rotary' (the port's
 * abs_pos_emb) with rotaryFraction 0.5 and maxPosition = contextLength.
 */
export const PORT_ARCHITECTURE = Object.freeze({
  position: 'rotary', rotaryFraction: 1, rotarySpacing: 'roformer', maxWavelength: 10000, rotaryLayers: 1, positionDims: 1, zLoss: 0, layerNormEps: 1e-5,
  latentInput: 'embedding', latentKeyNorm: 'query', linearBiases: 'cross-output', activation: 'gelu-erf', outputNorm: true, outputHead: 'tied',
  padLogit: 'excluded', positionOrigin: 'window', crossAttendDropoutMode: 'subsample',
} satisfies Partial<ModelConfig>);

/** The port's model as our configuration, and what of its config has no effect here (one line each). */
export function modelConfigFromPort(pc: PortConfig): { config: ModelConfig; notes: string[] } {
  const notes: string[] = [];
  if (pc.crossAttentionWidening !== pc.selfAttentionWidening) {
    throw new InputError(`the port's config has cross_attention_widening_factor ${pc.crossAttentionWidening} and self_attention_widening_factor ` +
      `${pc.selfAttentionWidening}; this library's model has one MLP ratio for both`);
  }
  if (pc.postAttentionDropout > 0) notes.push(`post_attention_dropout ${pc.postAttentionDropout} (dropout on attention weights while training) is not implemented here; training uses none`);
  const config = validateModelConfig({
    ...MODEL_DEFAULTS, ...PORT_ARCHITECTURE,
    vocabSize: pc.vocabSize + 1, contextLength: pc.maxSeqLen, numLatents: pc.maxLatents, numLayers: pc.selfAttentionLayers,
    width: pc.channels, embedDim: pc.channels, numHeads: pc.heads, crossAttendHeads: pc.heads, mlpRatio: pc.selfAttentionWidening,
    position: pc.absPosEmb ? 'learned+rotary' : 'rotary', rotaryFraction: pc.absPosEmb ? 0.5 : 1, rotaryLayers: pc.selfAttentionRotaryLayers,
    maxPosition: pc.maxSeqLen, dropout: pc.residualDropout, crossAttendDropout: pc.crossAttentionDropout,
    outputNorm: pc.outputNorm, outputHead: pc.outputBias ? 'tied+bias' : 'tied',
  });
  return { config, notes };
}

/** The port's config for one of our models, or an InputError listing every switch that keeps it from the port's architecture. */
export function portConfigFromModel(c: ModelConfig): PortConfig {
  const want: Partial<Record<keyof ModelConfig, unknown>> = {
    embedDim: c.width, crossAttendHeads: c.numHeads, position: c.position === 'learned+rotary' ? 'learned+rotary' : 'rotary', rotarySpacing: 'roformer',
    maxWavelength: 10000, rotaryFraction: c.position === 'learned+rotary' ? 0.5 : 1, positionDims: 1, layerNormEps: 1e-5, tapeLength: 0,
    latentInput: 'embedding', latentKeyNorm: 'query', linearBiases: 'cross-output', activation: 'gelu-erf',
    outputHead: c.outputHead === 'linear' ? 'tied or tied+bias' : c.outputHead, padLogit: 'excluded', positionOrigin: 'window',
  };
  const wrong = Object.entries(want).filter(([k, v]) => c[k as keyof ModelConfig] !== v)
    .map(([k, v]) => `${k} is ${JSON.stringify(c[k as keyof ModelConfig])}, the port needs ${JSON.stringify(v)}`);
  if (wrong.length) throw new InputError(`this model is not of the port's architecture:\n  ${wrong.join('\n  ')}`);
  const pc: PortConfig = {
    vocabSize: c.vocabSize - 1, maxSeqLen: c.contextLength, maxLatents: c.numLatents, channels: c.width, heads: c.numHeads, maxHeadsParallel: null,
    selfAttentionLayers: c.numLayers, selfAttentionRotaryLayers: c.rotaryLayers, selfAttentionWidening: c.mlpRatio, crossAttentionWidening: c.mlpRatio,
    crossAttentionDropout: c.crossAttendDropout, postAttentionDropout: 0, residualDropout: c.dropout, outputNorm: c.outputNorm,
    outputBias: c.outputHead === 'tied+bias', absPosEmb: c.position === 'learned+rotary', initScale: 0.02,
  };
  if (portRotaryDims(pc) % 2 !== 0) throw new InputError(`this model's rotary dimensions per head (${portRotaryDims(pc)}) are odd; the port needs them even`);
  return pc;
}

/**
 * One parameter of ours and the port tensors it is made of: 'same' (equal layout), 'linear' (the
 * port's [out, in] weights, transposed and placed side by side along our out dimension), 'shifted'
 * (the port's rows 0… are our rows 1…; our row 0, PAD's, is zero).
 */
interface Link { readonly ours: string; readonly port: readonly string[]; readonly kind: 'same' | 'linear' | 'shifted' }

function links(c: ModelConfig): Link[] {
  const out: Link[] = [{ ours: 'embed.tokens', port: ['input_adapter.txt_embedding.weight'], kind: 'shifted' }];
  if (c.position === 'learned+rotary') out.push({ ours: 'embed.position.0', port: ['input_adapter.pos_embedding.weight'], kind: 'shifted' });
  const same = (ours: string, port: string): void => { out.push({ ours, port: [port], kind: 'same' }); };
  const lin = (ours: string, ...port: string[]): void => { out.push({ ours, port, kind: 'linear' }); };
  const norm = (ours: string, port: string): void => { same(`${ours}.g`, `${port}.weight`); same(`${ours}.b`, `${port}.bias`); };
  const mlp = (ours: string, port: string): void => { norm(`${ours}.ln_mlp`, `${port}.0`); lin(`${ours}.mlp1.w`, `${port}.1.weight`); lin(`${ours}.mlp2.w`, `${port}.3.weight`); };
  const ca = 'cross_attention.0.module', att = `${ca}.attention`;
  norm('cross.ln_q', `${ca}.q_norm`); norm('cross.ln_kv', `${ca}.kv_norm`);
  lin('cross.q.w', `${att}.q_proj.weight`); lin('cross.kv.w', `${att}.k_proj.weight`, `${att}.v_proj.weight`);
  lin('cross.out.w', `${att}.o_proj.weight`); same('cross.out.b', `${att}.o_proj.bias`);
  mlp('cross', 'cross_attention.1.module');
  for (let l = 0; l < c.numLayers; l++) {
    const sa = `self_attention.${l}.0.module`;
    norm(`self.${l}.ln`, `${sa}.norm`);
    lin(`self.${l}.qkv.w`, `${sa}.attention.q_proj.weight`, `${sa}.attention.k_proj.weight`, `${sa}.attention.v_proj.weight`);
    lin(`self.${l}.out.w`, `${sa}.attention.o_proj.weight`);
    mlp(`self.${l}`, `self_attention.${l}.1.module`);
  }
  if (c.outputNorm) norm('final.ln', 'out_norm');
  if (c.outputHead === 'tied+bias') out.push({ ours: 'head.b', port: ['output_adapter.bias'], kind: 'shifted' });
  return out;
}

/**
 * Our parameters (name → values in our layout) from a port state dict for `pc` (checked tensor by
 * tensor first: prefix removed, names and shapes; `what` names the file in messages).
 */
export function tensorsFromPort(pc: PortConfig, config: ModelConfig, tensors: ReadonlyMap<string, PortTensor>, what: string): Map<string, Float32Array> {
  const got = checkPortStateDict(tensors, pc, what), out = new Map<string, Float32Array>();
  for (const link of links(config)) {
    const parts = link.port.map((n) => got.get(n)!);
    if (link.kind === 'same') { out.set(link.ours, Float32Array.from(parts[0]!.data)); continue; }
    if (link.kind === 'shifted') {
      const cols = parts[0]!.shape[1] ?? 1, t = new Float32Array(parts[0]!.data.length + cols);
      t.set(parts[0]!.data, cols);
      out.set(link.ours, t);
      continue;
    }
    // [out_k, in] each → ours [in, Σ out_k].
    const inDim = parts[0]!.shape[1]!, total = parts.reduce((s, p) => s + p.shape[0]!, 0), w = new Float32Array(inDim * total);
    let col = 0;
    for (const p of parts) {
      const o = p.shape[0]!;
      for (let r = 0; r < o; r++) for (let i = 0; i < inDim; i++) w[i * total + col + r] = p.data[r * inDim + i]!;
      col += o;
    }
    out.set(link.ours, w);
  }
  return out;
}

/**
 * The port's state dict (names without a prefix, its shapes) from our parameters (`get` returns a
 * parameter's values), with its rotary buffer inv_freq as the port computes it in float32
 * (1 / 10000^(2j/r)), since PyTorch's strict loading expects it.
 */
export function tensorsToPort(config: ModelConfig, get: (name: string) => Float32Array): Map<string, PortTensor> {
  const out = new Map<string, PortTensor>(), C = config.width;
  const r = portRotaryDims(portConfigFromModel(config)), f = Math.fround;
  out.set('input_adapter.frq_pos_encoding.inv_freq', { shape: [r / 2], data: Float32Array.from({ length: r / 2 }, (_, j) => f(1 / f(10000 ** f((2 * j) / r)))) });
  for (const link of links(config)) {
    const v = get(link.ours);
    if (link.kind === 'same') {
      out.set(link.port[0]!, { shape: [v.length], data: Float32Array.from(v) });
      continue;
    }
    if (link.kind === 'shifted') {
      // The position table: positions restart at each window (positionOrigin 'window'), so rows past the context are never read; the port's has max_seq_len rows.
      const cols = link.ours === 'head.b' ? 1 : C, rows = link.ours === 'embed.position.0' ? config.contextLength : v.length / cols - 1;
      out.set(link.port[0]!, { shape: cols === 1 ? [rows] : [rows, cols], data: v.slice(cols, (rows + 1) * cols) });
      continue;
    }
    const total = linkOutDim(config, link.ours), inDim = v.length / total, each = total / link.port.length;
    link.port.forEach((name, k) => {
      const w = new Float32Array(each * inDim);
      for (let r = 0; r < each; r++) for (let i = 0; i < inDim; i++) w[r * inDim + i] = v[i * total + k * each + r]!;
      out.set(name, { shape: [each, inDim], data: w });
    });
  }
  return out;
}

/** Our out dimension of a linear weight (its second axis). */
function linkOutDim(c: ModelConfig, name: string): number {
  const C = c.width, F = c.mlpRatio * C;
  if (name.endsWith('.qkv.w')) return 3 * C;
  if (name === 'cross.kv.w') return 2 * C;
  if (name.endsWith('.mlp1.w')) return F;
  return C;
}

/** Fills every parameter of `params` (a model built from modelConfigFromPort(pc)) from a port state dict. */
export function loadPortWeights(params: ParamStore, config: ModelConfig, pc: PortConfig, tensors: ReadonlyMap<string, PortTensor>, what: string): void {
  const values = tensorsFromPort(pc, config, tensors, what);
  for (const p of params.list) {
    const v = values.get(p.spec.name);
    if (!v || v.length !== p.size) throw new InputError(`${what}: no tensor for parameter ${p.spec.name} of [${p.spec.shape.join(', ')}] (a config/model mismatch)`);
    p.value.set(v);
  }
}
