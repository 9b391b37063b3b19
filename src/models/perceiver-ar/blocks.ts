// One pre-LN attention + MLP block, forward and backward (the backward mirrors the forward line
// by line). The same code serves the cross-attend (queries from the latents, keys/values from the
// inputs, separate norms, the query residual) and the latent self-attention blocks.
//   mid = x + drop(Wo·Attn(q, k, v));   out = mid + drop(W2·f(W1·LN(mid)))
import type { RotarySpacing } from '../../kernels/formulas.js';
import type { LiveSection } from '../../engine.js';
import type { Activation, AttentionMask, F32, I32, KernelSet, U8 } from '../../kernels/types.js';
import { linearBackward, linearForward, linearForwardNormed, linearForwardResidual, type LinearParams } from '../../nn/linear.js';
import type { NormParams } from '../../nn/layer-params.js';
import type { BlockParams } from './params.js';

/** Per-block saved activations; all [R, ·] with R = B·N latent rows. */
export interface BlockActs {
  readonly lnOut: F32; readonly lnMean: F32; readonly lnRstd: F32;
  /** Self: [R, 3C] fused q|k|v (q and k rotated). Cross: [R, C] q (rotated). */
  readonly q: F32;
  readonly att: F32; readonly lse: F32;
  readonly proj: F32; readonly mid: F32;
  readonly ln2Out: F32; readonly ln2Mean: F32; readonly ln2Rstd: F32;
  readonly h: F32; readonly a: F32; readonly mlpOut: F32;
}

/** Keys and values to attend to: kv [B·count, 2C] = k (rotated) | v, with positions and validity. */
export interface AttendKeys {
  readonly kv: F32; readonly positions: I32; readonly valid: U8; readonly count: number;
}

/**
 * Keys too many to hold at once (spec §10 memory): the cross-attend streams them in chunks,
 * computing each chunk's keys/values, attending, and merging (online softmax); the backward
 * recomputes each chunk. See streamed-keys.ts.
 */
export interface StreamedAttend {
  forward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32): void;
  /** Accumulates into dQ (rotated, [R, C]) and the key-side parameters' and embeddings' gradients. */
  backward(ctx: BlockContext, p: BlockParams, q: F32, att: F32, lse: F32, dAtt: F32, dQ: F32): void;
}

const isStreamed = (keys: AttendKeys | StreamedAttend | null): keys is StreamedAttend => keys !== null && 'forward' in keys;

/** The cross-attend's keys side: Xn = LN_kv(keys), kv = Xn·Wkv (k rotated). Rows: B·Mk. */
export interface KeyActs extends AttendKeys {
  readonly keys: F32; readonly xn: F32; readonly mean: F32; readonly rstd: F32;
}

/**
 * A self-attention layer's latent cache for decoding (batch 1): the block writes its new rows'
 * k | v at slots [count, count + R) and attends over all count + R entries.
 */
export interface LatentCache {
  readonly kv: F32; readonly positions: I32; readonly valid: U8; readonly count: number;
}

/** Shared gradient scratch, sized for the largest block. */
export interface BlockGrads {
  readonly dLn: F32; readonly dQ: F32; readonly dAtt: F32; readonly dProj: F32; readonly dH: F32; readonly dA: F32; readonly dMlp: F32;
}

export interface BlockContext {
  readonly k: KernelSet;
  readonly B: number;
  readonly N: number;
  readonly C: number;
  readonly eps: number;
  readonly dropout: number;
  /** Dropout seeds for the attention and MLP outputs of this block. */
  readonly seeds: readonly [number, number];
  readonly latentPositions: I32;
  readonly latentValid: U8;
  /** Rotary settings, or null when this block does not rotate (absolute positions, or a layer past config.rotaryLayers). */
  readonly rotary: { readonly fraction: number; readonly maxWavelength: number; readonly spacing: RotarySpacing } | null;
  readonly activation: Activation;
  /** Cross-attend: the latents' own keys/values go through the query norm (config.latentKeyNorm 'query'). */
  readonly latentKeysByQueryNorm: boolean;
  /** No backward follows (decoding, evaluation): the MLP's pre-activation need not be kept. */
  readonly inference?: boolean;
  /**
   * Decoding with a recorded step (model.ts decodeStep): the work whose arguments change from step
   * to step (the attention over a growing cache, the copies into it) goes through here, to run
   * again at every replay. Absent: it just runs.
   */
  readonly live?: LiveSection;
}

