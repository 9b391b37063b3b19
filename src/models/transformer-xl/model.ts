// Transformer-XL (Dai et al. 2019) on the same engine and block code as Perceiver AR, as the
// segment-recurrent baseline of spec §8. An example of M tokens is processed as segments of S:
//   keys_l = [SG(memory_l) ; h_l]   (memory_l: the last Mem inputs layer l saw, gradient-free)
//   h_{l+1} = Block_l(queries h_l, keys/values LN(keys_l))   (one LN shared by queries and keys)
// Each layer is the cross-attend block with its query and key norms tied: LN(h) feeds q, and the
// same LN over [memory; h] feeds k|v, so the shared gains get both paths' gradients.
// Training is truncated backpropagation through time: in training mode forward() runs each
// segment's backward before the next segment (gradients stop at the memory), so memory stays
// O(S + Mem) whatever M is; backward() then has nothing left to do.
import { trackedAllocator, type Engine } from '../../engine.js';
import type { F32 } from '../../kernels/types.js';
import { dropoutHash } from '../../kernels/formulas.js';
import { linearBackward, linearForward } from '../../nn/linear.js';
import { ParamStore, type ParamSpec } from '../../nn/params.js';
import { Rng } from '../../tensor/rng.js';
import { PAD } from '../../nn/batch.js';
import { blockBackward, blockForward, prepareKeys, type BlockContext } from '../perceiver-ar/blocks.js';
import { IGNORE, layoutLatents, checkBatch, type Batch } from '../perceiver-ar/layout.js';
import { linear, linearOf, mlp, norm, normOf } from '../../nn/layer-params.js';
import type { BlockParams } from '../perceiver-ar/params.js';
import type { ForwardResult } from '../perceiver-ar/model.js';
import { allocateXLWorkspace, type XLWorkspace } from './workspace.js';
import { validateXLConfig, type XLConfig } from './config.js';

export interface XLForwardOptions {
  readonly training?: boolean;
  readonly rng?: Rng;
  /** Training: the gradient of gradScale × (mean loss) is added to params.grads during the forward. */
  readonly gradScale?: number;
}

export function xlParamSpecs(c: XLConfig): ParamSpec[] {
  const C = c.width;
  const specs: ParamSpec[] = [{ name: 'embed.tokens', shape: [c.vocabSize, C], init: { kind: 'fan-in', fanIn: 1 }, decay: false }];
  for (let l = 0; l < c.numLayers; l++) {
    specs.push(...norm(`layer.${l}.ln`, C), ...linear(`layer.${l}.q`, C, C), ...linear(`layer.${l}.kv`, C, 2 * C),
      ...linear(`layer.${l}.out`, C, C), ...mlp(`layer.${l}`, c));
  }
  specs.push(...norm('final.ln', C), ...linear('head', C, c.vocabSize, 'zeros'));
  return specs;
}

export class TransformerXL {
  readonly config: XLConfig;
  readonly params: ParamStore;
  private readonly layers: readonly BlockParams[];
  private ws: XLWorkspace | null = null;
  private wsAlloc: ReturnType<typeof trackedAllocator> | null = null;
  private lastLogits: { B: number; M: number } | null = null;

  /** seed: the parameters' random initialisation; null leaves them zero, for weights loaded next (a checkpoint holds every one). */
  constructor(private readonly engine: Engine, config: XLConfig, seed: number | null = 0) {
    this.config = validateXLConfig(config);
    this.params = new ParamStore(engine, xlParamSpecs(this.config));
    if (seed !== null) this.params.initialise(new Rng(seed));
    this.layers = Array.from({ length: this.config.numLayers }, (_, l): BlockParams => {
      const ln = normOf(this.params, `layer.${l}.ln`);
      return {
        ln, lnKv: ln, q: linearOf(this.params, `layer.${l}.q`), kv: linearOf(this.params, `layer.${l}.kv`), qkv: null,
        out: linearOf(this.params, `layer.${l}.out`), lnMlp: normOf(this.params, `layer.${l}.ln_mlp`),
        mlp1: linearOf(this.params, `layer.${l}.mlp1`), mlp2: linearOf(this.params, `layer.${l}.mlp2`), heads: this.config.numHeads,
      };
    });
  }

  private workspace(B: number, M: number, grads: boolean, logits: boolean): XLWorkspace {
    const w = this.ws;
    if (w && w.B === B && w.M >= M && (w.grads || !grads) && (w.allLogits.length > 0 || !logits)) return w;
    this.wsAlloc?.freeAll();
    this.ws = null;
    this.wsAlloc = trackedAllocator(this.engine);
    this.ws = allocateXLWorkspace(this.wsAlloc, this.config, B, M, grads, logits);
    return this.ws;
  }

