// The Perceiver AR model (spec §3–§5): forward and backward orchestration over the kernel set.
//   E = embed(tokens) (+ absolute positions)       [B·M, C_in]
//   z0 = Linear(E[last N valid inputs])             [B·N, C]
//   z1 = CrossAttendBlock(z0, keys = E or a subsample of E)
//   z_{l+1} = SelfAttendBlock(z_l), l = 1…L;  logits = Linear(LN(z_{L+1}))
import { countingAllocator, trackedAllocator, type Engine, type LiveSection, type RecordedJobs } from '../../engine.js';
import type { F32 } from '../../kernels/types.js';
import { dropoutHash } from '../../kernels/formulas.js';
import { linearBackward, linearForward, linearForwardNormed } from '../../nn/linear.js';
import { ParamStore, type WeightFormat } from '../../nn/params.js';
import { PAD } from '../../nn/batch.js';
import { Rng } from '../../tensor/rng.js';
import { blockBackward, blockForward, prepareKeys, type BlockContext, type KeyActs } from './blocks.js';
import { batchEmbedder } from './embedder.js';
import { KvStore, StreamedKeys, type InputEmbedder } from './streamed-keys.js';
import { hasLearnedTable, hasRotary, hasTable, rotatesLayer, validateModelConfig, type ModelConfig } from './config.js';
import { absolutePositionReader, checkBatch, IGNORE, layoutLatents, type Batch, type LatentLayout } from './layout.js';
import { linearOf, normOf } from '../../nn/layer-params.js';
import { crossBlockParams, modelParamSpecs, selfBlockParams, type BlockParams } from './params.js';
import { allocateWorkspace, planWorkspace, type Workspace } from './workspace.js';
import { allocateDecodeCache, clearDecodeCache, pushCross, type DecodeCache } from './cache.js';
import { PrefixTape, TapeNextToCache } from './prefix-tape.js';
import { crossAttendKeys, type CrossAttendKeyList } from './cross-attend-keys.js';

/** PAD's logit with padLogit 'excluded': exp(−1e30 − max) is 0 in float32, and the value stays finite. */
const EXCLUDED_LOGIT = -1e30;

/** 'auto' key chunking streams once the held key buffers would pass this, in chunks of ~this many rows. */
const AUTO_STREAM_BYTES = 512 * 2 ** 20;
const AUTO_CHUNK_ROWS = 8192;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export interface ForwardOptions {
  /** Latents to use (test-time compute knob); default config.numLatents. */
  readonly numLatents?: number;
  /**
   * Decoding (batch 1, no training): the forward also fills this cache — the cross-attend's
   * keys/values of every input and each layer's keys/values of the latents (priming and reset).
   */
  readonly cache?: DecodeCache;
  /** Training mode: residual and cross-attend dropout on, using `rng`. */
  readonly training?: boolean;
  readonly rng?: Rng;
}

export interface ForwardResult {
  /** Mean loss per scored token (cross-entropy + z-loss), nats. */
  readonly loss: number;
  /** Mean cross-entropy alone, nats/token. */
  readonly crossEntropy: number;
  readonly tokens: number;
  readonly layout: LatentLayout;
  /** With a prefix tape: each row's tape length n (the loss then includes tapePonderWeight·mean R). */
  readonly tapeLengths?: Int32Array;
}

interface LastForward {
  readonly layout: LatentLayout;
  readonly keys: KeyActs | StreamedKeys;
  readonly embedder: InputEmbedder | null;
  readonly gathered: boolean;
  readonly seeds: number;
  readonly training: boolean;
  readonly count: number;
  readonly tape: PrefixTape | null;
}

/**
 * positionOrigin 'window': each row's positions less the event index before its first input (so
 * they count from 1), and those origins.
 */
function windowOrigins(batch: Batch): { positions: Int32Array; origins: Int32Array } {
  const { batchSize: B, length: M } = batch, positions = new Int32Array(B * M), origins = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const o = batch.tokens[b * M] === PAD ? 0 : batch.positions[b * M]! - 1;
    origins[b] = o;
    for (let j = 0; j < M; j++) positions[b * M + j] = batch.tokens[b * M + j] === PAD ? 0 : batch.positions[b * M + j]! - o;
  }
  return { positions, origins };
}

/**
 * Fixed sinusoidal table [maxPosition + 1, dim]; row 0 (PAD) is zero. Pair i has frequency
 * maxWavelength^(−2i/dim) (the Transformer's table with base maxWavelength instead of 10000), so
 * the wavelengths can be matched to the context instead of wasting most pairs on lengths never seen.
 */
