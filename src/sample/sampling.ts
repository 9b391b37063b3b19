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

/** Picks an id; `allowed` (1 = allowed) restricts the choice when given. */
export function sampleToken(logits: ArrayLike<number>, s: SamplingConfig, rng: Rng, allowed: Uint8Array | null = null): number {
  const V = logits.length;
  const ok = (i: number): boolean => (allowed === null || allowed[i] === 1) && !Number.isNaN(logits[i]!);
  if (s.temperature === 0) {
    let best = -1, bestV = -Infinity;
    for (let i = 0; i < V; i++) if (ok(i) && (best < 0 || logits[i]! > bestV)) { best = i; bestV = logits[i]!; }
    if (best < 0) throw new Error('sampling: no allowed token');
    return best;
  }
  let ids = Array.from({ length: V }, (_, i) => i).filter(ok);
  if (ids.length === 0) throw new Error('sampling: no allowed token');
  ids.sort((a, b) => logits[b]! - logits[a]!);
  if (s.topK > 0) ids = ids.slice(0, s.topK);
  const max = logits[ids[0]!]!;
  const w = ids.map((i) => Math.exp((logits[i]! - max) / s.temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let keep = ids.length;
  if (s.topP < 1) {
    let acc = 0;
    for (let j = 0; j < ids.length; j++) {
      acc += w[j]! / total;
      if (acc >= s.topP) { keep = j + 1; break; }
    }
  }
  const kept = w.slice(0, keep), sum = kept.reduce((a, b) => a + b, 0);
  let u = rng.next() * sum;
  for (let j = 0; j < keep; j++) {
    u -= kept[j]!;
    if (u < 0) return ids[j]!;
  }
  return ids[keep - 1]!;
}
