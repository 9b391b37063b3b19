// The cross-attend over more keys than fit in engine memory at once (spec §10; docs/engine.md
// "Memory"). Only O(M) integers are kept per key (which input it is, its position and validity);
// the key embeddings, LN_kv, the k|v projection and their gradients exist one chunk at a time:
//   forward:  for each chunk: embed → LN_kv → kv = Xn·Wkv (k rotated) → attention over the chunk,
//             merged into (att, lse) by the online-softmax merge;
//   backward: for each chunk: recompute the same (or, with a KvStore, only the embedding and LN_kv,
//             copying the k|v kept outside the engine memory back in) → attention backward against the merged (att,
//             lse) (dQ accumulates, dk|dv are the chunk's) → kv and LN_kv backward → the chunk's
//             embedding gradients scattered straight into the token (and position) tables.
// Memory: O(B·chunk·(3·Ci + 4·C)) floats instead of O(B·M·(4·Ci + 4·C)); compute: the kv
// projection runs twice (forward and backward's recompute) instead of once.
import type { F32, I32, U8 } from '../../kernels/types.js';
import type { Allocator } from '../../engine.js';
import {
  crossAttentionOperands, keysBackward, prepareKeys, type BlockContext, type KeyActs, type StreamedAttend,
} from './blocks.js';
import type { BlockParams } from './params.js';
import { hasTable, type ModelConfig } from './config.js';

/** Embeds arbitrary input rows (token + absolute positions) and scatters their gradients back. */
export interface InputEmbedder {
  /** out[r] = embedding of input row idx[r] (b·M + j), zeros where idx[r] < 0; n rows. */
  forward(idx: I32, n: number, out: F32): void;
  /** Adds dOut's rows to the token (and learned position) table gradients; rows with idx < 0 are skipped. */
  backward(idx: I32, n: number, dOut: F32): void;
}

/** The keys each batch row attends to: count per row, [B·count] input row (−1: padding), position, validity. */
export interface KeyList {
  readonly count: number;
  readonly index: Int32Array;
  readonly positions: Int32Array;
  readonly valid: Uint8Array;
}

/** Engine buffers for one chunk of B·chunk keys and the merge. */
export interface StreamBuffers {
  readonly chunk: number;
  readonly idx: I32;
  readonly acts: KeyActs & { readonly positions: I32; readonly valid: U8 };
  readonly partOut: F32; readonly partLse: F32;
  readonly dKv: F32; readonly dXn: F32; readonly dKeys: F32;
  /** The embedder's scratch, max(B·chunk, B·N) rows. */
  readonly tokenIds: I32; readonly positionIds: I32; readonly positionTmp: F32;
}

export function allocateStreamBuffers(a: Allocator, c: ModelConfig, B: number, N: number, chunk: number, withGrads: boolean): StreamBuffers {
  const C = c.width, Ci = c.embedDim, Rk = B * chunk, R = B * N, H = c.crossAttendHeads;
  const g = (n: number, what: string): F32 => a.allocF32(withGrads ? n : 0, what);
  return {
    chunk,
    idx: a.allocI32(Rk, 'key chunk inputs'),
    acts: {
      keys: a.allocF32(Rk * Ci, 'key chunk embeddings'), xn: a.allocF32(Rk * Ci, 'key chunk ln_kv'),
      mean: a.allocF32(Rk, 'key chunk ln_kv mean'), rstd: a.allocF32(Rk, 'key chunk ln_kv rstd'),
      kv: a.allocF32(Rk * 2 * C, 'key chunk kv'), positions: a.allocI32(Rk, 'key chunk positions'),
      valid: a.allocU8(Rk, 'key chunk validity'), count: chunk,
    },
    partOut: a.allocF32(R * C, 'chunk attention'), partLse: a.allocF32(R * H, 'chunk attention lse'),
    dKv: g(Rk * 2 * C, 'key chunk dkv'), dXn: g(Rk * Ci, 'key chunk dxn'), dKeys: g(Rk * Ci, 'key chunk dkeys'),
    tokenIds: a.allocI32(Math.max(Rk, R), 'embedded token ids'), positionIds: a.allocI32(Math.max(Rk, R), 'embedded position ids'),
    positionTmp: a.allocF32(!hasTable(c) ? 0 : Math.max(Rk, R) * Ci, 'embedded positions'),
  };
}

