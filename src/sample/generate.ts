// Autoregressive generation (spec §6): cached decoding (prime with one latent, single-token
// steps, re-encode with N_fill latents when a latent cache is full) or plain uncached forwards.
import { EOS, PAD } from '../data/vocab.js';
import type { DecodeCache } from '../models/perceiver-ar/cache.js';
import { checkPositionReach, hasTable } from '../models/perceiver-ar/config.js';
import type { Batch } from '../models/perceiver-ar/layout.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import type { WeightFormat } from '../nn/params.js';
import { Rng } from '../tensor/rng.js';
import { checkSampling, sampleToken, type SamplingConfig } from './sampling.js';

export interface GenerateOptions extends SamplingConfig {
  readonly maxNewTokens: number;
  readonly seed: number;
  readonly stopAtEos: boolean;
  /** Latent cache size N (default the model's numLatents; ≤ contextLength). */
  readonly numLatents?: number;
  /** Latents re-encoded at a reset (default ⌊N/2⌋, as the reference). */
  readonly fillLatents?: number;
  /** false: one full forward per token (for comparison and benchmarks). */
  readonly cached: boolean;
  /** Latents of each uncached forward (default 1: only the newest position is needed). */
  readonly uncachedLatents?: number;
  /** Optional per-position vocabulary mask (1 = allowed) for the token at that position. */
  readonly allowedTokens?: (position: number) => Uint8Array | null;
  /**
   * The coordinates of the event at a 1-based position (e.g. x, y, channel of an image subpixel),
   * for models with one absolute table per coordinate (positionDims > 1); required by them.
   */
  readonly coordinates?: (position: number) => ArrayLike<number>;
  /**
   * The weights decoding reads (model.setWeightFormat): 'bf16' rounds the model's weight matrices
   * to bf16 and decodes from packed 16-bit copies, about half the bytes per token (docs/engine.md);
   * absent: the model as it is. A model once made bf16 stays so ('f32' is then refused).
   */
  readonly weights?: WeightFormat;
  /** Called with each new token after it is appended; true stops generation there (e.g. music after N seconds). */
  readonly stopAfter?: (token: number) => boolean;
}

export interface GenerateResult {
  readonly tokens: Int32Array;
  readonly resets: number;
  /** From the start (after any weight conversion) to the last token. */
  readonly seconds: number;
  /** From the start to the first token: the prompt's prime (or first forward) and one sampling; 0 with no tokens. */
  readonly firstTokenSeconds: number;
}

/** Tokens per second of the steps after the first token (what a decode step costs, without the prime); NaN with < 2 tokens. */
export function stepsPerSecond(r: GenerateResult): number {
  return r.tokens.length < 2 ? NaN : (r.tokens.length - 1) / (r.seconds - r.firstTokenSeconds);
}

/** A batch of one row: the last ≤ M ids of the sequence at their event indices (and coordinates, when given). */
export function windowBatch(sequence: readonly number[], contextLength: number, coordinates?: (position: number) => ArrayLike<number>): Batch {
  const start = Math.max(0, sequence.length - contextLength), n = sequence.length - start;
  const tokens = Int32Array.from(sequence.slice(start)), positions = new Int32Array(n);
  for (let j = 0; j < n; j++) positions[j] = start + j + 1;
  if (!coordinates) return { batchSize: 1, length: n, tokens, positions, targets: new Int32Array(n) };
  const P = coordinates(positions[0]!).length, coords = new Int32Array(n * P);
  for (let j = 0; j < n; j++) coords.set(coordinates(positions[j]!), j * P);
  return { batchSize: 1, length: n, tokens, positions, coordinates: coords, coordinateDims: P, targets: new Int32Array(n) };
}

/** The logits row of the last latent from the model's most recent forward. */
function lastLatentLogits(model: PerceiverAR, latents: number): Float32Array {
  const V = model.config.vocabSize;
  return model.logits().subarray((latents - 1) * V, latents * V);
}

function uncachedStep(model: PerceiverAR, seq: readonly number[], latents: number, coordinates?: (position: number) => ArrayLike<number>): Float32Array {
  const window = windowBatch(seq, model.config.contextLength, coordinates), n = Math.min(latents, window.length);
  model.forward(window, { numLatents: n });
  return lastLatentLogits(model, n);
}

