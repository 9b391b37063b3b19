// The PyTorch port's model description (krasserm/perceiver-io v0.11; spec krasserm-interop §1, §3):
// its `config.json` read into a typed config (missing fields take the port's defaults), and the
// names and shapes of the tensors its state dict holds for that config, so a file can be checked
// tensor by tensor before anything is built from it.
import { InputError } from '../../errors.js';

export interface PortConfig {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  readonly maxLatents: number;
  readonly channels: number;
  readonly heads: number;
  /** Heads computed at once (memory only; no effect on results); null: all. */
  readonly maxHeadsParallel: number | null;
  readonly selfAttentionLayers: number;
  /** Self-attention layers with rotary positions, from the first; −1: all. */
  readonly selfAttentionRotaryLayers: number;
  readonly selfAttentionWidening: number;
  readonly crossAttentionWidening: number;
  readonly crossAttentionDropout: number;
  readonly postAttentionDropout: number;
  readonly residualDropout: number;
  readonly outputNorm: boolean;
  readonly outputBias: boolean;
  readonly absPosEmb: boolean;
  readonly initScale: number;
}

/** Each field: its config.json name, its default (the port's), and the kind of value it takes. */
const FIELDS: Readonly<Record<keyof PortConfig, readonly [string, number | boolean | null, 'count' | 'layer count' | 'layers' | 'fraction' | 'flag' | 'positive' | 'optional count']>> = {
  vocabSize: ['vocab_size', 262, 'count'], maxSeqLen: ['max_seq_len', 4096, 'count'], maxLatents: ['max_latents', 512, 'count'],
  channels: ['num_channels', 512, 'count'], heads: ['num_heads', 8, 'count'], maxHeadsParallel: ['max_heads_parallel', null, 'optional count'],
  selfAttentionLayers: ['num_self_attention_layers', 8, 'layer count'], selfAttentionRotaryLayers: ['num_self_attention_rotary_layers', 1, 'layers'],
  selfAttentionWidening: ['self_attention_widening_factor', 4, 'count'], crossAttentionWidening: ['cross_attention_widening_factor', 4, 'count'],
  crossAttentionDropout: ['cross_attention_dropout', 0.5, 'fraction'], postAttentionDropout: ['post_attention_dropout', 0, 'fraction'],
  residualDropout: ['residual_dropout', 0, 'fraction'], outputNorm: ['output_norm', false, 'flag'], outputBias: ['output_bias', true, 'flag'],
  absPosEmb: ['abs_pos_emb', true, 'flag'], initScale: ['init_scale', 0.02, 'positive'],
};
/** Fields of the port's config that do not change the model (training-time memory switches). */
const IGNORED = new Set(['activation_checkpointing', 'activation_offloading']);

const ALLOWED: Record<string, string> = {
  count: 'an integer ≥ 1', 'layer count': 'an integer ≥ 0', layers: 'an integer ≥ −1 (−1: every layer)', fraction: 'a number in [0, 1)', flag: 'true or false',
  positive: 'a number > 0', 'optional count': 'an integer ≥ 1, or null',
};
const valid = (kind: string, v: unknown): boolean => {
  switch (kind) {
    case 'count': return Number.isSafeInteger(v) && (v as number) >= 1;
    case 'layer count': return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'optional count': return v === null || (Number.isSafeInteger(v) && (v as number) >= 1);
    case 'layers': return Number.isSafeInteger(v) && (v as number) >= -1;
    case 'fraction': return typeof v === 'number' && v >= 0 && v < 1;
    case 'flag': return typeof v === 'boolean';
    default: return typeof v === 'number' && v > 0 && Number.isFinite(v);
  }
};

/**
 * A config.json of the port (its `model_config` object, or the object itself) as a PortConfig;
 * `what` names the file. Every problem is listed, one per line; fields it does not know are
 * refused (they might change the model).
 */
