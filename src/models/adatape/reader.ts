// Adaptive Tape Reading (spec adatape §3), forward and backward, one row at a time (rows are
// independent: every score, top-K choice and halting decision uses that row's own values — the
// reference code's flattened gather of row 0's weights is deliberately not reproduced).
//
// Shapes (floats, row-major; "bank rows" = Mb tokens of C channels, already normalised by the
// shared LayerNorm; a learnable bank is shared by all rows: bankStride 0):
//   query     [B, C]      the normalised query; only its first dk channels are read (the key width)
//   bank      [B|1, Mb, C] keys = first dk channels, values = all C channels
//   available [B, Mb]     1 = the row may read this bank token (0: hidden or past the bank's end)
//   tape      [B, T, C]   output: step t's merged token Σ_j w_j·value_j, zero for t ≥ n
//   length n  [B], ponder R [B]
// Per step (p = 1 token per step): running = h < τ; s_m = q·key_m over unused tokens; the top K
// (ties: lower index first); w = softmax(s/√dk); e = 1 − Σw² (or 1 − max w); inc = max w; a
// running row adds e to R and 1 to n, then h += inc and halts once h ≥ τ − 1e-9 (so a weight that
// rounds to just under 1 still counts as dominating); the K candidates become used; q ← (q + merged[:dk])/2.
// A row whose bank is used up emits nothing more and halts (n may then be < ⌈τ⌉).
// Only the soft weights and the values carry gradients; the choices and halting are constants.

export type PonderTerm = 'sum-squares' | 'max';

export interface ReaderSettings {
  /** T: the most tape tokens (= steps, one token per step). */
  readonly maxTape: number;
  /** K: candidates merged per step. */
  readonly candidates: number;
  /** τ: halting threshold. */
  readonly threshold: number;
  /** Key width: the first dk channels of query and bank tokens. */
  readonly keyDim: number;
  readonly ponder: PonderTerm;
}

type Floats = Float32Array | Float64Array;

/** What the backward needs, per row: the chosen tokens, their weights and the query at each step. */
export interface ReaderTrace {
  readonly B: number;
  readonly bankRows: number;
  /** [B, T, K] bank indices (−1: no candidate). */
  readonly chosen: Int32Array;
  /** [B, T, K] softmax weights. */
  readonly weights: Float64Array;
  /** [B, T, dk] the query used at each step. */
  readonly queries: Float64Array;
  /** [B] tape length n and ponder cost R. */
  readonly length: Int32Array;
  readonly ponder: Float64Array;
  /** [B] halting score h after the last step. */
  readonly halting: Float64Array;
}

export const HALT_TOLERANCE = 1e-9;

export function readTape(s: ReaderSettings, B: number, C: number, Mb: number, query: Floats, bank: Floats, bankStride: number,
  available: Uint8Array, tape: Floats): ReaderTrace {
  const { maxTape: T, candidates: K, threshold: tau, keyDim: dk } = s;
  const trace: ReaderTrace = {
    B, bankRows: Mb, chosen: new Int32Array(B * T * K).fill(-1), weights: new Float64Array(B * T * K), queries: new Float64Array(B * T * dk),
    length: new Int32Array(B), ponder: new Float64Array(B), halting: new Float64Array(B),
  };
  tape.fill(0, 0, B * T * C);
  const scale = 1 / Math.sqrt(dk);
  const q = new Float64Array(dk), scores = new Float64Array(Mb), order = new Int32Array(Mb), used = new Uint8Array(Mb);
  for (let b = 0; b < B; b++) {
    const bankOff = b * bankStride;
    for (let i = 0; i < dk; i++) q[i] = query[b * C + i]!;
    used.fill(0);
    let h = 0, n = 0, R = 0;
    for (let t = 0; t < T && h < tau - HALT_TOLERANCE; t++) {
      let count = 0;
      for (let m = 0; m < Mb; m++) {
        if (used[m] || !available[b * Mb + m]) continue;
        let dot = 0;
        for (let i = 0; i < dk; i++) dot += q[i]! * bank[bankOff + m * C + i]!;
        scores[m] = dot * scale;
        order[count++] = m;
      }
      if (count === 0) break;
      const picked = Array.from(order.subarray(0, count)).sort((x, y) => scores[y]! - scores[x]! || x - y).slice(0, K);
      const base = (b * T + t) * K;
      const top = scores[picked[0]!]!;
      let sum = 0;
      picked.forEach((m, j) => { const e = Math.exp(scores[m]! - top); trace.weights[base + j] = e; sum += e; });
      let sumSq = 0, maxW = 0;
      for (let j = 0; j < picked.length; j++) {
        const w = (trace.weights[base + j]! /= sum);
        sumSq += w * w;
        maxW = Math.max(maxW, w);
        trace.chosen[base + j] = picked[j]!;
        used[picked[j]!] = 1;
      }
      trace.queries.set(q, (b * T + t) * dk);
      R += s.ponder === 'sum-squares' ? 1 - sumSq : 1 - maxW;
      n++;
      h = Math.min(tau, h + maxW);
      const out = (b * T + t) * C;
      for (let j = 0; j < picked.length; j++) {
        const w = trace.weights[base + j]!, v = bankOff + picked[j]! * C;
        for (let c = 0; c < C; c++) tape[out + c] = tape[out + c]! + w * bank[v + c]!;
      }
      for (let i = 0; i < dk; i++) q[i] = (q[i]! + tape[out + i]!) / 2;
    }
    trace.length[b] = n;
    trace.ponder[b] = R;
    trace.halting[b] = h;
  }
  return trace;
}

