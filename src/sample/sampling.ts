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

// Work arrays kept between calls (a token's sampling allocated four of V entries: ~40% of its time at
// V = 256). Sampling is synchronous and never re-entered, so one set serves every call.
let idScratch = new Int32Array(0), keyScratch = new Float64Array(0), weightScratch = new Float64Array(0), positionScratch = new Int32Array(0);
function reserveScratch(V: number): void {
  if (idScratch.length >= V) return;
  idScratch = new Int32Array(V);
  keyScratch = new Float64Array(V);
  weightScratch = new Float64Array(V);
  positionScratch = new Int32Array(V);
}

/**
 * Picks an id; `allowed` (1 = allowed) restricts the choice when given. The allowed ids are ranked
 * (logit descending, then id), the first topK kept (topK > 0), the nucleus cut where the ranked
 * probabilities reach topP (topP < 1), and one uniform draw walks the kept ids in ranked order.
 * The ranking is not built where it need not be: top-k keeps the k best by a bounded insertion
 * (k ≤ 256) or a quickselect of the k-th logit; without top-k, the nucleus cut and the draw find
 * the id where the ranked cumulative weight passes a target by a three-way selection on the logits
 * (expected O(V)). It used to sort every id with a comparator on every call: 44 µs a token at
 * V = 256, 19 ms at V = 32,000 (docs/benchmarks.md). The picks are the same as that full ranking's
 * up to rounding in the last bits of the sums compared (tested against it); an infinite largest
 * logit takes the full ranking.
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
  let ids: ArrayLike<number>;
  if (limited) ids = rankedCandidates(logits, ok, s.topK);
  else {
    // (Pushing onto an array measured ~80 ns an id here, a typed array ~1.)
    reserveScratch(V);
    const all = idScratch;
    let n = 0;
    for (let i = 0; i < V; i++) if (ok(i)) all[n++] = i;
    ids = all.subarray(0, n);
  }
  if (ids.length === 0) throw new Error('sampling: no allowed token');
  let max = -Infinity;
  for (let j = 0; j < ids.length; j++) if (logits[ids[j]!]! > max) max = logits[ids[j]!]!;
  const weight = (i: number): number => Math.exp((logits[i]! - max) / s.temperature);
  // An infinite largest logit (+∞, or every allowed one −∞) makes the weights NaN: ranked as
  // before rather than selected (a selection needs ordered weights).
  if (!limited && !Number.isFinite(max)) ids = rankIds(Array.from(ids), logits);
  else if (!limited) {
    // The ranking key is the logit itself (two logits may round to one weight), the mass the weight.
    const key = keyScratch.subarray(0, ids.length), w = weightScratch.subarray(0, ids.length); // (Float64Array.from with a map function is ~10× slower)
    for (let j = 0; j < ids.length; j++) { key[j] = logits[ids[j]!]!; w[j] = weight(ids[j]!); }
    return selectedDraw(ids, key, w, s.topP, rng);
  }
  const w = Array.from(ids, weight);
  const total = w.reduce((a, b) => a + b, 0);
  let keep = ids.length;
  if (s.topP < 1) {
    let acc = 0;
    for (let j = 0; j < ids.length; j++) {
      acc += w[j]! / total;
      if (acc >= s.topP) { keep = j + 1; break; }
    }
  }
  let u = rng.next() * w.slice(0, keep).reduce((a, b) => a + b, 0);
  for (let j = 0; j < keep; j++) {
    u -= w[j]!;
    if (u < 0) return ids[j]!;
  }
  return ids[keep - 1]!;
}

/**
 * The nucleus (topP < 1) and the draw over unranked ids (ascending): key[j] ranks ids[j] (its
 * logit: higher first, ties by id), w[j] is its weight.
 */