export function sinusoidTable(out: F32, maxPosition: number, dim: number, maxWavelength: number): void {
  for (let p = 1; p <= maxPosition; p++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = p / Math.pow(maxWavelength, i / dim);
      out[p * dim + i] = Math.sin(angle);
      if (i + 1 < dim) out[p * dim + i + 1] = Math.cos(angle);
    }
  }
}

export class PerceiverAR {
  readonly config: ModelConfig;
  readonly params: ParamStore;
  private readonly cross: BlockParams;
  private readonly selfBlocks: readonly BlockParams[];
  private readonly sinusoid: F32 | null;
  private ws: Workspace | null = null;
  private wsAlloc: ReturnType<typeof trackedAllocator> | null = null;
  private wsGrads = false;
  private tape: PrefixTape | null = null;
  private cache: { readonly alloc: ReturnType<typeof trackedAllocator>; readonly value: DecodeCache; readonly latents: number } | null = null;
  private last: LastForward | null = null;
  /**
   * Keys per batch row that the cross-attend holds at once: 'auto' holds them all unless their
   * buffers would pass 512 MiB, then streams chunks (streamed-keys.ts); a number streams chunks of
   * that many whenever a row has more inputs.
   */
  get keyChunk(): number | 'auto' { return this.chunking; }
  set keyChunk(v: number | 'auto') {
    if (v !== 'auto' && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`keyChunk must be 'auto' or a positive integer, got ${String(v)}`);
    this.chunking = v;
  }
  private chunking: number | 'auto' = 'auto';
  /**
   * Training with streamed keys: bytes of process memory (outside the engine's) that may hold the
   * chunks' k|v from the forward for the backward, instead of recomputing the projection (0: always
   * recompute). Chunks beyond the budget are recomputed.
   */
  keyStoreBytes = 6 * 2 ** 30;
  /**
   * Cached decoding records its first step's kernel jobs and replays them at the next steps
   * (Engine.jobRecording, wasm backend): the same floats without the JavaScript that issues them
   * (docs/engine.md "Replayed decode steps"). false: every step runs its JavaScript.
   */
  replayDecodeSteps = true;
  /** Per decode cache: this model's recorded step and what its jobs depend on (key); jobs null where recording was refused. */
  private readonly decodePlans = new WeakMap<DecodeCache, { readonly key: string; readonly jobs: RecordedJobs | null }>();
  /** How this model's decode steps ran: recorded (and run), replayed, or run without a recording. */
  readonly decodeStepCounts = { recorded: 0, replayed: 0, run: 0 };
  /** The recording this model replays for `cache`: undefined before its first step there, null where it could not be recorded. */
  decodeRecording(cache: DecodeCache): RecordedJobs | null | undefined { return this.decodePlans.get(cache)?.jobs; }
  private store: KvStore | null = null;
  private kvStore(): KvStore {
    if (!this.store || this.store.budgetBytes !== this.keyStoreBytes) this.store = new KvStore(this.keyStoreBytes);
    return this.store;
  }
  /** Keys per chunk with which the last forward streamed the cross-attend, 0 when it held them all. */
  get lastKeyChunk(): number { return this.ws?.keyChunk ?? 0; }

  /** seed: the parameters' random initialisation; null leaves them zero, for weights loaded next (a checkpoint holds every one). */
  constructor(private readonly engine: Engine, config: ModelConfig, seed: number | null = 0) {
    this.config = validateModelConfig(config);
    const c = this.config;
    this.params = new ParamStore(engine, modelParamSpecs(c));
    if (seed !== null) this.params.initialise(new Rng(seed));
    this.cross = crossBlockParams(this.params, c);
    this.selfBlocks = Array.from({ length: c.numLayers }, (_, l) => selfBlockParams(this.params, c, l));
    this.sinusoid = c.position === 'sinusoidal' ? engine.allocF32((c.maxPosition + 1) * c.embedDim, 'sinusoid table') : null;
    if (this.sinusoid) sinusoidTable(this.sinusoid, c.maxPosition, c.embedDim, c.maxWavelength);
  }

  private workspace(B: number, M: number, N: number, grads: boolean, keyChunk: number): Workspace {
    const w = this.ws;
    if (w && w.B === B && w.M === M && w.N === N && w.keyChunk === keyChunk && (this.wsGrads || !grads)) return w;
    this.wsAlloc?.freeAll();
    this.ws = null;
    this.last = null;
    this.checkWorkspaceFits(B, M, N, grads, keyChunk);
    this.wsAlloc = trackedAllocator(this.engine);
    this.ws = allocateWorkspace(this.wsAlloc, this.config, B, M, N, grads, keyChunk);
    this.tape = this.ws.tape ? new PrefixTape(this.engine.kernels, this.config, this.params, this.ws.tape, B, M) : null;
    this.wsGrads = grads;
    return this.ws;
  }