  /** Frees the activation workspace (re-created on demand). */
  releaseBuffers(): void {
    this.wsAlloc?.freeAll();
    this.ws = null;
    this.wsAlloc = null;
    this.lastLogits = null;
  }

  /** Logits [B·M, V] of the last evaluation (non-training) forward, in latent order (layoutLatents(batch, M)). */
  logits(): F32 {
    if (!this.ws || !this.lastLogits) throw new Error('logits: run a forward without training first');
    return this.ws.allLogits.subarray(0, this.lastLogits.B * this.lastLogits.M * this.config.vocabSize);
  }

  /**
   * The loss over every scored token of the batch, segment after segment with the memory carried
   * between them (reset at the start of each example). Training also accumulates the gradients.
   */
  forward(batch: Batch, opts: XLForwardOptions = {}): ForwardResult {
    const c = this.config, k = this.engine.kernels;
    checkBatch(batch);
    const { batchSize: B, length: M } = batch;
    if (M > c.contextLength) throw new RangeError(`batch length ${M} exceeds the model's contextLength ${c.contextLength}`);
    const training = opts.training ?? false;
    if (training && !opts.rng) throw new Error('forward: training mode needs an rng for dropout');
    const ws = this.workspace(B, M, training, !training);
    const layout = layoutLatents(batch, M);
    const S = c.segmentLength, Mem = c.memoryLength, V = c.vocabSize, R = B * S;
    let scored = 0;
    for (let i = 0; i < B * M; i++) if (batch.tokens[i] !== PAD && batch.targets[i] !== PAD) scored++;
    for (const m of ws.memory) m.valid.fill(0);
    let total = 0, ce = 0;
    for (let s0 = 0; s0 < M; s0 += S) {
      this.loadSegment(batch, s0, ws);
      const seeds = training ? opts.rng!.nextU32() : 0;
      const ctx = (l: number): BlockContext => ({
        k, B, N: S, C: c.width, eps: c.layerNormEps, dropout: training ? c.dropout : 0,
        seeds: [dropoutHash(seeds, 2 * l), dropoutHash(seeds, 2 * l + 1)], latentPositions: ws.positions, latentValid: ws.valid,
        rotary: { fraction: c.rotaryFraction, maxWavelength: c.maxWavelength, spacing: 'perceiver' }, activation: 'squared-relu', latentKeysByQueryNorm: false,
      });
      k.embeddingForward(V, c.width, this.params.get('embed.tokens').value, ws.tokens, ws.stream[0]!);
      this.layers.forEach((p, l) => {
        this.gatherKeys(ws, l);
        prepareKeys(ctx(l), p, ws.keys[l]!);
        blockForward(ctx(l), p, ws.acts[l]!, ws.stream[l]!, ws.stream[l + 1]!, ws.keys[l]!);
      });
      const fin = normOf(this.params, 'final.ln'), L = c.numLayers;
      k.layerNormForward({ rows: R, cols: c.width, eps: c.layerNormEps }, ws.stream[L]!, fin.g, fin.b, ws.finalOut, ws.finalMean, ws.finalRstd);
      linearForward(k, linearOf(this.params, 'head'), R, ws.finalOut, ws.logits);
      k.crossEntropyForward({ rows: R, vocab: V, ignoreIndex: IGNORE, zLoss: c.zLoss }, ws.logits, ws.targets, ws.loss, ws.lse);
      for (let r = 0; r < R; r++) {
        if (ws.targets[r] === IGNORE) continue;
        total += ws.loss[r]!;
        ce += ws.loss[r]! - c.zLoss * ws.lse[r]! * ws.lse[r]!;
      }
      if (training && scored > 0) this.backwardSegment(ws, ctx, (opts.gradScale ?? 1) / scored);
      if (!training) this.keepLogits(ws, s0, M, layout.lengths);
      this.updateMemory(ws, Mem);
    }
    this.lastLogits = training ? null : { B, M };
    return { loss: scored ? total / scored : 0, crossEntropy: scored ? ce / scored : 0, tokens: scored, layout };
  }

  /** Training runs each segment's backward inside forward(); this only checks that one ran. */
  backward(): void {
    if (!this.ws?.grads) throw new Error('backward: run forward with training: true first (it accumulates the gradients)');
  }