const now: LiveSection = (fn) => fn();

const rows = <T extends F32 | I32 | U8>(x: T, n: number): T => x.subarray(0, n) as T;

function layerNorm(ctx: BlockContext, n: NormParams, R: number, cols: number, x: F32, y: F32, mean: F32, rstd: F32): void {
  ctx.k.layerNormForward({ rows: R, cols, eps: ctx.eps }, rows(x, R * cols), n.g, n.b, rows(y, R * cols), rows(mean, R), rows(rstd, R));
}

function rotaryDims(ctx: BlockContext, heads: number): number {
  return ctx.rotary ? 2 * Math.floor(((ctx.C / heads) * ctx.rotary.fraction) / 2) : 0;
}

/**
 * Rotates `groups` adjacent C-wide column groups of each row (q, or q and k of a fused qkv row: one
 * kernel call for both, as their heads share positions and frequencies).
 */
function rotate(ctx: BlockContext, heads: number, R: number, x: F32, stride: number, positions: I32, backward: boolean, groups = 1): void {
  const rot = rotaryDims(ctx, heads);
  if (!ctx.rotary || rot === 0) return;
  const d = { rows: R, heads: heads * groups, headDim: ctx.C / heads, rowStride: stride, rotaryDims: rot, maxWavelength: ctx.rotary.maxWavelength, spacing: ctx.rotary.spacing };
  if (backward) ctx.k.rotaryBackward(d, x, rows(positions, R));
  else ctx.k.rotaryForward(d, x, rows(positions, R));
}

/**
 * y = x + drop(input·W + b) for the branch's output projection: without dropout one fused pass
 * where the product reads bf16 weights (linearForwardResidual); branch and scratch are work buffers.
 */
function projectResidual(ctx: BlockContext, seed: number, lin: LinearParams, R: number, input: F32, x: F32, branch: F32, scratch: F32, y: F32): void {
  const n = R * lin.outDim;
  if (ctx.dropout === 0) {
    linearForwardResidual(ctx.k, lin, R, rows(input, R * lin.inDim), rows(x, n), rows(y, n));
    return;
  }
  linearForward(ctx.k, lin, R, rows(input, R * lin.inDim), rows(branch, n));
  ctx.k.dropoutForward({ p: ctx.dropout, seed }, rows(branch, n), rows(scratch, n));
  ctx.k.add(rows(x, n), rows(scratch, n), rows(y, n));
}

/** d(branch) from d(y) through the dropout; returns dy itself when there is no dropout. */
function residualBackward(ctx: BlockContext, seed: number, n: number, dy: F32, dBranch: F32): F32 {
  if (ctx.dropout === 0) return dy;
  const out = rows(dBranch, n);
  out.fill(0);
  ctx.k.dropoutBackward({ p: ctx.dropout, seed }, rows(dy, n), out);
  return out;
}

function attentionOperands(ctx: BlockContext, p: BlockParams, acts: BlockActs, keys: AttendKeys | null, cache: LatentCache | null = null) {
  const C = ctx.C, H = p.heads, R = ctx.B * ctx.N;
  const selfMask: AttentionMask = {
    causal: { queryPositions: rows(ctx.latentPositions, R), keyPositions: rows(ctx.latentPositions, R) },
    keyValid: rows(ctx.latentValid, R),
  };
  if (cache) {
    const n = cache.count + R;
    return {
      dims: { batch: 1, queries: R, keys: n, heads: H, headDim: C / H, ldq: 3 * C, ldk: 2 * C, ldv: 2 * C, ldo: C },
      mask: { causal: { queryPositions: rows(ctx.latentPositions, R), keyPositions: rows(cache.positions, n) }, keyValid: rows(cache.valid, n) },
      q: acts.q, k: cache.kv, v: cache.kv.subarray(C),
    };
  }
  if (!keys) {
    return {
      dims: { batch: ctx.B, queries: ctx.N, keys: ctx.N, heads: H, headDim: C / H, ldq: 3 * C, ldk: 3 * C, ldv: 3 * C, ldo: C },
      mask: selfMask, q: acts.q, k: acts.q.subarray(C), v: acts.q.subarray(2 * C),
    };
  }
  return { ...crossAttentionOperands(ctx, H, keys), q: acts.q };
}