  /**
   * Fails, before anything is allocated, when a batch of B rows of M inputs (training or not)
   * cannot fit in the engine's memory; the message names the largest buffer and the longest
   * context that would fit. Trainers call it before building their first batch.
   */
  checkFits(B: number, M: number, training: boolean): void {
    const N = Math.min(this.config.numLatents, M);
    this.checkWorkspaceFits(B, M, N, training, this.resolveKeyChunk(B, M));
  }

  /**
   * Fails before allocating anything when a workspace cannot fit in the engine's memory, naming
   * the largest buffer and the longest context that would fit with the same batch and latents.
   */
  private checkWorkspaceFits(B: number, M: number, N: number, grads: boolean, keyChunk: number): void {
    const e = this.engine, free = e.memoryLimitBytes - e.bytesInUse();
    const need = planWorkspace(this.config, B, M, N, grads, keyChunk);
    if (need.bytes <= free) return;
    const fits = (m: number): boolean => planWorkspace(this.config, B, m, N === M ? m : Math.min(N, m), grads, keyChunk).bytes <= free;
    let lo = 0, hi = M;
    while (hi - lo > 1) { const mid = Math.floor((lo + hi) / 2); if (fits(mid)) lo = mid; else hi = mid; }
    const chunked = Math.max(256, Math.floor(AUTO_CHUNK_ROWS / B));
    const advice = keyChunk === 0 && chunked < M && planWorkspace(this.config, B, M, N, grads, chunked).bytes <= free
      ? `; streaming the cross-attend keys (model.keyChunk = ${chunked}) would fit this context` : '';
    throw new RangeError(`a ${grads ? 'training' : 'forward'} workspace for batch ${B} × context ${M} with ${N} latents needs ` +
      `${mib(need.bytes)} of engine memory but ${mib(free)} are free (limit ${mib(e.memoryLimitBytes)}); the largest buffer is ` +
      `'${need.largest.what}' (${mib(need.largest.bytes)}). The longest context that fits with this batch and latents is ` +
      `${lo === 0 ? 'none' : lo}${advice}`);
  }

  /**
   * The model's decoding cache for up to `numLatents` latents (kept for reuse between generations).
   * Fails before allocating when it cannot fit in the engine's memory.
   */
  decodeCache(numLatents: number): DecodeCache {
    const c = this.config;
    if (!Number.isInteger(numLatents) || numLatents < 1 || numLatents > c.contextLength) {
      throw new RangeError(`decodeCache: numLatents must be an integer in [1, ${c.contextLength}], got ${numLatents}`);
    }
    if (this.cache && this.cache.latents === numLatents) return this.cache.value;
    this.cache?.alloc.freeAll();
    this.cache = null;
    const counter = countingAllocator();
    allocateDecodeCache(counter, c, numLatents);
    const free = this.engine.memoryLimitBytes - this.engine.bytesInUse(), need = counter.plan;
    if (need.bytes > free) {
        throw new RangeError(`a decoding cache for context ${c.contextLength} with ${numLatents} latents needs ${mib(need.bytes)} of engine memory ` +
        `but ${mib(free)} are free (limit ${mib(this.engine.memoryLimitBytes)}); the largest buffer is '${need.largest.what}' (${mib(need.largest.bytes)})`);
    }
    const alloc = trackedAllocator(this.engine);
    this.cache = { alloc, value: allocateDecodeCache(alloc, this.config, numLatents), latents: numLatents };
    return this.cache.value;
  }

  /**
   * Holds the weight matrices as `format` for decoding (ParamStore.setWeightFormat): 'bf16' rounds
   * them to bf16 and reads packed bf16 copies in every product of ≤ 8 rows (cached decoding), about
   * half the bytes per token; larger products (prime, re-encode, eval, training) use the rounded
   * float32 values, so every path computes with the same weights.
   */
  setWeightFormat(format: WeightFormat): void { this.params.setWeightFormat(this.engine, format); }

  /** Frees everything the model holds in engine memory (parameters too): the model is unusable afterwards. */
  dispose(): void {
    this.releaseBuffers();
    this.params.dispose(this.engine);
    if (this.sinusoid && !this.disposed) this.engine.free(this.sinusoid);
    this.disposed = true;
  }

