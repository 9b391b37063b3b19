// Causal AdaTape inside Perceiver AR (spec adatape §8, our extension): one tape per sequence read
// from the PREFIX — the inputs before the first latent — so no latent can learn about its future:
//   query_b = mean of the prefix embeddings;  bank_b = the prefix embeddings (input-driven)
//   q̂, bank̂ = LN_tape(query), LN_tape(bank);   tape_b = ATR(q̂, bank̂)  (reader.ts; T tokens, n_b valid)
//   tokens = W2·GLU(W1·tape)                   [B, T, Ci]
// The tape tokens join the cross-attend as extra keys/values (through the same LN_kv and kv
// projection as the inputs) at the position of the row's first latent: in the past (or present)
// of every valid latent, so every valid latent sees them, and row-relative, so with rotary
// positions a latent scores the tape at its distance from the first latent — the same wherever a
// crop starts in its document. Invalid latents (position 0) see nothing; slots ≥ n_b are padded.
// The attention over inputs and over the tape are merged by online softmax (attentionMerge), and
// the backward runs each part against the merged lse — the same scheme as the streamed keys.
// Works with held keys (every input embedding in the workspace); rows with an empty prefix get no tape.
// Decoding (spec §8 "cache them at prefill"): a prime or reset copies the tape's keys/values into
// the decoding cache, and each step attends to them next to the cached inputs (TapeNextToCache).
// Within one window the prefix does not change between resets (new inputs become latents), so this
// equals uncached forwards; once the window slides, the tape, like the cached latents, is the one
// of the last reset's window.
import type { Allocator } from '../../engine.js';
import type { F32, KernelSet } from '../../kernels/types.js';
import { linearBackward, linearForward } from '../../nn/linear.js';
import type { ParamStore } from '../../nn/params.js';
import { readTape, readTapeBackward, type ReaderSettings, type ReaderTrace } from '../adatape/reader.js';
import { crossAttentionOperands, keysBackward, prepareKeys, type AttendKeys, type BlockContext, type KeyActs, type StreamedAttend } from './blocks.js';
import type { KvStore } from './kv-store.js';
import type { ModelConfig } from './config.js';
import { linearOf, normOf } from '../../nn/layer-params.js';
import type { BlockParams } from './params.js';

/** The held input side the tape reads from and attends next to. */
export interface HeldInputs {
  /** The bank: input embeddings [B·M, Ci] (with absolute positions when the model uses them). */
  readonly embed: F32;
  /** The cross-attend's prepared keys/values over the inputs. */
  readonly keys: KeyActs;
  /** Training: the key side's gradient scratch; null for a forward without training. */
  readonly grads: { readonly dKv: F32; readonly dXn: F32; readonly dKeys: F32 } | null;
}

export type TapeBuffers = ReturnType<typeof allocateTapeBuffers>;

export class PrefixTape implements StreamedAttend {
  private readonly reader: ReaderSettings;
  private readonly T: number;
  private trace: ReaderTrace | null = null;
  /** Inputs in each row's prefix at the last read. */
  private prefix: Int32Array = new Int32Array(0);
  private keys: KeyActs;
  private inputs: HeldInputs | null = null;
  /** d(loss)/d(R_b) for the next backward: lossScale·λ/B (set by the model). */
  ponderGrad = 0;

  /** bufs: allocateTapeBuffers(…, B, M, …) — with gradients for training. */
  constructor(private readonly k: KernelSet, private readonly c: ModelConfig, private readonly params: ParamStore,
    private readonly bufs: TapeBuffers, private readonly B: number, private readonly M: number) {
    this.T = c.tapeLength;
    this.reader = {
      maxTape: c.tapeLength, candidates: c.tapeCandidates || Math.floor(c.tapeLength / c.tapeThreshold), threshold: c.tapeThreshold,
      keyDim: c.embedDim / c.crossAttendHeads, ponder: 'sum-squares',
    };
    const b = bufs;
    this.keys = { keys: b.tokens, xn: b.xn, mean: b.kvMean, rstd: b.kvRstd, kv: b.kv, positions: b.positions, valid: b.valid, count: this.T };
  }

  /** Tape lengths n_b and ponder costs R_b of the last read. */
  get lengths(): Int32Array { return this.trace?.length ?? new Int32Array(0); }
  get meanPonder(): number { return this.trace ? this.trace.ponder.reduce((s, x) => s + x, 0) / this.B : 0; }