function selectedDraw(ids: ArrayLike<number>, key: Float64Array, w: Float64Array, topP: number, rng: Rng): number {
  let kept: ArrayLike<number> = ids, kk = key, kw = w;
  if (topP < 1) {
    let total = 0;
    for (let j = 0; j < w.length; j++) total += w[j]!;
    const cut = firstPassing(key, w, topP * total, true), kc = key[cut]!, idc = ids[cut]!;
    // Ranked up to the cut: higher keys, and equal keys with a smaller id.
    const k = new Int32Array(ids.length), kkNew = new Float64Array(ids.length), kwNew = new Float64Array(ids.length);
    let n = 0;
    for (let j = 0; j < ids.length; j++) {
      if (key[j]! > kc || (key[j] === kc && ids[j]! <= idc)) { k[n] = ids[j]!; kkNew[n] = key[j]!; kwNew[n++] = w[j]!; }
    }
    kept = k.subarray(0, n);
    kk = kkNew.subarray(0, n);
    kw = kwNew.subarray(0, n);
  }
  let sum = 0;
  for (let j = 0; j < kw.length; j++) sum += kw[j]!;
  return kept[firstPassing(kk, kw, rng.next() * sum, false)]!;
}

/**
 * The position j (entries listed in ascending id order) of the first entry of the ranking (key
 * descending, then position) at which the cumulative weight w passes `need` (reaches it when
 * `reach`); the last-ranked position when none does (rounding). An in-place three-way partition
 * around a median-of-three pivot keeps only the part where the crossing lies: expected O(n), no
 * allocation (the positions' array is kept between calls).
 */
function firstPassing(key: Float64Array, w: Float64Array, need: number, reach: boolean): number {
  const n = key.length, pos = positionScratch.length >= n ? positionScratch.subarray(0, n) : new Int32Array(n);
  for (let j = 0; j < n; j++) pos[j] = j;
  let lo = 0, hi = n, before = 0, last = n - 1;
  while (lo < hi) {
    const a = key[pos[lo]!]!, b = key[pos[(lo + hi) >> 1]!]!, c = key[pos[hi - 1]!]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    // pos[lo, hi) → higher [lo, lt) | equal [lt, gt) | lower [gt, hi).
    let lt = lo, i = lo, gt = hi, heavy = 0;
    while (i < gt) {
      const j = pos[i]!, x = key[j]!;
      if (x > pivot) { pos[i] = pos[lt]!; pos[lt] = j; lt++; i++; heavy += w[j]!; } else if (x < pivot) { gt--; pos[i] = pos[gt]!; pos[gt] = j; } else i++;
    }
    if (lt > lo && (reach ? before + heavy >= need : before + heavy > need)) { hi = lt; continue; }
    const equal = pos.subarray(lt, gt).sort(); // ties rank by id
    let acc = before + heavy;
    for (let e = 0; e < equal.length; e++) {
      acc += w[equal[e]!]!;
      if (reach ? acc >= need : acc > need) return equal[e]!;
    }
    before = acc;
    last = equal[equal.length - 1]!;
    lo = gt;
  }
  return last;
}

/** The allowed ids ranked by logit (descending, ties by id), the first topK of them (topK > 0). */
function rankedCandidates(logits: ArrayLike<number>, ok: (i: number) => boolean, topK: number): number[] {
  const V = logits.length;
  if (topK <= 256) {
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
  // The k-th largest logit by quickselect, then only the ids above it (and the first ties) ranked.
  const values = new Float64Array(V);
  let n = 0;
  for (let i = 0; i < V; i++) if (ok(i)) values[n++] = logits[i]!;
  if (n <= topK) {
    const all: number[] = [];
    for (let i = 0; i < V; i++) if (ok(i)) all.push(i);
    return rankIds(all, logits);
  }
  const kth = kthLargest(values.subarray(0, n), topK);
  const above: number[] = [], ties: number[] = [];
  for (let i = 0; i < V; i++) {
    if (!ok(i)) continue;
    if (logits[i]! > kth) above.push(i);
    else if (logits[i] === kth && ties.length < topK) ties.push(i);
  }
  return rankIds(above.concat(ties.slice(0, topK - above.length)), logits);
}

/** The k-th largest of xs (1-based; xs is reordered): Hoare's quickselect with a middle pivot. */
function kthLargest(xs: Float64Array, k: number): number {
  let lo = 0, hi = xs.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = xs[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (xs[i]! > pivot) i++;
      while (xs[j]! < pivot) j--;
      if (i <= j) { const t = xs[i]!; xs[i] = xs[j]!; xs[j] = t; i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return xs[target]!;
}

/** ids ranked by logit (descending, ties by id). */
function rankIds(ids: number[], logits: ArrayLike<number>): number[] {
  return [...ids].sort((a, b) => logits[b]! - logits[a]! || a - b);
}