  private disposed = false;

  /** Frees the activation workspace and decoding cache (they are re-created on demand). */
  releaseBuffers(): void {
    this.store = null;
    this.wsAlloc?.freeAll();
    this.cache?.alloc.freeAll();
    this.ws = null;
    this.wsAlloc = null;
    this.cache = null;
    this.last = null;
    this.tape = null;
  }

  /** Logits [B·N, V] of the last forward (row b·N + i is latent i of row b). */
  logits(): F32 {
    if (!this.ws || !this.last) throw new Error('logits: run forward first');
    return this.ws.logits.subarray(0, this.last.layout.B * this.last.layout.N * this.config.vocabSize);
  }

  forward(given: Batch, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config, k = this.engine.kernels;
    checkBatch(given);
    const origin = c.positionOrigin === 'window' ? windowOrigins(given) : null, batch = origin ? { ...given, positions: origin.positions } : given;
    if (batch.length > c.contextLength) throw new RangeError(`batch length ${batch.length} exceeds the model's contextLength ${c.contextLength}`);
    if (hasTable(c)) absolutePositionReader(batch, c.positionDims);
    const training = opts.training ?? false;
    if (training && !opts.rng) throw new Error('forward: training mode needs an rng for dropout');
    const cache = opts.cache;
    if (cache && (training || batch.batchSize !== 1)) throw new Error('forward: a decoding cache needs batch size 1 and no training');
    const N = opts.numLatents ?? Math.min(c.numLatents, batch.length);
    const capacity = cache?.layers[0]?.capacity;
    if (capacity !== undefined && N > capacity) {
      throw new RangeError(`forward: ${N} latents do not fit a decoding cache made for ${capacity}; use numLatents ≤ ${capacity} or model.decodeCache(${N})`);
    }
    const layout = layoutLatents(batch, N);
    const { B, M } = layout;
    const seeds = training ? opts.rng!.nextU32() : 0;
    const list = crossAttendKeys(layout, training ? c.crossAttendDropout : 0, c.crossAttendDropoutMode, training ? opts.rng! : null);
    const chunk = this.resolveKeyChunk(B, M);
    if (c.tapeLength > 0 && chunk > 0) {
      throw new RangeError(`the prefix tape reads held input embeddings, but this batch (${B} × ${M}) streams its keys; ` +
        'lower the batch or context, or set model.keyChunk to a number ≥ the context length');
    }
    const ws = this.workspace(B, M, N, training, chunk);
    const R = B * N;
    ws.latentPositions.set(layout.latentPositions);
    ws.latentValid.set(layout.latentValid);
    ws.targets.set(layout.latentTargets);
    const crossContext = this.context(ws, layout, training, seeds, 0);
    // Priming a decoding cache: every valid key's k|v joins it, chunk by chunk when streamed.
    if (cache) clearDecodeCache(cache);
    if (cache && origin) cache.origin = origin.origins[0]!;
    const pushKeys = cache ? (kc: KeyActs): void => {
      for (let j = 0; j < kc.count; j++) if (kc.valid[j]) pushCross(cache, kc.kv.subarray(j * 2 * c.width), kc.positions[j]!, c.width);
    } : null;
    let keys: KeyActs | StreamedKeys, embedder: InputEmbedder | null = null;
    if (chunk > 0) {
      embedder = batchEmbedder(this.engine.kernels, c, this.params, this.sinusoid, batch, ws.streamed!);
      embedder.forward(layout.latentIndex, R, ws.latentIn);
      keys = new StreamedKeys(B, list, ws.streamed!, embedder, pushKeys, training && this.keyStoreBytes > 0 ? this.kvStore() : null);
    } else {
      keys = this.embedHeld(batch, layout, ws, list);
      prepareKeys(crossContext, this.cross, keys);
      pushKeys?.(keys);
    }
    const tape = this.tape && !(keys instanceof StreamedKeys) ? this.tape : null;
    if (tape) {
      // Each row's prefix: its inputs before the first latent; the tape sits at that latent's position.
      const prefix = Int32Array.from({ length: B }, (_, r) => Math.max(0, layout.lengths[r]! - N));
      const at = Int32Array.from({ length: B }, (_, r) => layout.latentPositions[r * N + Math.max(0, N - layout.lengths[r]!)] ?? 0);
      tape.read(crossContext, this.cross, { embed: ws.embed, keys: keys as KeyActs, grads: training ? { dKv: ws.dKv, dXn: ws.dXn, dKeys: ws.dKeys } : null },
        prefix, at);
      if (cache) tape.saveRow(0, cache.tape!);
    }
    this.latentsForward(R, ws.latentIn, ws.stream[0]!);
    blockForward(crossContext, this.cross, ws.blocks[0]!, ws.stream[0]!, ws.stream[1]!, tape ?? keys);
    this.selfBlocks.forEach((p, l) => {
      blockForward(this.context(ws, layout, training, seeds, l + 1), p, ws.blocks[l + 1]!, ws.stream[l + 1]!, ws.stream[l + 2]!, null,
        cache ? cache.layers[l]! : null);
      if (cache) cache.layers[l]!.count = R;
    });
    this.head(ws, R, training);
    k.crossEntropyForward({ rows: R, vocab: c.vocabSize, ignoreIndex: IGNORE, zLoss: c.zLoss }, ws.logits, ws.targets, ws.loss, ws.lse);
    let total = 0, ce = 0, count = 0;
    for (let r = 0; r < R; r++) {
      if (layout.latentTargets[r] === IGNORE) continue;
      const l = ws.lse[r]!;
      total += ws.loss[r]!;
      ce += ws.loss[r]! - c.zLoss * l * l;
      count++;
    }
    this.last = { layout, keys, embedder, gathered: list.gathered, seeds, training, count, tape };
    const ponder = tape ? c.tapePonderWeight * tape.meanPonder : 0;
    return { loss: (count ? total / count : 0) + ponder, crossEntropy: count ? ce / count : 0, tokens: count, layout,
      ...(tape ? { tapeLengths: Int32Array.from(tape.lengths) } : {}) };
  }