/**
 * With ctx.latentKeysByQueryNorm: for each batch row b, the keys [start, end) (within the row's
 * `count`) that are latents — valid, at or after the row's first latent position (positions increase
 * along a row, and the cross-attend never drops a latent's own key). null otherwise.
 */
function latentKeyRuns(ctx: BlockContext, keys: AttendKeys): Int32Array | null {
  if (!ctx.latentKeysByQueryNorm) return null;
  const runs = new Int32Array(2 * ctx.B);
  for (let b = 0; b < ctx.B; b++) {
    let first = -1;
    for (let i = 0; i < ctx.N && first < 0; i++) if (ctx.latentValid[b * ctx.N + i]) first = ctx.latentPositions[b * ctx.N + i]!;
    let start = keys.count, end = keys.count;
    if (first >= 0) {
      for (let j = 0; j < keys.count; j++) {
        const r = b * keys.count + j;
        if (!keys.valid[r] || keys.positions[r]! < first) continue;
        if (start === keys.count) start = j;
        end = j + 1;
      }
    }
    runs[2 * b] = start;
    runs[2 * b + 1] = Math.max(start, end);
  }
  return runs;
}

/** The cross-attend's keys and values: kv = LN_kv(keys)·Wkv + b, k rotated by the key positions (normaliseOnly: LN_kv alone); the latents' own keys through LN_q when ctx says so. */
export function prepareKeys(ctx: BlockContext, p: BlockParams, keys: KeyActs, normaliseOnly = false): void {
  const Rk = ctx.B * keys.count, C = ctx.C, cols = p.lnKv!.g.length;
  layerNorm(ctx, p.lnKv!, Rk, cols, keys.keys, keys.xn, keys.mean, keys.rstd);
  const runs = latentKeyRuns(ctx, keys);
  for (let b = 0; runs && b < ctx.B; b++) {
    const o = b * keys.count + runs[2 * b]!, n = runs[2 * b + 1]! - runs[2 * b]!;
    if (n === 0) continue;
    ctx.k.layerNormForward({ rows: n, cols, eps: ctx.eps }, keys.keys.subarray(o * cols, (o + n) * cols), p.ln.g, p.ln.b,
      keys.xn.subarray(o * cols, (o + n) * cols), keys.mean.subarray(o, o + n), keys.rstd.subarray(o, o + n));
  }
  if (normaliseOnly) return;
  linearForward(ctx.k, p.kv!, Rk, rows(keys.xn, Rk * p.kv!.inDim), rows(keys.kv, Rk * 2 * C));
  rotate(ctx, p.heads, Rk, keys.kv, 2 * C, keys.positions, false);
}

/** From d(kv) (rotated, overwritten): the key side's parameter gradients and d(keys) into dKeys (zeroed here). */
export function keysBackward(ctx: BlockContext, p: BlockParams, keys: KeyActs, dkv: F32, dXn: F32, dKeys: F32): void {
  const { k, C } = ctx;
  const Rk = ctx.B * keys.count, Ci = p.kv!.inDim;
  rotate(ctx, p.heads, Rk, dkv, 2 * C, keys.positions, true);
  const dxn = rows(dXn, Rk * Ci), dk = rows(dKeys, Rk * Ci);
  dxn.fill(0); dk.fill(0);
  linearBackward(k, p.kv!, Rk, rows(keys.xn, Rk * Ci), rows(dkv, Rk * 2 * C), dxn);
  const runs = latentKeyRuns(ctx, keys);
  if (!runs) {
    k.layerNormBackward({ rows: Rk, cols: Ci, eps: ctx.eps }, rows(keys.keys, Rk * Ci), p.lnKv!.g, rows(keys.mean, Rk), rows(keys.rstd, Rk),
      dxn, dk, p.lnKv!.dg, p.lnKv!.db);
    return;
  }
  // Each row: its prefix keys through LN_kv, its latents' keys (and the padding after them, whose gradient is zero) through LN_q.
  const part = (norm: NormParams, o: number, n: number): void => {
    if (n > 0) {
      k.layerNormBackward({ rows: n, cols: Ci, eps: ctx.eps }, keys.keys.subarray(o * Ci, (o + n) * Ci), norm.g, keys.mean.subarray(o, o + n),
        keys.rstd.subarray(o, o + n), dxn.subarray(o * Ci, (o + n) * Ci), dk.subarray(o * Ci, (o + n) * Ci), norm.dg, norm.db);
    }
  };
  for (let b = 0; b < ctx.B; b++) {
    const row = b * keys.count, start = runs[2 * b]!;
    part(p.lnKv!, row, start);
    part(p.ln, row + start, keys.count - start);
  }
}