/**
 * From d(tape) [B, T, C] and d(R) [B] (e.g. λ/B each): accumulates d(query) [B, C] (first dk
 * channels) and d(bank) [B|1, Mb, C] (+=). Reverses the steps of each row, carrying d(q).
 */
export function readTapeBackward(s: ReaderSettings, C: number, trace: ReaderTrace, bank: Floats, bankStride: number,
  dTape: Floats, dPonder: ArrayLike<number>, dQuery: Floats, dBank: Floats): void {
  const { maxTape: T, candidates: K, keyDim: dk } = s;
  const scale = 1 / Math.sqrt(dk);
  const gq = new Float64Array(dk), gy = new Float64Array(C), gw = new Float64Array(K);
  for (let b = 0; b < trace.B; b++) {
    const bankOff = b * bankStride;
    gq.fill(0);
    for (let t = trace.length[b]! - 1; t >= 0; t--) {
      const base = (b * T + t) * K, qOff = (b * T + t) * dk, out = (b * T + t) * C;
      // q_{t+1} = (q_t + y_t[:dk]) / 2
      for (let c = 0; c < C; c++) gy[c] = dTape[out + c]!;
      for (let i = 0; i < dk; i++) { gy[i] = gy[i]! + gq[i]! / 2; gq[i] = gq[i]! / 2; }
      let k = 0;
      while (k < K && trace.chosen[base + k]! >= 0) k++;
      let maxJ = 0;
      for (let j = 0; j < k; j++) if (trace.weights[base + j]! > trace.weights[base + maxJ]!) maxJ = j;
      let dot = 0;
      for (let j = 0; j < k; j++) {
        const w = trace.weights[base + j]!, v = bankOff + trace.chosen[base + j]! * C;
        let g = 0;
        for (let c = 0; c < C; c++) { g += gy[c]! * bank[v + c]!; dBank[v + c] = dBank[v + c]! + w * gy[c]!; }
        g += s.ponder === 'sum-squares' ? -2 * w * dPonder[b]! : (j === maxJ ? -dPonder[b]! : 0);
        gw[j] = g;
        dot += w * g;
      }
      for (let j = 0; j < k; j++) {
        const gs = trace.weights[base + j]! * (gw[j]! - dot) * scale, v = bankOff + trace.chosen[base + j]! * C;
        for (let i = 0; i < dk; i++) {
          gq[i] = gq[i]! + gs * bank[v + i]!;
          dBank[v + i] = dBank[v + i]! + gs * trace.queries[qOff + i]!;
        }
      }
    }
    for (let i = 0; i < dk; i++) dQuery[b * C + i] = dQuery[b * C + i]! + gq[i]!;
  }
}