  /**
   * Keys per batch row per chunk for the streamed cross-attend, or 0 to hold every input's buffers
   * (keyChunk 'auto': stream when the held buffers would pass AUTO_STREAM_BYTES). Held buffers are
   * sized by the inputs per row M, not by the keys kept after subsampling or padding.
   */
  private resolveKeyChunk(B: number, M: number): number {
    const c = this.config;
    if (this.keyChunk !== 'auto') return this.keyChunk < M ? this.keyChunk : 0;
    const heldBytes = 4 * B * M * (6 * c.embedDim + 4 * c.width);
    return heldBytes > AUTO_STREAM_BYTES ? Math.max(256, Math.floor(AUTO_CHUNK_ROWS / B)) : 0;
  }

  /** The non-streamed inputs: every embedding held in the workspace (and the latents' inputs gathered from them). */
  private embedHeld(batch: Batch, layout: LatentLayout, ws: Workspace, list: CrossAttendKeyList): KeyActs {
    const c = this.config, k = this.engine.kernels, { B, M, N } = layout;
    const Ci = c.embedDim, Rin = B * M, R = B * N;
    ws.tokens.set(batch.tokens);
    const embed = ws.embed.subarray(0, Rin * Ci);
    k.embeddingForward(c.vocabSize, Ci, this.params.get('embed.tokens').value, ws.tokens, embed);
    ws.embed.fill(0, Rin * Ci, (Rin + 1) * Ci);
    this.addAbsolutePositions(batch, ws, Rin);
    for (let r = 0; r < R; r++) {
      const j = layout.latentIndex[r]!;
      ws.latentIndex[r] = j < 0 ? Rin : j;
    }
    k.embeddingForward(Rin + 1, Ci, ws.embed, ws.latentIndex, ws.latentIn);
    return this.heldKeys(list, ws, Rin);
  }

  /** z0 from the latents' input embeddings [R, C_in]: their projection, or the embeddings themselves (latentInput 'embedding'). */
  private latentsForward(R: number, latentIn: F32, z0: F32, live: LiveSection = (fn) => fn()): void {
    if (this.config.latentInput === 'embedding') live(() => z0.set(latentIn.subarray(0, R * this.config.width)));
    else linearForward(this.engine.kernels, linearOf(this.params, 'latents.proj'), R, latentIn, z0);
  }

  /** The output's input: LN(z) with an output norm, else z itself. */
  private headInput(ws: Workspace): F32 { return this.config.outputNorm ? ws.finalOut : ws.stream[this.config.numLayers + 1]!; }