  /**
   * Reads every row's tape from its prefix — its first prefix[b] inputs (those before the first
   * latent), whose mean is the query — and prepares the tape's keys/values at at[b], the position
   * of row b's first valid latent.
   */
  read(ctx: BlockContext, cross: BlockParams, inputs: HeldInputs, prefix: Int32Array, at: Int32Array): void {
    const { k, c, B, M, T } = this, Ci = c.embedDim, b = this.bufs, eps = c.layerNormEps;
    this.inputs = inputs;
    this.prefix = prefix;
    const ln = normOf(this.params, 'tape.ln');
    b.query.fill(0);
    for (let r = 0; r < B; r++) {
      const P = prefix[r]!;
      for (let j = 0; j < P; j++) for (let ch = 0; ch < Ci; ch++) b.query[r * Ci + ch] = b.query[r * Ci + ch]! + inputs.embed[(r * M + j) * Ci + ch]! / P;
    }
    k.layerNormForward({ rows: B, cols: Ci, eps }, b.query, ln.g, ln.b, b.qn, b.qMean, b.qRstd);
    k.layerNormForward({ rows: B * M, cols: Ci, eps }, inputs.embed.subarray(0, B * M * Ci), ln.g, ln.b, b.bankN, b.bankMean, b.bankRstd);
    b.available.fill(0);
    for (let r = 0; r < B; r++) b.available.fill(1, r * M, r * M + prefix[r]!);
    this.trace = readTape(this.reader, B, Ci, M, b.qn, b.bankN, M * Ci, b.available, b.raw);
    const w1 = linearOf(this.params, 'tape.mlp1'), w2 = linearOf(this.params, 'tape.mlp2'), n = B * T;
    linearForward(k, w1, n, b.raw, b.h);
    k.gluForward(n, Ci, b.h, b.a);
    linearForward(k, w2, n, b.a, b.tokens);
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < T; t++) b.valid[r * T + t] = t < this.trace.length[r]! ? 1 : 0;
      b.positions.fill(at[r]!, r * T, (r + 1) * T);
    }
    prepareKeys(ctx, cross, this.keys);
  }

  forward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32): void {
    attendNextToTape(ctx, p, this.inputs!.keys, this.keys, q, att, lse, this.bufs.att, this.bufs.lse);
  }

  /** Copies row `row`'s tape keys/values [T, 2C], positions and validity into a decoding cache's tape store. */
  saveRow(row: number, store: KvStore): void {
    const T = this.T, w = 2 * this.c.width, b = this.bufs;
    store.kv.set(b.kv.subarray(row * T * w, (row + 1) * T * w));
    store.valid.set(b.valid.subarray(row * T, (row + 1) * T));
    store.positions.set(b.positions.subarray(row * T, (row + 1) * T));
    store.count = T;
  }

  backward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32, dAtt: F32, dQ: F32): void {
    const k = this.k, c = this.c, b = this.bufs, C = ctx.C, Ci = c.embedDim, B = this.B, M = this.M, T = this.T;
    const inputs = this.inputs, held = inputs?.grads;
    if (!inputs || !held || b.dEmbed.length === 0) throw new Error('prefix tape backward: the last read was not a training read');
    const inner = crossAttentionOperands(ctx, p.heads, inputs.keys);
    const dkv = held.dKv.subarray(0, B * inputs.keys.count * 2 * C);
    dkv.fill(0);
    k.attentionBackward(inner.dims, inner.mask, q, inner.k, inner.v, att, lse, dAtt, dQ, dkv, dkv.subarray(C));
    keysBackward(ctx, p, inputs.keys, dkv, held.dXn, held.dKeys);
    const tape = crossAttentionOperands(ctx, p.heads, this.keys);
    b.dKv.fill(0);
    k.attentionBackward(tape.dims, tape.mask, q, tape.k, tape.v, att, lse, dAtt, dQ, b.dKv, b.dKv.subarray(C));
    keysBackward(ctx, p, this.keys, b.dKv, b.dXn, b.dTokens);
    // Tape MLP, reader, shared LN: gradients into the prefix embeddings (b.dEmbed, added by the model).
    const w1 = linearOf(this.params, 'tape.mlp1'), w2 = linearOf(this.params, 'tape.mlp2'), n = B * T;
    b.dA.fill(0); b.dH.fill(0); b.dRaw.fill(0);
    linearBackward(k, w2, n, b.a, b.dTokens, b.dA);
    k.gluBackward(n, Ci, b.h, b.dA, b.dH);
    linearBackward(k, w1, n, b.raw, b.dH, b.dRaw);
    b.dQn.fill(0); b.dBankN.fill(0);
    readTapeBackward(this.reader, Ci, this.trace!, b.bankN, M * Ci, b.dRaw, new Float64Array(B).fill(this.ponderGrad), b.dQn, b.dBankN);
    const ln = normOf(this.params, 'tape.ln'), eps = c.layerNormEps;
    b.dQuery.fill(0); b.dEmbed.fill(0);
    k.layerNormBackward({ rows: B, cols: Ci, eps }, b.query, ln.g, b.qMean, b.qRstd, b.dQn, b.dQuery, ln.dg, ln.db);
    k.layerNormBackward({ rows: B * M, cols: Ci, eps }, inputs.embed.subarray(0, B * M * Ci), ln.g, b.bankMean, b.bankRstd, b.dBankN, b.dEmbed,
      ln.dg, ln.db);
    for (let r = 0; r < B; r++) {
      const P = this.prefix[r]!;
      for (let j = 0; j < P; j++) for (let ch = 0; ch < Ci; ch++) b.dEmbed[(r * M + j) * Ci + ch] = b.dEmbed[(r * M + j) * Ci + ch]! + b.dQuery[r * Ci + ch]! / P;
    }
  }

  /** dEmbed [B·M, Ci] += the tape's gradient with respect to the input embeddings. */
  addEmbeddingGrad(dEmbed: F32): void {
    const n = this.B * this.M * this.c.embedDim;
    this.k.add(dEmbed.subarray(0, n), this.bufs.dEmbed.subarray(0, n), dEmbed.subarray(0, n));
  }
}

