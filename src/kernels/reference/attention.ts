// Reference attention: for each (batch, head, query) the full score row over all keys, softmax in
// float64, masked keys excluded. Quadratic memory per row is fine here: this is the definition of
// correct, not the fast path.
import type { AttentionDims, AttentionMask } from '../types.js';
import { resolveAttention, resolveAttentionMerge, type ResolvedAttention } from '../validate.js';
import type { Floats } from './floats.js';

function visible(r: ResolvedAttention, mask: AttentionMask, b: number, i: number, j: number): boolean {
  if (mask.causal && mask.causal.keyPositions[b * r.Tk + j]! > mask.causal.queryPositions[b * r.Tq + i]!) return false;
  if (mask.keyValid && mask.keyValid[b * r.Tk + j] === 0) return false;
  return true;
}

// Softmax probabilities of one query row (zeros where masked) and its logsumexp.
function probabilities(r: ResolvedAttention, mask: AttentionMask, q: Floats, k: Floats,
  b: number, h: number, i: number, p: Float64Array): number {
  const qo = (b * r.Tq + i) * r.ldq + h * r.D;
  let mx = -Infinity;
  for (let j = 0; j < r.Tk; j++) {
    if (!visible(r, mask, b, i, j)) { p[j] = -Infinity; continue; }
    const ko = (b * r.Tk + j) * r.ldk + h * r.D;
    let s = 0;
    for (let d = 0; d < r.D; d++) s += q[qo + d]! * k[ko + d]!;
    p[j] = s * r.scale;
    if (!(p[j]! <= mx)) mx = p[j]!;
  }
  if (mx === -Infinity) { p.fill(0); return -Infinity; }
  let sum = 0;
  for (let j = 0; j < r.Tk; j++) { p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j]! - mx); sum += p[j]!; }
  for (let j = 0; j < r.Tk; j++) p[j] = p[j]! / sum;
  return mx + Math.log(sum);
}

// Probabilities of one query row against the given logsumexp (zeros where masked).
function probabilitiesGiven(r: ResolvedAttention, mask: AttentionMask, q: Floats, k: Floats,
  b: number, h: number, i: number, l: number, p: Float64Array): void {
  const qo = (b * r.Tq + i) * r.ldq + h * r.D;
  for (let j = 0; j < r.Tk; j++) {
    if (!visible(r, mask, b, i, j)) { p[j] = 0; continue; }
    const ko = (b * r.Tk + j) * r.ldk + h * r.D;
    let s = 0;
    for (let d = 0; d < r.D; d++) s += q[qo + d]! * k[ko + d]!;
    p[j] = Math.exp(s * r.scale - l);
  }
}

/**
 * Merges a second attention result over other keys of the same queries into (out, lse):
 * lse' = log(e^lse + e^lse₂), out' = e^(lse − lse')·out + e^(lse₂ − lse')·out₂ (per batch, head, query).
 */
export function attentionMerge(d: AttentionDims, out: Floats, lse: Floats, out2: Floats, lse2: Floats): void {
  const r = resolveAttentionMerge('attentionMerge', d, out, lse, out2, lse2);
  for (let b = 0; b < r.B; b++) for (let h = 0; h < r.H; h++) for (let i = 0; i < r.Tq; i++) {
    const li = (b * r.H + h) * r.Tq + i, a = lse[li]!, c = lse2[li]!;
    if (c === -Infinity) continue;
    const m = Math.max(a, c), l = m + Math.log(Math.exp(a - m) + Math.exp(c - m));
    const wa = a === -Infinity ? 0 : Math.exp(a - l), wc = Math.exp(c - l);
    const oo = (b * r.Tq + i) * r.ldo + h * r.D;
    for (let dd = 0; dd < r.D; dd++) out[oo + dd] = wa * out[oo + dd]! + wc * out2[oo + dd]!;
    lse[li] = l;
  }
}

export function attentionForward(d: AttentionDims, mask: AttentionMask, q: Floats, k: Floats, v: Floats, out: Floats, lse: Floats): void {
  const r = resolveAttention('attentionForward', d, mask, q, k, v, out, lse);
  const p = new Float64Array(r.Tk);
  for (let b = 0; b < r.B; b++) for (let h = 0; h < r.H; h++) for (let i = 0; i < r.Tq; i++) {
    lse[(b * r.H + h) * r.Tq + i] = probabilities(r, mask, q, k, b, h, i, p);
    const oo = (b * r.Tq + i) * r.ldo + h * r.D;
    for (let dd = 0; dd < r.D; dd++) {
      let s = 0;
      for (let j = 0; j < r.Tk; j++) if (p[j] !== 0) s += p[j]! * v[(b * r.Tk + j) * r.ldv + h * r.D + dd]!;
      out[oo + dd] = s;
    }
  }
}

// P = exp(scale·QKᵀ − lse) with the lse given (the forward's, or one merged over key chunks, so a
// backward over a chunk of the keys is that chunk's share of the whole backward);
// dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P∘(dP − rowsum(dO∘O)); dQ += scale·dS·K; dK += scale·dSᵀ·Q.
export function attentionBackward(d: AttentionDims, mask: AttentionMask, q: Floats, k: Floats, v: Floats, out: Floats, lse: Floats,
  dOut: Floats, dq: Floats, dk: Floats, dv: Floats): void {
  const r = resolveAttention('attentionBackward', d, mask, q, k, v, out, lse);
  const p = new Float64Array(r.Tk);
  for (let b = 0; b < r.B; b++) for (let h = 0; h < r.H; h++) for (let i = 0; i < r.Tq; i++) {
    const l = lse[(b * r.H + h) * r.Tq + i]!;
    if (l === -Infinity) continue;
    probabilitiesGiven(r, mask, q, k, b, h, i, l, p);
    const qo = (b * r.Tq + i) * r.ldq + h * r.D, oo = (b * r.Tq + i) * r.ldo + h * r.D;
    let delta = 0;
    for (let dd = 0; dd < r.D; dd++) delta += dOut[oo + dd]! * out[oo + dd]!;
    for (let j = 0; j < r.Tk; j++) {
      if (p[j] === 0) continue;
      const ko = (b * r.Tk + j) * r.ldk + h * r.D, vo = (b * r.Tk + j) * r.ldv + h * r.D;
      let dp = 0;
      for (let dd = 0; dd < r.D; dd++) {
        dp += dOut[oo + dd]! * v[vo + dd]!;
        dv[vo + dd] = dv[vo + dd]! + p[j]! * dOut[oo + dd]!;
      }
      const ds = p[j]! * (dp - delta) * r.scale;
      for (let dd = 0; dd < r.D; dd++) {
        dq[qo + dd] = dq[qo + dd]! + ds * k[ko + dd]!;
        dk[ko + dd] = dk[ko + dd]! + ds * q[qo + dd]!;
      }
    }
  }
}