  /**
   * Logits from z_{L+1}. keepNorm false (no backward follows: evaluation, decoding): LN(z) need not
   * be kept, so a linear head reading bf16 weights takes the norm as its prologue.
   */
  private head(ws: Workspace, R: number, keepNorm = true, live: LiveSection = (fn) => fn()): void {
    const c = this.config, k = this.engine.kernels, L = c.numLayers, z = ws.stream[L + 1]!;
    const fin = c.outputNorm ? normOf(this.params, 'final.ln') : null;
    if (c.outputHead === 'linear') {
      const head = linearOf(this.params, 'head');
      if (fin) {
        linearForwardNormed(k, head, R, z, { gamma: fin.g, beta: fin.b, eps: c.layerNormEps }, { y: ws.finalOut, mean: ws.finalMean, rstd: ws.finalRstd },
          keepNorm, ws.logits);
      } else {
        linearForward(k, head, R, z, ws.logits);
      }
      live(() => this.excludePad(ws, R));
      return;
    }
    if (fin) k.layerNormForward({ rows: R, cols: c.width, eps: c.layerNormEps }, z, fin.g, fin.b, ws.finalOut, ws.finalMean, ws.finalRstd);
    // Tied: logits = x·E_tokᵀ (+ b).
    k.matmul({ m: R, n: c.vocabSize, k: c.width, transB: true }, this.headInput(ws), this.params.get('embed.tokens').value, ws.logits);
    if (c.outputHead === 'tied+bias') k.biasAddForward(R, c.vocabSize, ws.logits, this.params.get('head.b').value);
    live(() => this.excludePad(ws, R));
  }

  /** padLogit 'excluded': PAD's logit far below any other, so it takes no probability (and no gradient). */
  private excludePad(ws: Workspace, R: number): void {
    if (this.config.padLogit !== 'excluded') return;
    for (let r = 0; r < R; r++) ws.logits[r * this.config.vocabSize + PAD] = EXCLUDED_LOGIT;
  }

  /** From dLogits: the head's and the output norm's gradients, and d(z_{L+1}) into ws.dStream (zeroed here). */
  private headBackward(ws: Workspace, R: number): void {
    const c = this.config, k = this.engine.kernels, C = c.width, L = c.numLayers, x = this.headInput(ws);
    const dx = c.outputNorm ? ws.grads.dLn.subarray(0, R * C) : ws.dStream.subarray(0, R * C);
    ws.dStream.fill(0);
    if (c.outputHead === 'linear') {
      dx.fill(0);
      linearBackward(k, linearOf(this.params, 'head'), R, x, ws.dLogits, dx);
    } else {
      const E = this.params.get('embed.tokens');
      k.matmul({ m: R, n: C, k: c.vocabSize }, ws.dLogits, E.value, dx);
      k.matmul({ m: c.vocabSize, n: C, k: R, transA: true, accumulate: true }, ws.dLogits, x, E.grad);
      if (c.outputHead === 'tied+bias') k.biasAddBackward(R, c.vocabSize, ws.dLogits, this.params.get('head.b').grad);
    }
    if (!c.outputNorm) return;
    const fin = normOf(this.params, 'final.ln');
    k.layerNormBackward({ rows: R, cols: C, eps: c.layerNormEps }, ws.stream[L + 1]!, fin.g, ws.finalMean, ws.finalRstd, dx, ws.dStream, fin.dg, fin.db);
  }