/** att, lse = the attention of q over the inputs' keys and the tape's keys, merged by online softmax. */
function attendNextToTape(ctx: BlockContext, p: BlockParams, inputs: AttendKeys, tape: AttendKeys, q: F32, att: F32, lse: F32,
  scratchAtt: F32, scratchLse: F32): void {
  const k = ctx.k, inner = crossAttentionOperands(ctx, p.heads, inputs), t = crossAttentionOperands(ctx, p.heads, tape);
  k.attentionForward(inner.dims, inner.mask, q, inner.k, inner.v, att, lse);
  const R = ctx.B * ctx.N, att2 = scratchAtt.subarray(0, R * ctx.C), lse2 = scratchLse.subarray(0, R * p.heads);
  k.attentionForward(t.dims, t.mask, q, t.k, t.v, att2, lse2);
  k.attentionMerge(inner.dims, att, lse, att2, lse2);
}

/** A decoding step's cross-attend: the cached inputs and the cached tape (forward only). */
export class TapeNextToCache implements StreamedAttend {
  constructor(private readonly inputs: AttendKeys, private readonly tape: AttendKeys & { readonly att: F32; readonly lse: F32 }) {}
  forward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32): void {
    attendNextToTape(ctx, p, this.inputs, this.tape, q, att, lse, this.tape.att, this.tape.lse);
  }
  backward(): void { throw new Error('decoding has no backward'); }
}

/** The tape's buffers for B rows of M inputs and N latents; the gradient ones empty unless withGrads. */
export function allocateTapeBuffers(a: Allocator, c: ModelConfig, B: number, M: number, N: number, withGrads: boolean) {
  const Ci = c.embedDim, C = c.width, T = c.tapeLength, n = B * T, H = c.crossAttendHeads;
  const f = (size: number, what: string): F32 => a.allocF32(size, `tape ${what}`);
  const g = (size: number): F32 => a.allocF32(withGrads ? size : 0, 'tape grad');
  return {
    query: f(B * Ci, 'query'), qn: f(B * Ci, 'query LN'), qMean: f(B, 'LN'), qRstd: f(B, 'LN'),
    bankN: f(B * M * Ci, 'bank LN'), bankMean: f(B * M, 'LN'), bankRstd: f(B * M, 'LN'), available: a.allocU8(B * M, 'tape bank availability'),
    raw: f(n * Ci, 'read'), h: f(n * 2 * Ci, 'MLP'), a: f(n * Ci, 'GLU'), tokens: f(n * Ci, 'tokens'),
    xn: f(n * Ci, 'LN_kv'), kvMean: f(n, 'LN'), kvRstd: f(n, 'LN'), kv: f(n * 2 * C, 'k|v'),
    positions: a.allocI32(n, 'tape positions'), valid: a.allocU8(n, 'tape validity'),
    att: f(B * N * C, 'attention'), lse: f(B * N * H, 'lse'),
    dKv: g(n * 2 * C), dXn: g(n * Ci), dTokens: g(n * Ci), dA: g(n * Ci), dH: g(n * 2 * Ci),
    dRaw: g(n * Ci), dQn: g(B * Ci), dQuery: g(B * Ci), dBankN: g(B * M * Ci), dEmbed: g(B * M * Ci),
  };
}
