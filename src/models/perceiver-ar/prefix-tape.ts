// Causal AdaTape inside Perceiver AR (spec adatape §8, our extension): one tape per sequence read
// from the PREFIX — the inputs before the first latent — so no latent can learn about its future:
//   query_b = mean of the prefix embeddings;  bank_b = the prefix embeddings (input-driven)
//   q̂, bank̂ = LN_tape(query), LN_tape(bank);   tape_b = ATR(q̂, bank̂)  (reader.ts; T tokens, n_b valid)
//   tokens = W2·GLU(W1·tape)                   [B, T, Ci]
// The tape tokens join the cross-attend as extra keys/values (through the same LN_kv and kv
// projection as the inputs) at position 0, so every latent sees them; slots ≥ n_b are padded.
// The attention over inputs and over the tape are merged by online softmax (attentionMerge), and
// the backward runs each part against the merged lse — the same scheme as the streamed keys.
// Works with held keys (every input embedding in the workspace); rows with an empty prefix get no tape.
import type { Allocator } from '../../engine.js';
import type { F32, KernelSet } from '../../kernels/types.js';
import { linearBackward, linearForward } from '../../nn/linear.js';
import type { ParamStore } from '../../nn/params.js';
import { readTape, readTapeBackward, type ReaderSettings, type ReaderTrace } from '../adatape/reader.js';
import { crossAttentionOperands, keysBackward, prepareKeys, type BlockContext, type KeyActs, type StreamedAttend } from './blocks.js';
import type { ModelConfig } from './config.js';
import type { LatentLayout } from './layout.js';
import { linearOf, normOf, type BlockParams } from './params.js';

/** The held input side the tape reads from and attends next to. */
export interface HeldInputs {
  /** Inputs' embeddings [B·M, Ci] and their gradient buffer (the tape adds into it). */
  readonly embed: F32;
  /** The cross-attend's prepared keys over the inputs, and their gradient scratch. */
  readonly keys: KeyActs;
  readonly dKv: F32; readonly dXn: F32; readonly dKeys: F32;
}

export class PrefixTape implements StreamedAttend {
  private readonly reader: ReaderSettings;
  private readonly T: number;
  private readonly bufs: ReturnType<typeof allocateTapeBuffers>;
  private trace: ReaderTrace | null = null;
  private prefix: Int32Array = new Int32Array(0);
  private keys: KeyActs;
  private inputs: HeldInputs | null = null;
  /** d(loss)/d(R_b) for the next backward: lossScale·λ/B (set by the model). */
  ponderGrad = 0;

  constructor(a: Allocator, private readonly k: KernelSet, private readonly c: ModelConfig, private readonly params: ParamStore,
    private readonly B: number, private readonly M: number, N: number) {
    this.T = c.tapeLength;
    this.reader = {
      maxTape: c.tapeLength, candidates: c.tapeCandidates || Math.floor(c.tapeLength / c.tapeThreshold), threshold: c.tapeThreshold,
      keyDim: c.embedDim / c.crossAttendHeads, ponder: 'sum-squares',
    };
    this.bufs = allocateTapeBuffers(a, c, B, M, N);
    const b = this.bufs;
    this.keys = { keys: b.tokens, xn: b.xn, mean: b.kvMean, rstd: b.kvRstd, kv: b.kv, positions: b.positions, valid: b.valid, count: this.T };
  }

  /** Tape lengths n_b and ponder costs R_b of the last read. */
  get lengths(): Int32Array { return this.trace?.length ?? new Int32Array(0); }
  get meanPonder(): number { return this.trace ? this.trace.ponder.reduce((s, x) => s + x, 0) / this.B : 0; }