export function generate(model: PerceiverAR, prompt: ArrayLike<number>, opts: GenerateOptions,
  onToken?: (id: number) => void): GenerateResult {
  checkSampling(opts);
  const c = model.config;
  if (prompt.length < 1) throw new RangeError('generate: the prompt needs at least one token (usually SOS)');
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new RangeError(`maxNewTokens must be an integer ≥ 0, got ${opts.maxNewTokens}`);
  const N = opts.numLatents ?? c.numLatents;
  if (!Number.isInteger(N) || N < 1 || N > c.contextLength) throw new RangeError(`numLatents must be in [1, ${c.contextLength}], got ${N}`);
  const fill = opts.fillLatents ?? Math.max(1, Math.floor(N / 2));
  if (!Number.isInteger(fill) || fill < 1 || fill > N) throw new RangeError(`fillLatents must be in [1, numLatents = ${N}], got ${fill}`);
  // The last token fed to the model sits at position prompt + maxNewTokens − 1 (the final one is only sampled).
  if (c.positionDims === 1) checkPositionReach(c, prompt.length + Math.max(0, opts.maxNewTokens - 1),
    `generating ${opts.maxNewTokens} tokens after a ${prompt.length}-token prompt`);
  const coords = opts.coordinates;
  if (c.position !== 'rotary' && c.positionDims > 1 && !coords) {
    throw new RangeError(`generate: this model embeds ${c.positionDims} coordinates per event; give options.coordinates(position) (e.g. from the data's codec)`);
  }
  if (opts.weights !== undefined) model.setWeightFormat(opts.weights);
  // With positions counted from each window (positionOrigin 'window') and a table, how far a primed window may grow.
  const tableReach = hasTable(c) && c.positionOrigin === 'window' ? c.maxPosition : Infinity;
  const rng = new Rng(opts.seed);
  const seq = Array.from(prompt);
  const out: number[] = [];
  const started = performance.now();
  let cache: DecodeCache | null = null, resets = 0, firstAt = started;
  let logits: Float32Array;
  if (opts.cached) {
    cache = model.decodeCache(N);
    model.forward(windowBatch(seq, c.contextLength, coords), { numLatents: 1, cache });
    logits = lastLatentLogits(model, 1);
  } else {
    logits = uncachedStep(model, seq, opts.uncachedLatents ?? 1, coords);
  }
  // PAD is never generated (it marks "no token" in batches); a user mask narrows further.
  const noPad = new Uint8Array(c.vocabSize).fill(1);
  noPad[PAD] = 0;
  const allowedAt = (position: number): Uint8Array => {
    const user = opts.allowedTokens?.(position);
    if (!user) return noPad;
    if (user.length !== c.vocabSize) throw new RangeError(`allowedTokens(${position}) has ${user.length} entries; the vocabulary has ${c.vocabSize}`);
    return user.map((a, i) => (a && noPad[i] ? 1 : 0));
  };
  for (let i = 0; i < opts.maxNewTokens; i++) {
    if (!logits.every(Number.isFinite)) {
      throw new RangeError(`generate: the model's logits for new token ${i + 1} are not finite (NaN or ±Inf): its weights overflow float32 ` +
        '(a damaged or diverged checkpoint?)');
    }
    const next = sampleToken(logits, opts, rng, allowedAt(seq.length + 1));
    seq.push(next);
    out.push(next);
    if (i === 0) firstAt = performance.now();
    onToken?.(next);
    if (opts.stopAtEos && next === EOS) break;
    if (i === opts.maxNewTokens - 1 || opts.stopAfter?.(next)) break;
    if (!cache) {
      logits = uncachedStep(model, seq, opts.uncachedLatents ?? 1, coords);
    } else if (cache.layers.some((l) => l.count >= l.capacity) || seq.length - cache.origin > tableReach) {
      // A latent cache is full, or (positions from the window's start) the next position would pass the absolute table: re-encode.
      const window = windowBatch(seq, c.contextLength, coords), latents = Math.min(fill, window.length);
      model.forward(window, { numLatents: latents, cache });
      logits = lastLatentLogits(model, latents);
      resets++;
    } else {
      logits = model.decodeStep(cache, next, seq.length, coords?.(seq.length));
    }
  }
  return { tokens: Int32Array.from(out), resets, seconds: (performance.now() - started) / 1000, firstTokenSeconds: (firstAt - started) / 1000 };
}
