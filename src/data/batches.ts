// Turning data into batches (spec §2): whole short sequences (the copy task), and random crops of
// M + 1 events from a long token stream.
import type { Batch } from '../models/perceiver-ar/layout.js';
import { Rng } from '../tensor/rng.js';
import { mirroredHalfLength, mirroredSequence } from './mirrored.js';

/**
 * Rows from sequences (each [SOS … EOS], ≤ M + 1 long): inputs = seq[:-1], targets = seq[1:],
 * right-padded. Input j sits at position 1 + positionOffset + j.
 */
export function batchFromSequences(sequences: readonly Int32Array[], M: number, positionOffset = 0): Batch {
  const B = sequences.length;
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  sequences.forEach((seq, b) => {
    const n = Math.min(seq.length - 1, M);
    if (n < 1) throw new RangeError(`sequence ${b} needs at least 2 tokens`);
    for (let j = 0; j < n; j++) {
      tokens[b * M + j] = seq[j]!;
      positions[b * M + j] = positionOffset + j + 1;
      targets[b * M + j] = seq[j + 1]!;
    }
  });
  return { batchSize: B, length: M, tokens, positions, targets };
}

/**
 * Copy-task rows. A positionOffset places the window inside a longer one: with offset (M' − M)/2 a
 * mirrored pair sits at positions summing to M' + 1, exactly as in a full M'-token sequence, so the
 * position-to-position map a model learns at M is the one it needs at M' (length curricula).
 */
export function mirroredBatch(rng: Rng, batchSize: number, contextLength: number, alphabet = 256, positionOffset = 0): Batch {
  const half = mirroredHalfLength(contextLength);
  return batchFromSequences(Array.from({ length: batchSize }, () => mirroredSequence(rng, half, alphabet)), contextLength, positionOffset);
}

/**
 * Random crops from one long document (ids, already [SOS, …, EOS]): each row is a window of up to
 * M + 1 events starting uniformly in [0, length − minCrop], so every crop has ≥ minCrop events
 * (spec §2: early tokens are not over-trained). Positions are absolute within the document
 * (1-based), which rotary encodings and cached decoding rely on. Short crops are right-padded.
 */
export function streamCropBatch(rng: Rng, stream: Int32Array, batchSize: number, M: number, minCrop: number): Batch {
  if (stream.length < 2) throw new RangeError('the token stream needs at least 2 tokens');
  const min = Math.max(2, Math.min(minCrop + 1, stream.length));
  const tokens = new Int32Array(batchSize * M), positions = new Int32Array(batchSize * M), targets = new Int32Array(batchSize * M);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(stream.length - min + 1);
    const n = Math.min(M, stream.length - start - 1);
    for (let j = 0; j < n; j++) {
      tokens[b * M + j] = stream[start + j]!;
      positions[b * M + j] = start + j + 1;
      targets[b * M + j] = stream[start + j + 1]!;
    }
  }
  return { batchSize, length: M, tokens, positions, targets };
}
