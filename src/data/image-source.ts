// Image datasets as training data (spec images §3): each example is one image's sequence
// [SOS, subpixels…]; a training crop ends at a uniformly random event in [minCrop + 1, L] (L the
// image's events) and starts at SOS whenever the whole prefix fits in the context, so the N latents
// train N consecutive subpixel predictions with the full image prefix. Short crops are right-padded.
import type { Batch } from '../models/perceiver-ar/layout.js';
import { Rng } from '../tensor/rng.js';
import type { Codec } from './codec.js';
import { describeShape, encodeImage, imageCodec, imageEvents, type Image, type ImageShape } from './images.js';
import type { DataSource } from './source.js';

const VALIDATION_SEED = 0x1a6e;

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

/** Training crops from `train`; validation from a fixed, seeded set of crops of `test` images. */
export function imageSource(train: readonly Image[], test: readonly Image[], shape: ImageShape, description: string):
  DataSource & { readonly codec: Codec; readonly testImages: readonly Image[] } {
  if (train.length === 0) throw new RangeError(`${description}: no training images`);
  const codec = imageCodec(shape), L = imageEvents(shape);
  const encTrain = train.map(encodeImage), encTest = test.map(encodeImage);
  const endIn = (rng: Rng, minCrop: number): number => {
    const lo = Math.min(L, Math.max(2, minCrop + 1));
    return lo + rng.int(L - lo + 1);
  };
  return {
    codec, testImages: test,
    description: `${description}: ${train.length} training and ${test.length} test images, ${describeShape(shape)} (${L} events each)`,
    trainBatch: (rng, B, M, minCrop) => {
      const picks = Array.from({ length: B }, () => encTrain[rng.int(encTrain.length)]!);
      return cropRows(picks, picks.map(() => endIn(rng, minCrop)), M, codec);
    },
    validationBatches: (B, M, count) => {
      if (encTest.length === 0) throw new RangeError(`${description}: no test images to validate on`);
      const rng = new Rng(VALIDATION_SEED);
      return Array.from({ length: count }, (_, c) => {
        const picks = Array.from({ length: B }, (__, b) => encTest[(c * B + b) % encTest.length]!);
        return cropRows(picks, picks.map(() => endIn(rng, 1)), M, codec);
      });
    },
    scoredInputs: () => null,
    maxPosition: () => codec.maxCoordinate,
    coordinateDims: 3,
    minContextLength: L - 1,
    hasValidation: encTest.length > 0,
  };
}