/**
 * The chunks' k|v kept outside the engine memory between the forward and the backward (plain
 * JavaScript buffers, one per chunk), so the backward copies them back instead of recomputing the
 * projection: 8·C bytes per key of process memory buy back 4·C_in·C FLOPs per key.
 */
export class KvStore {
  private readonly chunks: (Float32Array | undefined)[] = [];
  constructor(readonly budgetBytes: number) {}
  private bytes(): number { return this.chunks.reduce((s, c) => s + (c?.byteLength ?? 0), 0); }
  /** Keeps chunk `index`'s k|v, reusing its buffer; over the budget the chunk is dropped (recomputed later). */
  keep(index: number, kv: F32): void {
    const have = this.chunks[index];
    if (have?.length === kv.length) have.set(kv);
    else if (this.bytes() - (have?.byteLength ?? 0) + kv.byteLength <= this.budgetBytes) this.chunks[index] = kv.slice();
    else this.chunks[index] = undefined;
  }
  /** Chunk `index`'s k|v from this step's forward, if kept and of the expected length. */
  take(index: number, length: number): Float32Array | undefined {
    const c = this.chunks[index];
    return c?.length === length ? c : undefined;
  }
  /** Drops the buffers beyond `count` chunks (a shorter context than last time). */
  trim(count: number): void { this.chunks.length = Math.min(this.chunks.length, count); }
}

export class StreamedKeys implements StreamedAttend {
  /**
   * onChunk: called with each chunk's prepared keys in the forward (the decoding cache is filled
   * this way when priming). store: keeps each chunk's k|v for the backward (training), when given.
   */
  constructor(private readonly B: number, private readonly list: KeyList, private readonly bufs: StreamBuffers,
    private readonly embedder: InputEmbedder, private readonly onChunk: ((keys: KeyActs) => void) | null = null,
    private readonly store: KvStore | null = null) {
    store?.trim(Math.ceil(list.count / bufs.chunk));
  }

  private prepare(ctx: BlockContext, p: BlockParams, i0: number, stored: Float32Array | undefined = undefined): KeyActs {
    const { B, list, bufs } = this;
    const n = Math.min(bufs.chunk, list.count - i0), a = bufs.acts;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        const src = b * list.count + i0 + i, dst = b * n + i;
        bufs.idx[dst] = list.index[src]!;
        a.positions[dst] = list.positions[src]!;
        a.valid[dst] = list.valid[src]!;
      }
    }
    this.embedder.forward(bufs.idx, B * n, a.keys);
    const keys: KeyActs = { ...a, count: n };
    prepareKeys(ctx, p, keys, stored !== undefined);
    if (stored) a.kv.set(stored);
    return keys;
  }

  forward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32): void {
    const { bufs, list } = this, k = ctx.k;
    for (let i0 = 0; i0 < list.count; i0 += bufs.chunk) {
      const keys = this.prepare(ctx, p, i0);
      this.onChunk?.(keys);
      this.store?.keep(i0 / bufs.chunk, keys.kv.subarray(0, this.B * keys.count * 2 * ctx.C));
      const a = crossAttentionOperands(ctx, p.heads, keys);
      if (i0 === 0) {
        k.attentionForward(a.dims, a.mask, q, a.k, a.v, att, lse);
      } else {
        k.attentionForward(a.dims, a.mask, q, a.k, a.v, bufs.partOut, bufs.partLse);
        k.attentionMerge(a.dims, att, lse, bufs.partOut, bufs.partLse);
      }
    }
  }

  backward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32, dAtt: F32, dQ: F32): void {
    const { bufs, list, B } = this, k = ctx.k, C = ctx.C;
    for (let i0 = 0; i0 < list.count; i0 += bufs.chunk) {
      const keys = this.prepare(ctx, p, i0, this.store?.take(i0 / bufs.chunk, B * Math.min(bufs.chunk, list.count - i0) * 2 * C));
      const a = crossAttentionOperands(ctx, p.heads, keys);
      const dkv = bufs.dKv.subarray(0, B * keys.count * 2 * C);
      dkv.fill(0);
      k.attentionBackward(a.dims, a.mask, q, a.k, a.v, att, lse, dAtt, dQ, dkv, dkv.subarray(C));
      keysBackward(ctx, p, keys, dkv, bufs.dXn, bufs.dKeys);
      this.embedder.backward(bufs.idx, B * keys.count, bufs.dKeys);
    }
  }
}
