// The PyTorch port's model files (config.json + pytorch_model.bin, model.safetensors or a Lightning
// .ckpt) as one of our checkpoints, and one of our port-compatible models as the port's files
// (spec krasserm-interop §1–§3). Platform-neutral: bytes in, bytes out.
import type { DataConfig } from '../data/modality.js';
import { DATA_DEFAULTS, MODALITIES, storedDataConfig } from '../data/registry.js';
import { InputError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type Tensor } from '../io/safetensors.js';
import { readTorchStateDict } from '../io/torch-checkpoint.js';
import { encodeTorchStateDict } from '../io/torch-save.js';
import type { ModelConfig } from '../models/perceiver-ar/config.js';
import { modelParamSpecs } from '../models/perceiver-ar/params.js';
import { PORT_PREFIXES, readPortConfig, type PortConfig } from '../models/perceiver-ar/port-config.js';
import { modelConfigFromPort, portConfigFromModel, tensorsFromPort, tensorsToPort, type PortTensor } from '../models/perceiver-ar/port-weights.js';
import type { ParamStore } from '../nn/params.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint.js';

/** The files of a port model: its config.json and one weights file (the name says its format). */
export interface PortFiles {
  readonly config: Uint8Array;
  readonly configName: string;
  readonly weights: Uint8Array;
  readonly weightsName: string;
  /** A tokenizer.json that came with the model (its text model's), by path: stored as its data (port-text). */
  readonly tokenizerPath?: string;
}

/** The weights file names a port model folder may hold, in the order they are looked for. */
export const PORT_WEIGHT_FILES = ['model.safetensors', 'pytorch_model.bin'] as const;

/** A weights file's tensors: safetensors (F32/F16/BF16, widened) or a torch.save zip (pytorch_model.bin, a Lightning .ckpt). */
export function readPortWeights(bytes: Uint8Array, name: string): Map<string, PortTensor> {
  if (/\.safetensors$/i.test(name)) {
    try {
      const { tensors } = decodeSafetensors(bytes, name);
      const out = new Map<string, PortTensor>();
      for (const [k, t] of tensors) {
        if (!(t.data instanceof Float32Array)) throw new InputError(`${name}: tensor '${k}' is ${t.dtype}; a model's weights are floating point`);
        out.set(k, { shape: t.shape, data: t.data });
      }
      return out;
    } catch (e) {
      if (e instanceof SafetensorsError) throw new InputError(e.message);
      throw e;
    }
  }
  return readTorchStateDict(bytes, name);
}

export function readPortConfigFile(bytes: Uint8Array, name: string): PortConfig {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new InputError(`${name}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return readPortConfig(json, name);
}

/**
 * The data an imported model is stored with when none is given: the first kind of data that claims
 * it (SequenceModality.importedData: text through the tokenizer that came with it, the port's music
 * tokens for its music vocabulary), else none.
 */
export function inferredPortData(pc: PortConfig, tokenizerPath?: string): DataConfig | null {
  const model = { vocabSize: pc.vocabSize, ...(tokenizerPath ? { tokenizerPath } : {}) };
  for (const m of MODALITIES) {
    const keys = m.task === 'sequence' ? m.importedData?.(model) : null;
    if (keys) return { ...DATA_DEFAULTS, ...keys, data: m.name } as DataConfig;
  }
  return null;
}

/**
 * A port model as one of our checkpoints (float32 safetensors with our config in its header), for
 * `import` and for reading a port folder where a checkpoint is expected. `notes`: what of its config
 * has no effect here.
 */
export interface PortCheckpoint { readonly bytes: Uint8Array; readonly notes: string[]; readonly config: ModelConfig; readonly port: PortConfig; readonly data: DataConfig | null }

export function portCheckpoint(files: PortFiles, data: DataConfig | null = null): PortCheckpoint {
  const port = readPortConfigFile(files.config, files.configName);
  const { config, notes } = modelConfigFromPort(port);
  const values = tensorsFromPort(port, config, readPortWeights(files.weights, files.weightsName), files.weightsName);
  const tensors = new Map<string, Tensor>();
  for (const spec of modelParamSpecs(config)) tensors.set(spec.name, { dtype: 'F32', shape: spec.shape, data: values.get(spec.name)! });
  // A kind given without its tokenizer takes the one that came with the model.
  const stored = data ? { ...data, ...(data.tokenizer === '' && files.tokenizerPath ? { tokenizer: files.tokenizerPath } : {}) } as DataConfig
    : inferredPortData(port, files.tokenizerPath);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT, formatVersion: String(CHECKPOINT_VERSION), model: JSON.stringify(config), architecture: 'perceiver-ar',
    importedFrom: `${files.configName} + ${files.weightsName} (the PyTorch port's layout)`,
    ...(stored ? { data: JSON.stringify(storedDataConfig(stored)) } : {}),
  };
  return { bytes: encodeSafetensors(tensors, metadata), notes, config, port, data: stored };
}

/**
 * One of our port-compatible models as the port's files: config.json (its `model_config`, as the
 * hub's files hold it) and pytorch_model.bin (torch.save of the state dict, keys under
 * `backend_model.` as the hub's; float32). An InputError lists what keeps a model from the port's architecture.
 */
export function exportPortFiles(config: ModelConfig, params: ParamStore): { 'config.json': Uint8Array; 'pytorch_model.bin': Uint8Array } {
  const pc = portConfigFromModel(config);
  const tensors = tensorsToPort(config, (name) => params.get(name).value);
  const json = {
    model_config: {
      vocab_size: pc.vocabSize, max_seq_len: pc.maxSeqLen, max_latents: pc.maxLatents, num_channels: pc.channels, num_heads: pc.heads,
      max_heads_parallel: pc.maxHeadsParallel, num_self_attention_layers: pc.selfAttentionLayers,
      num_self_attention_rotary_layers: pc.selfAttentionRotaryLayers, self_attention_widening_factor: pc.selfAttentionWidening,
      cross_attention_widening_factor: pc.crossAttentionWidening, cross_attention_dropout: pc.crossAttentionDropout,
      post_attention_dropout: pc.postAttentionDropout, residual_dropout: pc.residualDropout, output_norm: pc.outputNorm, output_bias: pc.outputBias,
      abs_pos_emb: pc.absPosEmb, init_scale: pc.initScale, activation_checkpointing: false, activation_offloading: false,
    },
  };
  const prefixed = new Map([...tensors].map(([k, t]) => [`${PORT_PREFIXES[0]}${k}`, t]));
  return { 'config.json': new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`), 'pytorch_model.bin': encodeTorchStateDict(prefixed, 'archive') };
}
