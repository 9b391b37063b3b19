// Choosing the next token from logits: greedy, temperature, top-k, top-p (nucleus), and an
// optional mask of allowed ids. Seeded through the Rng passed in.
import { Rng } from '../tensor/rng.js';

export interface SamplingConfig {
  /** 0 = greedy (argmax). */
  readonly temperature: number;
  /** Keep only the k most likely ids (0 = all). */
  readonly topK: number;
  /** Keep the smallest set of ids whose probability reaches p (1 = all). */
  readonly topP: number;
}

export function checkSampling(s: SamplingConfig): void {
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) throw new RangeError(`temperature must be ≥ 0, got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new RangeError(`topK must be an integer ≥ 0, got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${s.topP}`);
}

/**
 * Picks an id; `allowed` (1 = allowed) restricts the choice when given. The allowed ids are ranked
 * (logit descending, then id), the first topK kept (topK > 0), the nucleus cut where the ranked
 * probabilities reach topP (topP < 1), and one uniform draw walks the kept ids in ranked order. Only
 * the part of the ranking that can matter is built: top-k by a bounded insertion (k ≤ 256), and the
 * nucleus and the draw from the ids whose weight is at least a threshold t = 2⁻ⁿ (the largest such t
 * whose ids' mass passes what is needed), so a peaked distribution ranks a few ids, not all V. (It
 * used to sort every id with a comparator on every call: 47 µs a token at V = 256, 15.6 ms at
 * V = 32,000.)
 */
export function sampleToken(logits: ArrayLike<number>, s: SamplingConfig, rng: Rng, allowed: Uint8Array | null = null): number {
  const V = logits.length;
  const ok = (i: number): boolean => (allowed === null || allowed[i] === 1) && !Number.isNaN(logits[i]!);
  if (s.temperature === 0) {
    let best = -1, bestV = -Infinity;
    for (let i = 0; i < V; i++) if (ok(i) && (best < 0 || logits[i]! > bestV)) { best = i; bestV = logits[i]!; }
    if (best < 0) throw new Error('sampling: no allowed token');
    return best;
  }
  const limited = s.topK > 0 && s.topK < V;
  let ids: number[];
  if (limited) ids = rankedCandidates(logits, ok, s.topK);
  else {
    ids = [];
    for (let i = 0; i < V; i++) if (ok(i)) ids.push(i);
  }
  if (ids.length === 0) throw new Error('sampling: no allowed token');
  let max = -Infinity;
  for (const i of ids) if (logits[i]! > max) max = logits[i]!;
  const weight = (i: number): number => Math.exp((logits[i]! - max) / s.temperature);
  let total = 0;
  for (const i of ids) total += weight(i);
  let keep = ids.length, sum = total;
  if (s.topP < 1) {
    if (!limited) ids = rankedReaching(ids, logits, weight, s.topP * total);
    let acc = 0;
    sum = 0;
    keep = ids.length;
    for (let j = 0; j < ids.length; j++) {
      const w = weight(ids[j]!);
      acc += w / total;
      sum += w;
      if (acc >= s.topP) { keep = j + 1; break; }
    }
  }
  let u = rng.next() * sum;
  if (!limited && s.topP >= 1) ids = rankedReaching(ids, logits, weight, u);
  keep = Math.min(keep, ids.length);
  for (let j = 0; j < keep; j++) {
    u -= weight(ids[j]!);
    if (u < 0) return ids[j]!;
  }
  return ids[keep - 1]!;
}

/**
 * The first ids of the ranking whose weights pass `need`: the ids whose weight is at least a
 * threshold t, ranked, for the largest t = 2⁻ⁿ (weights are ≤ 1: the largest is exp(0)) whose ids'
 * mass is more than `need`. Every id left out weighs less than every id kept, so they rank after
 * them; ranking more ids than needed changes nothing.
 */
function rankedReaching(ids: number[], logits: ArrayLike<number>, weight: (i: number) => number, need: number): number[] {
  const w = ids.map(weight);
  for (let t = 0.5; t > 1e-30; t *= 0.5) {
    let mass = 0;
    for (let j = 0; j < w.length; j++) if (w[j]! >= t) mass += w[j]!;
    if (mass > need) return rankIds(ids.filter((_, j) => w[j]! >= t), logits);
  }
  return rankIds(ids, logits);
}

/** The allowed ids ranked by logit (descending, ties by id); only the first topK when topK > 0. */
function rankedCandidates(logits: ArrayLike<number>, ok: (i: number) => boolean, topK: number): number[] {
  const V = logits.length;
  if (topK > 0 && topK <= 256) {
    // Bounded insertion: most ids fail the comparison with the k-th best and cost one test.
    const best: number[] = [];
    const before = (a: number, b: number): boolean => logits[a]! > logits[b]! || (logits[a]! === logits[b]! && a < b);
    for (let i = 0; i < V; i++) {
      if (!ok(i) || (best.length === topK && !before(i, best[topK - 1]!))) continue;
      let j = best.length === topK ? topK - 1 : best.length;
      while (j > 0 && before(i, best[j - 1]!)) { best[j] = best[j - 1]!; j--; }
      best[j] = i;
    }
    return best;
  }
  const ids: number[] = [];
  for (let i = 0; i < V; i++) if (ok(i)) ids.push(i);
  const ranked = rankIds(ids, logits);
  return topK > 0 ? ranked.slice(0, topK) : ranked;
}

/** ids ranked by logit (descending, ties by id). */
function rankIds(ids: number[], logits: ArrayLike<number>): number[] {
  return [...ids].sort((a, b) => logits[b]! - logits[a]! || a - b);
}