/** The attention of a chunk of keys, or of all of them: the operands for keys [B·count] given q. */
export function crossAttentionOperands(ctx: BlockContext, heads: number, keys: AttendKeys) {
  const C = ctx.C, R = ctx.B * ctx.N, Mk = keys.count;
  return {
    dims: { batch: ctx.B, queries: ctx.N, keys: Mk, heads, headDim: C / heads, ldq: C, ldk: 2 * C, ldv: 2 * C, ldo: C },
    mask: {
      causal: { queryPositions: rows(ctx.latentPositions, R), keyPositions: rows(keys.positions, ctx.B * Mk) },
      keyValid: rows(keys.valid, ctx.B * Mk),
    } satisfies AttentionMask,
    k: keys.kv, v: keys.kv.subarray(C),
  };
}

/**
 * keys: the cross-attend's prepared keys (prepareKeys, or a decoding cache), or streamed keys;
 * null for self-attention.
 * cache: a self-attention layer's latent cache when decoding (the new rows' k|v are appended).
 */
export function blockForward(ctx: BlockContext, p: BlockParams, acts: BlockActs, x: F32, out: F32, keys: AttendKeys | StreamedAttend | null,
  cache: LatentCache | null = null): void {
  const { k, C } = ctx, live = ctx.live ?? now;
  const R = ctx.B * ctx.N, F = p.mlp1.outDim, H = p.heads;
  // Inference keeps no LN outputs: the norms are then the products' prologues where those read bf16 weights.
  const keepNorm = !ctx.inference;
  const ln = { gamma: p.ln.g, beta: p.ln.b, eps: ctx.eps }, lnOut = { y: acts.lnOut, mean: acts.lnMean, rstd: acts.lnRstd };
  if (keys) {
    linearForwardNormed(k, p.q!, R, x, ln, lnOut, keepNorm, rows(acts.q, R * C));
    rotate(ctx, H, R, acts.q, C, ctx.latentPositions, false);
  } else {
    linearForwardNormed(k, p.qkv!, R, x, ln, lnOut, keepNorm, rows(acts.q, R * 3 * C));
    rotate(ctx, H, R, acts.q, 3 * C, ctx.latentPositions, false, 2);
    if (cache) {
      live(() => {
        for (let r = 0; r < R; r++) {
          const slot = cache.count + r;
          cache.kv.set(acts.q.subarray(r * 3 * C + C, r * 3 * C + 3 * C), slot * 2 * C);
          cache.positions[slot] = ctx.latentPositions[r]!;
          cache.valid[slot] = ctx.latentValid[r]!;
        }
      });
    }
  }
  live(() => {
    if (isStreamed(keys)) {
      keys.forward(ctx, p, rows(acts.q, R * C), rows(acts.att, R * C), rows(acts.lse, R * H));
    } else {
      const a = attentionOperands(ctx, p, acts, keys, cache);
      k.attentionForward(a.dims, a.mask, a.q, a.k, a.v, rows(acts.att, R * C), rows(acts.lse, R * H));
    }
  });
  projectResidual(ctx, ctx.seeds[0], p.out, R, acts.att, x, acts.proj, acts.mlpOut, acts.mid);
  linearForwardNormed(k, p.mlp1, R, acts.mid, { gamma: p.lnMlp.g, beta: p.lnMlp.b, eps: ctx.eps }, { y: acts.ln2Out, mean: acts.ln2Mean, rstd: acts.ln2Rstd },
    keepNorm, rows(acts.a, R * F), ctx.activation, keepNorm ? rows(acts.h, R * F) : null);
  projectResidual(ctx, ctx.seeds[1], p.mlp2, R, acts.a, acts.mid, acts.mlpOut, acts.proj, out);
}

