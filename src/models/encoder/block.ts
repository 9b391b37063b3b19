// One pre-LN bidirectional encoder block, forward and backward (the backward mirrors the forward):
//   mid = x + Wo·Attn(LN(x)) (keys masked by keyValid);   out = mid + W2·gelu(W1·LN(mid))
// Rows: R = B·S, x [R, C]; key padding keyValid [B·S]. Rows s ≥ tapeStart of each sequence are
// tape rows (AdaTape): with a separate tape FFN they go through (tapeMlp1, tapeMlp2) instead of
// (mlp1, mlp2); attention and LayerNorms are shared. Padded rows are still computed as queries.
import type { Allocator } from '../../engine.js';
import type { F32, KernelSet, U8 } from '../../kernels/types.js';
import { linearBackward, linearForward, type LinearParams } from '../../nn/linear.js';
import type { NormParams } from '../../nn/layer-params.js';

export interface EncoderBlockParams {
  readonly ln: NormParams;
  readonly qkv: LinearParams;
  readonly out: LinearParams;
  readonly lnMlp: NormParams;
  readonly mlp1: LinearParams;
  readonly mlp2: LinearParams;
  /** The tape rows' own FFN, or null (tape rows use mlp1/mlp2). */
  readonly tapeMlp1: LinearParams | null;
  readonly tapeMlp2: LinearParams | null;
  readonly heads: number;
}

export interface EncoderShape {
  readonly B: number;
  readonly S: number;
  readonly C: number;
  /** Rows s ≥ tapeStart (in each sequence) are tape rows; S when there is no tape. */
  readonly tapeStart: number;
  readonly eps: number;
}

/** Saved activations of one block (all sized for the shape they were allocated with). */
export interface EncoderActs {
  readonly lnOut: F32; readonly lnMean: F32; readonly lnRstd: F32;
  readonly qkv: F32; readonly att: F32; readonly lse: F32;
  readonly proj: F32; readonly mid: F32;
  readonly ln2Out: F32; readonly ln2Mean: F32; readonly ln2Rstd: F32;
  /** MLP rows in group order (token rows, then tape rows when the tape has its own FFN). */
  readonly gathered: F32; readonly h: F32; readonly a: F32; readonly mlpOut: F32;
}

/** Gradient scratch shared by all blocks of a model. */
export interface EncoderGrads {
  readonly dLn: F32; readonly dQkv: F32; readonly dAtt: F32; readonly dH: F32; readonly dA: F32; readonly dGathered: F32; readonly dMlp: F32;
}

export function allocEncoderActs(a: Allocator, s: EncoderShape, hidden: number, heads: number): EncoderActs {
  const R = s.B * s.S, C = s.C;
  const f = (n: number, what: string): F32 => a.allocF32(n, `encoder ${what}`);
  return {
    lnOut: f(R * C, 'LN'), lnMean: f(R, 'LN mean'), lnRstd: f(R, 'LN rstd'), qkv: f(R * 3 * C, 'q|k|v'), att: f(R * C, 'attention'),
    lse: f(R * heads, 'attention lse'), proj: f(R * C, 'projection'), mid: f(R * C, 'residual'), ln2Out: f(R * C, 'MLP LN'),
    ln2Mean: f(R, 'MLP LN mean'), ln2Rstd: f(R, 'MLP LN rstd'), gathered: f(R * C, 'MLP rows'), h: f(R * hidden, 'MLP hidden'),
    a: f(R * hidden, 'MLP activation'), mlpOut: f(R * C, 'MLP output'),
  };
}

export function allocEncoderGrads(a: Allocator, s: EncoderShape, hidden: number): EncoderGrads {
  const R = s.B * s.S, C = s.C;
  const f = (n: number): F32 => a.allocF32(n, 'encoder gradient scratch');
  return { dLn: f(R * C), dQkv: f(R * 3 * C), dAtt: f(R * C), dH: f(R * hidden), dA: f(R * hidden), dGathered: f(R * C), dMlp: f(R * C) };
}

/** Row r of the group order ↔ row of the sequence layout: token rows of every sequence first, then tape rows. */
function groupRow(s: EncoderShape, r: number): number {
  const tokenRows = s.B * s.tapeStart;
  if (r < tokenRows) return Math.floor(r / s.tapeStart) * s.S + (r % s.tapeStart);
  const t = r - tokenRows, T = s.S - s.tapeStart;
  return Math.floor(t / T) * s.S + s.tapeStart + (t % T);
}

/** to[groupRow(r)] = from[r] (scatter) or to[r] = from[groupRow(r)] (gather), C floats a row. */
function permuteRows(s: EncoderShape, from: F32, to: F32, scatter: boolean): void {
  const C = s.C, R = s.B * s.S;
  for (let r = 0; r < R; r++) {
    const g = groupRow(s, r);
    if (scatter) to.set(from.subarray(r * C, (r + 1) * C), g * C);
    else to.set(from.subarray(g * C, (g + 1) * C), r * C);
  }
}

/** The MLP's row groups: [(rows, mlp1, mlp2)], one group unless tape rows have their own FFN. */
function mlpGroups(s: EncoderShape, p: EncoderBlockParams): { start: number; rows: number; w1: LinearParams; w2: LinearParams }[] {
  const R = s.B * s.S;
  if (!p.tapeMlp1 || s.tapeStart === s.S) return [{ start: 0, rows: R, w1: p.mlp1, w2: p.mlp2 }];
  const tokenRows = s.B * s.tapeStart;
  return [{ start: 0, rows: tokenRows, w1: p.mlp1, w2: p.mlp2 }, { start: tokenRows, rows: R - tokenRows, w1: p.tapeMlp1, w2: p.tapeMlp2! }];
}