export function readPortConfig(json: unknown, what: string): PortConfig {
  const root = typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : null;
  if (!root) throw new InputError(`${what}: not a JSON object`);
  const mc = 'model_config' in root ? root.model_config : root;
  if (typeof mc !== 'object' || mc === null || Array.isArray(mc)) throw new InputError(`${what}: model_config is not an object`);
  const given = mc as Record<string, unknown>, problems: string[] = [], out: Record<string, unknown> = {};
  const names = new Set(Object.values(FIELDS).map(([n]) => n));
  for (const k of Object.keys(given)) if (!names.has(k) && !IGNORED.has(k)) problems.push(`unknown field ${k} (this reader knows ${[...names].join(', ')})`);
  for (const [key, [name, fallback, kind]] of Object.entries(FIELDS)) {
    const v = name in given ? given[name] : fallback;
    if (!valid(kind, v)) problems.push(`${name} is ${JSON.stringify(v)}: must be ${ALLOWED[kind]}`);
    out[key] = v;
  }
  const c = out as unknown as PortConfig;
  if (problems.length === 0 && c.channels % c.heads !== 0) problems.push(`num_channels (${c.channels}) must be a multiple of num_heads (${c.heads})`);
  if (problems.length === 0 && c.channels % c.heads === 0 && portRotaryDims(c) % 2 !== 0) {
    problems.push(`the rotary dimensions per head (${portRotaryDims(c)}: num_channels / num_heads${c.absPosEmb ? ' / 2 with abs_pos_emb' : ''}) must be even`);
  }
  if (problems.length === 0 && c.maxLatents > c.maxSeqLen) problems.push(`max_latents (${c.maxLatents}) is more than max_seq_len (${c.maxSeqLen})`);
  if (problems.length === 0 && c.selfAttentionRotaryLayers > c.selfAttentionLayers) {
    problems.push(`num_self_attention_rotary_layers (${c.selfAttentionRotaryLayers}) is more than num_self_attention_layers (${c.selfAttentionLayers})`);
  }
  if (problems.length > 0) throw new InputError(`${what}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  return c;
}

/** The rotary dimensions per head: all of a head's channels, half of them with an absolute position table (spec §2.3). */
export const portRotaryDims = (c: PortConfig): number => (c.absPosEmb ? c.channels / c.heads / 2 : c.channels / c.heads);

/** The prefixes the port's files put before every tensor name: the hub's `backend_model.`, a Lightning checkpoint's `model.`. */
export const PORT_PREFIXES = ['backend_model.', 'model.'] as const;

/**
 * The tensors of the port's state dict for `c` (names without the prefix), with their shapes
 * (PyTorch Linear weights [out, in]); `buffer`: recomputable from the config, optional in a file.
 */
export function portStateDictShapes(c: PortConfig): Map<string, { shape: number[]; buffer?: boolean }> {
  const C = c.channels, m = new Map<string, { shape: number[]; buffer?: boolean }>();
  const add = (name: string, shape: number[], buffer = false): void => { m.set(name, buffer ? { shape, buffer } : { shape }); };
  add('input_adapter.txt_embedding.weight', [c.vocabSize, C]);
  if (c.absPosEmb) add('input_adapter.pos_embedding.weight', [c.maxSeqLen, C]);
  add('input_adapter.frq_pos_encoding.inv_freq', [portRotaryDims(c) / 2], true);
  const mlp = (prefix: string, widening: number): void => {
    add(`${prefix}.0.weight`, [C]); add(`${prefix}.0.bias`, [C]);
    add(`${prefix}.1.weight`, [widening * C, C]); add(`${prefix}.3.weight`, [C, widening * C]);
  };
  const ca = 'cross_attention.0.module';
  for (const norm of ['q_norm', 'kv_norm']) { add(`${ca}.${norm}.weight`, [C]); add(`${ca}.${norm}.bias`, [C]); }
  for (const p of ['q', 'k', 'v', 'o']) add(`${ca}.attention.${p}_proj.weight`, [C, C]);
  add(`${ca}.attention.o_proj.bias`, [C]);
  mlp('cross_attention.1.module', c.crossAttentionWidening);
  for (let i = 0; i < c.selfAttentionLayers; i++) {
    const sa = `self_attention.${i}.0.module`;
    add(`${sa}.norm.weight`, [C]); add(`${sa}.norm.bias`, [C]);
    for (const p of ['q', 'k', 'v', 'o']) add(`${sa}.attention.${p}_proj.weight`, [C, C]);
    mlp(`self_attention.${i}.1.module`, c.selfAttentionWidening);
  }
  if (c.outputNorm) { add('out_norm.weight', [C]); add('out_norm.bias', [C]); }
  if (c.outputBias) add('output_adapter.bias', [c.vocabSize]);
  return m;
}

/** The parameter count of the port's model for `c` (buffers not counted). */
export const portParameterCount = (c: PortConfig): number =>
  [...portStateDictShapes(c).values()].filter((t) => !t.buffer).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);

/**
 * A port state dict checked against `c`: the common prefix removed, every tensor present with its
 * shape, nothing unknown. Returns the tensors by their names without the prefix; an InputError
 * names the first tensors that are wrong (up to 5 of each kind).
 */
export function checkPortStateDict<T extends { readonly shape: readonly number[] }>(tensors: ReadonlyMap<string, T>, c: PortConfig, what: string): Map<string, T> {
  const names = [...tensors.keys()], prefix = PORT_PREFIXES.find((p) => names.length > 0 && names.every((n) => n.startsWith(p))) ?? '';
  const want = portStateDictShapes(c), got = new Map<string, T>(), problems: string[] = [];
  for (const [name, t] of tensors) got.set(name.slice(prefix.length), t);
  const list = (xs: string[]): string => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, … (${xs.length} in all)` : ''}`;
  const missing = [...want].filter(([n, s]) => !got.has(n) && !s.buffer).map(([n]) => n);
  const unknown = [...got.keys()].filter((n) => !want.has(n));
  const misshapen = [...got].filter(([n, t]) => want.has(n) && want.get(n)!.shape.join('x') !== t.shape.join('x'))
    .map(([n, t]) => `${n} is [${t.shape.join(', ')}], the config needs [${want.get(n)!.shape.join(', ')}]`);
  if (missing.length) problems.push(`missing tensor${missing.length > 1 ? 's' : ''} ${list(missing)}`);
  if (unknown.length) problems.push(`unknown tensor${unknown.length > 1 ? 's' : ''} ${list(unknown)}`);
  if (misshapen.length) problems.push(...misshapen.slice(0, 5));
  if (problems.length) throw new InputError(`${what}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  return got;
}
