// Image datasets as training data (spec images §3): each example is one image's sequence
// [SOS, subpixels…]; a training crop ends at a uniformly random event in [minCrop + 1, L] (L the
// image's events) and starts at SOS whenever the whole prefix fits in the context, so the N latents
// train N consecutive subpixel predictions with the full image prefix. Short crops are right-padded.
import { Rng } from '../tensor/rng.js';
import type { Codec } from './codec.js';
import { describeShape, encodeImage, imageCodec, imageEvents, type Image, type ImageShape } from './images.js';
import { cropEnd, cropRows } from './crops.js';
import type { DataSource } from './source.js';

const VALIDATION_SEED = 0x1a6e;

/** Training crops from `train`; validation from a fixed, seeded set of crops of `test` images. */
export function imageSource(train: readonly Image[], test: readonly Image[], shape: ImageShape, description: string):
  DataSource & { readonly codec: Codec; readonly testImages: readonly Image[] } {
  if (train.length === 0) throw new RangeError(`${description}: no training images`);
  const codec = imageCodec(shape), L = imageEvents(shape);
  const encTrain = train.map(encodeImage), encTest = test.map(encodeImage);
  const endIn = (rng: Rng, minCrop: number): number => cropEnd(rng, L, minCrop);
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