  private loadSegment(batch: Batch, s0: number, ws: XLWorkspace): void {
    const { batchSize: B, length: M } = batch, S = this.config.segmentLength;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < S; i++) {
        const j = s0 + i, r = b * S + i;
        const inside = j < M && batch.tokens[b * M + j] !== PAD;
        ws.tokens[r] = inside ? batch.tokens[b * M + j]! : PAD;
        ws.positions[r] = inside ? batch.positions[b * M + j]! : 0;
        ws.valid[r] = inside ? 1 : 0;
        ws.targets[r] = inside && batch.targets[b * M + j] !== PAD ? batch.targets[b * M + j]! : IGNORE;
      }
    }
  }

  /** keys_l = [memory_l ; h_l] per batch row, with positions and validity. */
  private gatherKeys(ws: XLWorkspace, l: number): void {
    const S = this.config.segmentLength, Mem = this.config.memoryLength, C = this.config.width, T = Mem + S;
    const keys = ws.keys[l]!, mem = ws.memory[l]!, h = ws.stream[l]!;
    for (let b = 0; b < ws.B; b++) {
      keys.keys.set(mem.h.subarray(b * Mem * C, (b + 1) * Mem * C), b * T * C);
      keys.keys.set(h.subarray(b * S * C, (b + 1) * S * C), (b * T + Mem) * C);
      keys.positions.set(mem.positions.subarray(b * Mem, (b + 1) * Mem), b * T);
      keys.positions.set(ws.positions.subarray(b * S, (b + 1) * S), b * T + Mem);
      keys.valid.set(mem.valid.subarray(b * Mem, (b + 1) * Mem), b * T);
      keys.valid.set(ws.valid.subarray(b * S, (b + 1) * S), b * T + Mem);
    }
  }

  /** memory_l ← the last Mem rows of [memory_l ; h_l] (the inputs layer l saw), per batch row. */
  private updateMemory(ws: XLWorkspace, Mem: number): void {
    if (Mem === 0) return;
    const S = this.config.segmentLength, C = this.config.width, T = Mem + S;
    ws.memory.forEach((mem, l) => {
      const keys = ws.keys[l]!;
      for (let b = 0; b < ws.B; b++) {
        mem.h.set(keys.keys.subarray((b * T + S) * C, (b * T + T) * C), b * Mem * C);
        mem.positions.set(keys.positions.subarray(b * T + S, b * T + T), b * Mem);
        mem.valid.set(keys.valid.subarray(b * T + S, b * T + T), b * Mem);
      }
    });
  }

  /**
   * Stores the segment's logits in latent order (as Perceiver AR with N = M lays them out): row
   * b·M + i is latent i, which sits on input len_b − M + i, so right-padded rows shift.
   */
  private keepLogits(ws: XLWorkspace, s0: number, M: number, lengths: Int32Array): void {
    const S = this.config.segmentLength, V = this.config.vocabSize;
    for (let b = 0; b < ws.B; b++) {
      const n = Math.min(S, lengths[b]! - s0);
      if (n > 0) ws.allLogits.set(ws.logits.subarray(b * S * V, (b * S + n) * V), (b * M + M - lengths[b]! + s0) * V);
    }
  }

  private backwardSegment(ws: XLWorkspace, ctx: (l: number) => BlockContext, scale: number): void {
    const c = this.config, k = this.engine.kernels, S = c.segmentLength, Mem = c.memoryLength, C = c.width, T = Mem + S;
    const R = ws.B * S, L = c.numLayers, g = ws.grads!;
    g.dLogits.fill(0);
    k.crossEntropyBackward({ rows: R, vocab: c.vocabSize, ignoreIndex: IGNORE, zLoss: c.zLoss }, ws.logits, ws.targets, ws.lse, g.dLogits, scale);
    const dFinal = g.block.dLn.subarray(0, R * C);
    dFinal.fill(0);
    linearBackward(k, linearOf(this.params, 'head'), R, ws.finalOut, g.dLogits, dFinal);
    g.dStream.fill(0);
    const fin = normOf(this.params, 'final.ln');
    k.layerNormBackward({ rows: R, cols: C, eps: c.layerNormEps }, ws.stream[L]!, fin.g, ws.finalMean, ws.finalRstd, dFinal, g.dStream, fin.dg, fin.db);
    for (let l = L - 1; l >= 0; l--) {
      blockBackward(ctx(l), this.layers[l]!, ws.acts[l]!, ws.stream[l]!, g.dStream, g.block, ws.keys[l]!, g.dKv, g.dXn, g.dKeys);
      // The current rows of the keys are h_l itself: their gradient joins the residual stream's.
      for (let b = 0; b < ws.B; b++) {
        const d = g.dStream.subarray(b * S * C, (b + 1) * S * C);
        k.add(d, g.dKeys.subarray((b * T + Mem) * C, (b * T + T) * C), d);
      }
    }
    k.embeddingBackward(c.vocabSize, C, this.params.get('embed.tokens').grad, ws.tokens, g.dStream);
  }
}
