// Image classification batches for the sequence classifiers (AdaTape on images, spec adatape §2):
// 8-bit images become pixels scaled to [−1, 1] in [B, H, W, ch] order; training batches are drawn
// with replacement from the training images, the test set is fixed, in file order.
import type { ClassifierBatch } from '../models/adatape/model.js';
import type { Rng } from '../tensor/rng.js';
import type { Image } from './images.js';

export interface LabelledImages {
  readonly images: readonly Image[];
  readonly labels: Int32Array;
}

/** The batch of the given examples (indices into set). */
export function imageClassBatch(set: LabelledImages, indices: readonly number[]): ClassifierBatch {
  if (indices.length === 0) throw new RangeError('imageClassBatch: no examples');
  const n = set.images[0]!.pixels.length, pixels = new Float32Array(indices.length * n), labels = new Int32Array(indices.length);
  indices.forEach((i, b) => {
    const img = set.images[i];
    if (!img) throw new RangeError(`imageClassBatch: example ${i} is outside the ${set.images.length} images`);
    if (img.pixels.length !== n) throw new RangeError(`imageClassBatch: image ${i} has ${img.pixels.length} subpixels, the first ${n}`);
    for (let j = 0; j < n; j++) pixels[b * n + j] = img.pixels[j]! / 127.5 - 1;
    labels[b] = set.labels[i]!;
  });
  return { batchSize: indices.length, values: new Int32Array(0), pixels, labels };
}

/** batchSize training examples drawn uniformly with replacement. */
export function randomImageClassBatch(set: LabelledImages, rng: Rng, batchSize: number): ClassifierBatch {
  return imageClassBatch(set, Array.from({ length: batchSize }, () => rng.int(set.images.length)));
}

/** The first `limit` examples (all when limit is 0) in batches of batchSize (the last may be smaller). */
export function imageClassTestSet(set: LabelledImages, batchSize: number, limit = 0): ClassifierBatch[] {
  const n = limit > 0 ? Math.min(limit, set.images.length) : set.images.length, out: ClassifierBatch[] = [];
  for (let i = 0; i < n; i += batchSize) out.push(imageClassBatch(set, Array.from({ length: Math.min(batchSize, n - i) }, (_, j) => i + j)));
  return out;
}

/**
 * How often each bank token was read over examples: counts [Mb], one per (example, tape step,
 * candidate merged) with a non-zero weight. chosen [B, T, K] (−1 none), weights alike, length [B].
 */
export function addBankReads(counts: Float64Array, trace: { chosen: Int32Array; weights: Float64Array; length: Int32Array; B: number }, T: number, K: number): void {
  for (let b = 0; b < trace.B; b++) {
    for (let t = 0; t < trace.length[b]!; t++) {
      for (let j = 0; j < K; j++) {
        const i = (b * T + t) * K + j, m = trace.chosen[i]!;
        if (m >= 0 && trace.weights[i]! > 0) counts[m] = counts[m]! + 1;
      }
    }
  }
}