/**
 * Given dOut (overwritten: it becomes dx), accumulates parameter gradients; for the cross block
 * also writes d(keys) into dKeys (zeroed here) for the caller to scatter.
 * Note: the forward uses acts.proj / acts.mlpOut only as scratch (the projections, and dropout's
 * output; without dropout the projections go straight into the residual stream and they are not
 * written), so the backward needs only x, mid and the saved LN/attention/MLP activations (acts.h
 * is kept unless the forward was inference-only).
 */
export function blockBackward(ctx: BlockContext, p: BlockParams, acts: BlockActs, x: F32, dOut: F32, g: BlockGrads,
  keys: KeyActs | StreamedAttend | null, dKv: F32 | null, dXn: F32 | null, dKeys: F32 | null): void {
  const { k, C } = ctx;
  const R = ctx.B * ctx.N, F = p.mlp1.outDim, H = p.heads;
  const dz = rows(dOut, R * C);
  // MLP branch: out = mid + drop(mlpOut).
  const dMlp = residualBackward(ctx, ctx.seeds[1], R * C, dz, g.dMlp);
  const dA = rows(g.dA, R * F), dH = rows(g.dH, R * F), dLn = rows(g.dLn, R * C);
  // Buffers a product writes whole are overwritten, not zeroed and accumulated (a zeroing pass over
  // B·N·4C floats per block was a visible part of a small model's step).
  dH.fill(0);
  linearBackward(k, p.mlp2, R, rows(acts.a, R * F), dMlp, dA, true);
  k.activationBackward(ctx.activation, rows(acts.h, R * F), dA, dH);
  linearBackward(k, p.mlp1, R, rows(acts.ln2Out, R * C), dH, dLn, true);
  k.layerNormBackward({ rows: R, cols: C, eps: ctx.eps }, rows(acts.mid, R * C), p.lnMlp.g, rows(acts.ln2Mean, R), rows(acts.ln2Rstd, R),
    dLn, dz, p.lnMlp.dg, p.lnMlp.db);
  // Attention branch: mid = x + drop(Wo·att).
  const dProj = residualBackward(ctx, ctx.seeds[0], R * C, dz, g.dProj);
  const dAtt = rows(g.dAtt, R * C);
  linearBackward(k, p.out, R, rows(acts.att, R * C), dProj, dAtt, true);
  const qWidth = keys ? C : 3 * C;
  const dQ = rows(g.dQ, R * qWidth);
  dQ.fill(0);
  if (keys) {
    if (isStreamed(keys)) {
      keys.backward(ctx, p, rows(acts.q, R * C), rows(acts.att, R * C), rows(acts.lse, R * H), dAtt, dQ);
    } else {
      const a = attentionOperands(ctx, p, acts, keys);
      const dkv = rows(dKv!, ctx.B * keys.count * 2 * C);
      dkv.fill(0);
      k.attentionBackward(a.dims, a.mask, a.q, a.k, a.v, rows(acts.att, R * C), rows(acts.lse, R * H), dAtt, dQ, dkv, dkv.subarray(C));
      keysBackward(ctx, p, keys, dkv, dXn!, dKeys!);
    }
    rotate(ctx, H, R, dQ, C, ctx.latentPositions, true);
    linearBackward(k, p.q!, R, rows(acts.lnOut, R * C), dQ, dLn, true);
  } else {
    const a = attentionOperands(ctx, p, acts, null);
    k.attentionBackward(a.dims, a.mask, a.q, a.k, a.v, rows(acts.att, R * C), rows(acts.lse, R * H), dAtt, dQ, dQ.subarray(C), dQ.subarray(2 * C));
    rotate(ctx, H, R, dQ, 3 * C, ctx.latentPositions, true, 2);
    linearBackward(k, p.qkv!, R, rows(acts.lnOut, R * C), dQ, dLn, true);
  }
  k.layerNormBackward({ rows: R, cols: C, eps: ctx.eps }, rows(x, R * C), p.ln.g, rows(acts.lnMean, R), rows(acts.lnRstd, R),
    dLn, dz, p.ln.dg, p.ln.db);
}