const rows = (x: F32, n: number): F32 => x.subarray(0, n);

function attentionDims(s: EncoderShape, heads: number) {
  const C = s.C;
  return { batch: s.B, queries: s.S, keys: s.S, heads, headDim: C / heads, ldq: 3 * C, ldk: 3 * C, ldv: 3 * C, ldo: C };
}

export function encoderBlockForward(k: KernelSet, s: EncoderShape, p: EncoderBlockParams, acts: EncoderActs, keyValid: U8, x: F32, out: F32): void {
  const C = s.C, R = s.B * s.S, F = p.mlp1.outDim, n = R * C;
  k.layerNormForward({ rows: R, cols: C, eps: s.eps }, rows(x, n), p.ln.g, p.ln.b, rows(acts.lnOut, n), rows(acts.lnMean, R), rows(acts.lnRstd, R));
  const qkv = rows(acts.qkv, 3 * n);
  linearForward(k, p.qkv, R, rows(acts.lnOut, n), qkv);
  k.attentionForward(attentionDims(s, p.heads), { keyValid: keyValid.subarray(0, R) }, qkv, qkv.subarray(C), qkv.subarray(2 * C),
    rows(acts.att, n), rows(acts.lse, R * p.heads));
  linearForward(k, p.out, R, rows(acts.att, n), rows(acts.proj, n));
  k.add(rows(x, n), rows(acts.proj, n), rows(acts.mid, n));
  k.layerNormForward({ rows: R, cols: C, eps: s.eps }, rows(acts.mid, n), p.lnMlp.g, p.lnMlp.b, rows(acts.ln2Out, n), rows(acts.ln2Mean, R),
    rows(acts.ln2Rstd, R));
  const groups = mlpGroups(s, p);
  const input = groups.length > 1 ? rows(acts.gathered, n) : rows(acts.ln2Out, n);
  if (groups.length > 1) permuteRows(s, acts.ln2Out, input, false);
  for (const g of groups) {
    const h = acts.h.subarray(g.start * F, (g.start + g.rows) * F), a = acts.a.subarray(g.start * F, (g.start + g.rows) * F);
    linearForward(k, g.w1, g.rows, input.subarray(g.start * C, (g.start + g.rows) * C), h);
    k.activationForward('gelu', h, a);
    linearForward(k, g.w2, g.rows, a, acts.mlpOut.subarray(g.start * C, (g.start + g.rows) * C));
  }
  if (groups.length > 1) {
    permuteRows(s, acts.mlpOut, acts.gathered, true);
    k.add(rows(acts.mid, n), rows(acts.gathered, n), rows(out, n));
  } else {
    k.add(rows(acts.mid, n), rows(acts.mlpOut, n), rows(out, n));
  }
}

/** dOut [R, C] is overwritten with dx; parameter gradients accumulate. */
export function encoderBlockBackward(k: KernelSet, s: EncoderShape, p: EncoderBlockParams, acts: EncoderActs, keyValid: U8, x: F32,
  dOut: F32, g: EncoderGrads): void {
  const C = s.C, R = s.B * s.S, F = p.mlp1.outDim, n = R * C;
  const dz = rows(dOut, n);
  const groups = mlpGroups(s, p);
  const dMlp = groups.length > 1 ? rows(g.dMlp, n) : dz;
  if (groups.length > 1) permuteRows(s, dz, dMlp, false);
  const dIn = rows(g.dGathered, n), dA = rows(g.dA, R * F), dH = rows(g.dH, R * F);
  dIn.fill(0); dA.fill(0); dH.fill(0);
  const input = groups.length > 1 ? rows(acts.gathered, n) : rows(acts.ln2Out, n);
  if (groups.length > 1) permuteRows(s, acts.ln2Out, input, false);
  for (const gr of groups) {
    const fr = (buf: F32, w: number): F32 => buf.subarray(gr.start * w, (gr.start + gr.rows) * w);
    linearBackward(k, gr.w2, gr.rows, fr(acts.a, F), fr(dMlp, C), fr(dA, F));
    k.activationBackward('gelu', fr(acts.h, F), fr(dA, F), fr(dH, F));
    linearBackward(k, gr.w1, gr.rows, fr(input, C), fr(dH, F), fr(dIn, C));
  }
  const dLn = rows(g.dLn, n);
  if (groups.length > 1) permuteRows(s, dIn, dLn, true);
  else dLn.set(dIn);
  k.layerNormBackward({ rows: R, cols: C, eps: s.eps }, rows(acts.mid, n), p.lnMlp.g, rows(acts.ln2Mean, R), rows(acts.ln2Rstd, R),
    dLn, dz, p.lnMlp.dg, p.lnMlp.db);
  const dAtt = rows(g.dAtt, n), dQkv = rows(g.dQkv, 3 * n);
  dAtt.fill(0); dQkv.fill(0);
  linearBackward(k, p.out, R, rows(acts.att, n), dz, dAtt);
  const qkv = rows(acts.qkv, 3 * n);
  k.attentionBackward(attentionDims(s, p.heads), { keyValid: keyValid.subarray(0, R) }, qkv, qkv.subarray(C), qkv.subarray(2 * C),
    rows(acts.att, n), rows(acts.lse, R * p.heads), dAtt, dQkv, dQkv.subarray(C), dQkv.subarray(2 * C));
  dLn.fill(0);
  linearBackward(k, p.qkv, R, rows(acts.lnOut, n), dQkv, dLn);
  k.layerNormBackward({ rows: R, cols: C, eps: s.eps }, rows(x, n), p.ln.g, rows(acts.lnMean, R), rows(acts.lnRstd, R), dLn, dz, p.ln.dg, p.ln.db);
}