  /**
   * One cached decoding step (spec §6.3): the newest input `token` at absolute `position` joins
   * the cross-attend cache, and its latent attends to that cache and to each layer's latent
   * cache (to which it is appended). Returns the next-token logits [V] (a view, valid until the
   * next call). The caller resets (re-encodes) before a latent cache overflows.
   */
  decodeStep(cache: DecodeCache, token: number, eventIndex: number, coordinates?: ArrayLike<number>): F32 {
    const c = this.config, position = eventIndex - cache.origin;
    if (!Number.isInteger(eventIndex) || position < 0) {
      throw new RangeError(`decodeStep: event index ${eventIndex} must be an integer at or after the primed window's origin (${cache.origin})`);
    }
    if (hasTable(c) && c.positionOrigin === 'window' && position > c.maxPosition) {
      throw new RangeError(`decodeStep: position ${position} of the primed window passes the absolute table (${c.maxPosition}); re-encode (prime again) first`);
    }
    if (cache.layers.some((l) => l.count >= l.capacity)) throw new Error('decodeStep: a latent cache is full; re-encode (reset) first');
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`decodeStep: token ${token} is outside [0, ${c.vocabSize})`);
    cache.input.token = token;
    cache.input.position = position;
    cache.input.coordinates = coordinates ? Int32Array.from(coordinates) : null;
    // What the recorded jobs depend on besides memory contents: the weights' format (their
    // buffers), whether the prefix tape is attended (other jobs), and the coordinates' count.
    // (The model and its engine are fixed by keeping the recordings per model.)
    const tape = cache.tape !== null && cache.tape.count > 0;
    const key = `${this.params.weightFormat} ${tape} ${cache.input.coordinates?.length ?? -1}`;
    const plan = this.decodePlans.get(cache), recording = this.engine.jobRecording;
    if (this.replayDecodeSteps && plan?.key === key && plan.jobs) {
      plan.jobs.replay();
      this.decodeStepCounts.replayed++;
    } else if (this.replayDecodeSteps && recording && recording.kernels === this.engine.kernels && plan?.key !== key) {
      this.decodePlans.delete(cache);
      const r = recording.record((live) => this.stepBody(cache, live));
      this.decodePlans.set(cache, { key, jobs: 'refused' in r ? null : r });
      this.decodeStepCounts.recorded++;
    } else {
      this.stepBody(cache, (fn) => fn());
      this.decodeStepCounts.run++;
    }
    return cache.step.logits.subarray(0, c.vocabSize);
  }

  /**
   * One decode step on cache.input: the jobs whose arguments never change run directly (recorded,
   * they are replayed as they are), the rest in live sections — the step's inputs, the copies into
   * the caches and the attention over them (their lengths grow), the head's PAD logit.
   */
  private stepBody(cache: DecodeCache, live: LiveSection): void {
    const c = this.config, k = this.engine.kernels, ws = cache.step, Ci = c.embedDim, C = c.width, input = cache.input;
    const embed = ws.embed.subarray(0, Ci);
    const keyActs: KeyActs = { ...ws.keyActs, keys: embed, count: 1 };
    live(() => {
      ws.tokens[0] = input.token;
      k.embeddingForward(c.vocabSize, Ci, this.params.get('embed.tokens').value, ws.tokens, embed);
      const one: Batch = { batchSize: 1, length: 1, tokens: ws.tokens, positions: Int32Array.of(input.position), targets: Int32Array.of(0),
        ...(input.coordinates ? { coordinates: input.coordinates, coordinateDims: input.coordinates.length } : {}) };
      this.addAbsolutePositions(one, ws, 1);
      ws.latentPositions[0] = input.position;
      ws.latentValid[0] = 1;
      keyActs.positions[0] = input.position;
      keyActs.valid[0] = 1;
    });
    const layout = { B: 1, N: 1 } as LatentLayout;
    const ctx = { ...this.context(ws, layout, false, 0, 0), live };
    prepareKeys(ctx, this.cross, keyActs);
    live(() => pushCross(cache, keyActs.kv, input.position, C));
    this.latentsForward(1, embed, ws.stream[0]!, live);
    // With a prefix tape, the tape read at the last prime or reset is attended next to the inputs.
    const keys = cache.tape && cache.tape.count > 0 ? new TapeNextToCache(cache.cross, cache.tape) : cache.cross;
    blockForward(ctx, this.cross, ws.blocks[0]!, ws.stream[0]!, ws.stream[1]!, keys);
    this.selfBlocks.forEach((p, l) => {
      const layer = cache.layers[l]!;
      blockForward({ ...this.context(ws, layout, false, 0, l + 1), live }, p, ws.blocks[l + 1]!, ws.stream[l + 1]!, ws.stream[l + 2]!, null, layer);
      live(() => { layer.count += 1; });
    });
    this.head(ws, 1, false, live);
  }

  /** Accumulates d(lossScale · mean loss)/dθ into params.grads (zero them first). */
  backward(lossScale = 1): void {
    const last = this.last, ws = this.ws, c = this.config, k = this.engine.kernels;
    if (!last || !ws || !this.wsGrads || !last.training) throw new Error('backward: run forward with training: true first');
    const { layout } = last;
    const { B, M, N } = layout;
    const Ci = c.embedDim, C = c.width, Rin = B * M, R = B * N, L = c.numLayers;
    ws.dLogits.fill(0);
    if (last.count > 0) {
      k.crossEntropyBackward({ rows: R, vocab: c.vocabSize, ignoreIndex: IGNORE, zLoss: c.zLoss }, ws.logits, ws.targets, ws.lse, ws.dLogits,
        lossScale / last.count);
    }
    this.headBackward(ws, R);
    for (let l = L - 1; l >= 0; l--) {
      blockBackward(this.context(ws, layout, true, last.seeds, l + 1), this.selfBlocks[l]!, ws.blocks[l + 1]!, ws.stream[l + 1]!, ws.dStream,
        ws.grads, null, null, null, null);
    }
    if (last.tape) last.tape.ponderGrad = (lossScale * c.tapePonderWeight) / B;
    blockBackward(this.context(ws, layout, true, last.seeds, 0), this.cross, ws.blocks[0]!, ws.stream[0]!, ws.dStream, ws.grads,
      last.tape ?? last.keys, ws.dKv, ws.dXn, ws.dKeys);
    if (c.latentInput === 'embedding') {
      ws.dLatentIn.set(ws.dStream.subarray(0, R * C));
    } else {
      ws.dLatentIn.fill(0);
      linearBackward(k, linearOf(this.params, 'latents.proj'), R, ws.latentIn, ws.dStream, ws.dLatentIn);
    }
    if (last.keys instanceof StreamedKeys) {
      last.embedder!.backward(layout.latentIndex, R, ws.dLatentIn);
      return;
    }
    ws.dEmbed.fill(0);
    k.embeddingBackward(Rin + 1, Ci, ws.dEmbed, ws.latentIndex, ws.dLatentIn);
    const Rk = B * last.keys.count;
    if (last.gathered) k.embeddingBackward(Rin + 1, Ci, ws.dEmbed, ws.keyIndex.subarray(0, Rk), ws.dKeys.subarray(0, Rk * Ci));
    else k.add(ws.dEmbed.subarray(0, Rin * Ci), ws.dKeys.subarray(0, Rin * Ci), ws.dEmbed.subarray(0, Rin * Ci));
    last.tape?.addEmbeddingGrad(ws.dEmbed);
    const dEmbed = ws.dEmbed.subarray(0, Rin * Ci);
    k.embeddingBackward(c.vocabSize, Ci, this.params.get('embed.tokens').grad, ws.tokens, dEmbed);
    if (hasLearnedTable(c)) {
      ws.positionIds.forEach((ids, p) => k.embeddingBackward(c.maxPosition + 1, Ci, this.params.get(`embed.position.${p}`).grad, ids, dEmbed));
    }
  }

  private context(ws: Workspace, layout: LatentLayout, training: boolean, seeds: number, block: number): BlockContext {
    const c = this.config;
    return {
      k: this.engine.kernels, B: layout.B, N: layout.N, C: c.width, eps: c.layerNormEps,
      dropout: training ? c.dropout : 0,
      seeds: [dropoutHash(seeds, 2 * block), dropoutHash(seeds, 2 * block + 1)],
      latentPositions: ws.latentPositions, latentValid: ws.latentValid,
      rotary: (block === 0 ? hasRotary(c) : rotatesLayer(c, block - 1))
        ? { fraction: c.rotaryFraction, maxWavelength: c.maxWavelength, spacing: c.rotarySpacing } : null,
      activation: c.activation, latentKeysByQueryNorm: block === 0 && c.latentKeyNorm === 'query', inference: !training,
    };
  }

  private addAbsolutePositions(batch: Batch, ws: Workspace, Rin: number): void {
    const c = this.config, k = this.engine.kernels;
    if (!hasTable(c)) return;
    const Ci = c.embedDim, read = absolutePositionReader(batch, c.positionDims);
    const embed = ws.embed.subarray(0, Rin * Ci), tmp = ws.posTmp.subarray(0, Rin * Ci);
    ws.positionIds.forEach((ids, p) => {
      for (let i = 0; i < Rin; i++) {
        const pos = read(i, p);
        if (pos < 0 || pos > c.maxPosition) {
          throw new RangeError(`position ${pos} (dimension ${p}) is outside the absolute table [0, ${c.maxPosition}]; raise maxPosition`);
        }
        ids[i] = pos;
      }
      const table = hasLearnedTable(c) ? this.params.get(`embed.position.${p}`).value : this.sinusoid!;
      k.embeddingForward(c.maxPosition + 1, Ci, table, ids, tmp);
      k.add(embed, tmp, embed);
    });
  }

  /** The held (not streamed) keys: views of the workspace, gathered when subsampled. */
  private heldKeys(list: CrossAttendKeyList, ws: Workspace, Rin: number): KeyActs {
    const Ci = this.config.embedDim, ka = ws.keyActs, n = list.index.length;
    ka.positions.set(list.positions);
    ka.valid.set(list.valid);
    if (!list.gathered) return { ...ka, keys: ws.embed.subarray(0, Rin * Ci), count: list.count };
    for (let r = 0; r < n; r++) ws.keyIndex[r] = list.index[r]! < 0 ? Rin : list.index[r]!;
    this.engine.kernels.embeddingForward(Rin + 1, Ci, ws.embed, ws.keyIndex.subarray(0, n), ka.keys.subarray(0, n * Ci));
    return { ...ka, count: list.count };
  }
}
