// Likelihood evaluation over a token stream (spec §7). Target t (t ≥ 1) is predicted from the
// inputs before it. Strided: blocks of S consecutive targets, each scored by the last S latents of
// one forward over the (up to M) inputs ending just before the block's last target. Exact: S = 1, one
// window per target (the full-context likelihood). More latents than scored targets may be used.
import type { Batch } from '../models/perceiver-ar/layout.js';
import { checkPositionReach } from '../models/perceiver-ar/config.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import type { TransformerXL } from '../models/transformer-xl/model.js';
import { maxOf } from '../tensor/extent.js';

export interface EvalOptions {
  /** Targets scored per window (1 = exact). */
  readonly stride: number;
  /** Latents per window (≥ stride; default stride). */
  readonly numLatents?: number;
  /** Windows per forward. */
  readonly batchSize: number;
  /** Score at most this many targets (from the start); 0 = all. */
  readonly maxTargets: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EvalResult {
  readonly nats: number;
  readonly bitsPerToken: number;
  readonly tokens: number;
  readonly seconds: number;
}

export function evaluateStream(model: PerceiverAR, ids: Int32Array, opts: EvalOptions): EvalResult {
  const c = model.config, M = c.contextLength, S = opts.stride, N = opts.numLatents ?? S;
  if (!Number.isInteger(S) || S < 1 || S > M) throw new RangeError(`stride must be an integer in [1, ${M}], got ${S}`);
  if (!Number.isInteger(N) || N < S || N > M) throw new RangeError(`numLatents must be an integer in [stride = ${S}, ${M}], got ${N}`);
  if (c.position !== 'rotary' && c.positionDims > 1) {
    throw new RangeError(`evaluateStream scores a 1-D stream, but this model embeds ${c.positionDims} coordinates per event; evaluate it on its own data`);
  }
  const blocks = targetBlocks(ids, S, opts.maxTargets);
  checkPositionReach(c, blocks[blocks.length - 1]![1] - 1, `evaluating ${blocks[blocks.length - 1]![1] - 1} targets of a stream`);
  const started = performance.now();
  let nats = 0, tokens = 0;
  for (let i = 0; i < blocks.length; i += opts.batchSize) {
    const group = blocks.slice(i, i + opts.batchSize);
    // Rows share one latent count, so a final short block goes in a group of its own.
    const full = group.filter(([a, b]) => b - a === S), short = group.filter(([a, b]) => b - a !== S);
    for (const part of [full, short]) {
      if (part.length === 0) continue;
      const scored = part[0]![1] - part[0]![0];
      const batch = windowRows(ids, part, M, scored);
      const r = model.forward(batch, { numLatents: Math.min(N, batch.length) });
      nats += r.crossEntropy * r.tokens;
      tokens += r.tokens;
    }
    opts.onProgress?.(Math.min(blocks.length, i + opts.batchSize), blocks.length);
  }
  const mean = nats / tokens;
  return { nats: mean, bitsPerToken: mean / Math.LN2, tokens, seconds: (performance.now() - started) / 1000 };
}

/**
 * Transformer-XL: consecutive windows of contextLength targets, each scored in full by one forward
 * (its segments share the memory, which starts empty in every window).
 */
export function evaluateXLStream(model: TransformerXL, ids: Int32Array, opts: Omit<EvalOptions, 'stride' | 'numLatents'>): EvalResult {
  const M = model.config.contextLength;
  const blocks = targetBlocks(ids, M, opts.maxTargets);
  const started = performance.now();
  let nats = 0, tokens = 0;
  for (let i = 0; i < blocks.length; i += opts.batchSize) {
    const r = model.forward(windowRows(ids, blocks.slice(i, i + opts.batchSize), M, M));
    nats += r.crossEntropy * r.tokens;
    tokens += r.tokens;
    opts.onProgress?.(Math.min(blocks.length, i + opts.batchSize), blocks.length);
  }
  const mean = nats / tokens;
  return { nats: mean, bitsPerToken: mean / Math.LN2, tokens, seconds: (performance.now() - started) / 1000 };
}

/**
 * Either sequence model over a stream: Perceiver AR with its stride and latent count, Transformer-XL
 * (whose windows are its context) without; `knobs` is null for Transformer-XL.
 */
export function evaluateModelStream(model: PerceiverAR | TransformerXL, ids: Int32Array,
  opts: Omit<EvalOptions, 'stride' | 'numLatents'> & { readonly knobs: { readonly stride: number; readonly numLatents: number } | null }): EvalResult {
  if ('segmentLength' in model.config) return evaluateXLStream(model as TransformerXL, ids, opts);
  if (!opts.knobs) throw new RangeError('evaluateModelStream: a Perceiver AR model needs a stride and a latent count');
  return evaluateStream(model as PerceiverAR, ids, { ...opts, ...opts.knobs });
}

/** Blocks [t0, t1) of `size` consecutive targets (t ≥ 1), over at most maxTargets targets (0 = all). */
function targetBlocks(ids: Int32Array, size: number, maxTargets: number): [number, number][] {
  if (ids.length < 2) throw new RangeError('evaluation needs at least 2 tokens');
  const last = maxTargets > 0 ? Math.min(ids.length, 1 + maxTargets) : ids.length;
  const blocks: [number, number][] = [];
  for (let t0 = 1; t0 < last; t0 += size) blocks.push([t0, Math.min(t0 + size, last)]);
  return blocks;
}

/**
 * One row per block of targets [t0, t1): the inputs that predict them end at t1 − 2, so a row holds
 * ids[max(0, t1 − 1 − M) … t1 − 2] at their absolute positions, with targets only on inputs
 * t0 − 1 … t1 − 2 (the rest PAD: unscored).
 */
function windowRows(ids: Int32Array, blocks: readonly [number, number][], M: number, scored: number): Batch {
  const B = blocks.length, len = Math.min(M, maxOf(blocks.map(([, t1]) => t1 - 1)));
  const tokens = new Int32Array(B * len), positions = new Int32Array(B * len), targets = new Int32Array(B * len);
  blocks.forEach(([t0, t1], b) => {
    const end = t1 - 1, start = Math.max(0, end - M), n = end - start;
    for (let j = 0; j < n; j++) {
      const input = start + j;
      tokens[b * len + j] = ids[input]!;
      positions[b * len + j] = input + 1;
      if (input + 1 >= t0 && input + 1 < t1 && input + 1 >= t1 - scored) targets[b * len + j] = ids[input + 1]!;
    }
  });
  return { batchSize: B, length: len, tokens, positions, targets };
}