  /** Reads every row's tape from its prefix and prepares the tape's keys/values. */
  read(ctx: BlockContext, cross: BlockParams, layout: LatentLayout, inputs: HeldInputs): void {
    const { k, c, B, M, T } = this, Ci = c.embedDim, b = this.bufs, eps = c.layerNormEps;
    this.inputs = inputs;
    const ln = normOf(this.params, 'tape.ln');
    this.prefix = Int32Array.from({ length: B }, (_, r) => Math.max(0, layout.lengths[r]! - layout.N));
    b.query.fill(0);
    for (let r = 0; r < B; r++) {
      const P = this.prefix[r]!;
      for (let j = 0; j < P; j++) for (let ch = 0; ch < Ci; ch++) b.query[r * Ci + ch] = b.query[r * Ci + ch]! + inputs.embed[(r * M + j) * Ci + ch]! / P;
    }
    k.layerNormForward({ rows: B, cols: Ci, eps }, b.query, ln.g, ln.b, b.qn, b.qMean, b.qRstd);
    k.layerNormForward({ rows: B * M, cols: Ci, eps }, inputs.embed.subarray(0, B * M * Ci), ln.g, ln.b, b.bankN, b.bankMean, b.bankRstd);
    b.available.fill(0);
    for (let r = 0; r < B; r++) b.available.fill(1, r * M, r * M + this.prefix[r]!);
    this.trace = readTape(this.reader, B, Ci, M, b.qn, b.bankN, M * Ci, b.available, b.raw);
    const w1 = linearOf(this.params, 'tape.mlp1'), w2 = linearOf(this.params, 'tape.mlp2'), n = B * T;
    linearForward(k, w1, n, b.raw, b.h);
    k.gluForward(n, Ci, b.h, b.a);
    linearForward(k, w2, n, b.a, b.tokens);
    for (let r = 0; r < B; r++) for (let t = 0; t < T; t++) b.valid[r * T + t] = t < this.trace.length[r]! ? 1 : 0;
    b.positions.fill(0);
    prepareKeys(ctx, cross, this.keys);
  }

  forward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32): void {
    const k = this.k, inner = crossAttentionOperands(ctx, p.heads, this.inputs!.keys), tape = crossAttentionOperands(ctx, p.heads, this.keys);
    k.attentionForward(inner.dims, inner.mask, q, inner.k, inner.v, att, lse);
    const R = ctx.B * ctx.N, b = this.bufs;
    const att2 = b.att.subarray(0, R * ctx.C), lse2 = b.lse.subarray(0, R * p.heads);
    k.attentionForward(tape.dims, tape.mask, q, tape.k, tape.v, att2, lse2);
    k.attentionMerge(inner.dims, att, lse, att2, lse2);
  }

  backward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32, dAtt: F32, dQ: F32): void {
    const k = this.k, c = this.c, inputs = this.inputs!, b = this.bufs, C = ctx.C, Ci = c.embedDim, B = this.B, M = this.M, T = this.T;
    const inner = crossAttentionOperands(ctx, p.heads, inputs.keys);
    const dkv = inputs.dKv.subarray(0, B * inputs.keys.count * 2 * C);
    dkv.fill(0);
    k.attentionBackward(inner.dims, inner.mask, q, inner.k, inner.v, att, lse, dAtt, dQ, dkv, dkv.subarray(C));
    keysBackward(ctx, p, inputs.keys, dkv, inputs.dXn, inputs.dKeys);
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

function allocateTapeBuffers(a: Allocator, c: ModelConfig, B: number, M: number, N: number) {
  const Ci = c.embedDim, C = c.width, T = c.tapeLength, n = B * T, H = c.crossAttendHeads;
  const f = (size: number, what: string): F32 => a.allocF32(size, `tape ${what}`);
  return {
    query: f(B * Ci, 'query'), qn: f(B * Ci, 'query LN'), qMean: f(B, 'LN'), qRstd: f(B, 'LN'),
    bankN: f(B * M * Ci, 'bank LN'), bankMean: f(B * M, 'LN'), bankRstd: f(B * M, 'LN'), available: a.allocU8(B * M, 'tape bank availability'),
    raw: f(n * Ci, 'read'), h: f(n * 2 * Ci, 'MLP'), a: f(n * Ci, 'GLU'), tokens: f(n * Ci, 'tokens'),
    xn: f(n * Ci, 'LN_kv'), kvMean: f(n, 'LN'), kvRstd: f(n, 'LN'), kv: f(n * 2 * C, 'k|v'),
    positions: a.allocI32(n, 'tape positions'), valid: a.allocU8(n, 'tape validity'),
    att: f(B * N * C, 'attention'), lse: f(B * N * H, 'lse'),
    dKv: f(n * 2 * C, 'grad'), dXn: f(n * Ci, 'grad'), dTokens: f(n * Ci, 'grad'), dA: f(n * Ci, 'grad'), dH: f(n * 2 * Ci, 'grad'),
    dRaw: f(n * Ci, 'grad'), dQn: f(B * Ci, 'grad'), dQuery: f(B * Ci, 'grad'), dBankN: f(B * M * Ci, 'grad'), dEmbed: f(B * M * Ci, 'grad'),
  };
}
