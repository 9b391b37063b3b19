// Training crops of whole examples (images, music pieces): a crop ends at a uniformly random event
// in [minCrop + 1, L] of an example of L events and starts at SOS whenever the whole prefix fits in
// the context; rows shorter than the context are right-padded.
import type { Batch } from '../models/perceiver-ar/layout.js';
import type { Rng } from '../tensor/rng.js';
import type { Codec } from './codec.js';

/** A crop's end event, uniform in [max(2, minCrop + 1), L] (L when that range is empty). */
export function cropEnd(rng: Rng, L: number, minCrop: number): number {
  const lo = Math.min(L, Math.max(2, minCrop + 1));
  return lo + rng.int(L - lo + 1);
}

/** Rows cropped from encoded sequences (images, music pieces): row b holds events [max(1, end_b − M), end_b − 1] as inputs and the next events as targets. */
export function cropRows(sequences: readonly Int32Array[], ends: readonly number[], M: number, codec: Codec): Batch {
  const B = sequences.length, P = codec.coordinateDims;
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M), coordinates = new Int32Array(B * M * P);
  sequences.forEach((seq, b) => {
    const end = ends[b]!;
    if (!Number.isInteger(end) || end < 2 || end > seq.length) throw new RangeError(`crop end ${end} must be an event in [2, ${seq.length}]`);
    const start = Math.max(1, end - M);
    for (let e = start; e < end; e++) {
      const j = e - start, r = b * M + j;
      tokens[r] = seq[e - 1]!;
      positions[r] = e;
      targets[r] = seq[e]!;
      coordinates.set(codec.coordinates(e), r * P);
    }
  });
  // Sources without coordinates (music) give none: the model reads the event index alone.
  return P > 0 ? { batchSize: B, length: M, tokens, positions, targets, coordinates, coordinateDims: P } : { batchSize: B, length: M, tokens, positions, targets };
}
