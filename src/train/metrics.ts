// Greedy (argmax) accuracy of the latents' predictions, restricted to chosen input indices.
import type { LatentLayout } from '../models/perceiver-ar/layout.js';
import { IGNORE } from '../models/perceiver-ar/layout.js';

/**
 * Counts latents whose argmax logit equals their target, over latents sitting on input indices
 * j (within their row) with scored(j) true. logits: [B·N, V].
 */
export function greedyHits(logits: Float32Array, vocab: number, layout: LatentLayout, scored: (j: number) => boolean): { correct: number; total: number } {
  let correct = 0, total = 0;
  for (let r = 0; r < layout.B * layout.N; r++) {
    const g = layout.latentIndex[r]!, t = layout.latentTargets[r]!;
    if (g < 0 || t === IGNORE || !scored(g % layout.M)) continue;
    let best = 0, bestV = -Infinity;
    for (let v = 0; v < vocab; v++) {
      const x = logits[r * vocab + v]!;
      if (x > bestV) { bestV = x; best = v; }
    }
    total++;
    if (best === t) correct++;
  }
  return { correct, total };
}
