// Where batches come from: the mirrored generator, or a token stream split into training and
// validation parts. File reading is done by the caller (platform code) and handed in as ids.
import type { Batch } from '../models/perceiver-ar/layout.js';
import { Rng } from '../tensor/rng.js';
import { mirroredBatch, streamCropBatch } from './batches.js';
import { mirroredHalfLength, mirroredScoredInputs } from './mirrored.js';

export interface DataSource {
  readonly description: string;
  trainBatch(rng: Rng, batchSize: number, contextLength: number, minCrop: number): Batch;
  /** The same batches every call (validation). */
  validationBatches(batchSize: number, contextLength: number, count: number): Batch[];
  /** Copy tasks: the input indices whose predictions count for greedy accuracy; null otherwise. */
  scoredInputs(contextLength: number): ((j: number) => boolean) | null;
  /**
   * The largest value an absolute table must hold for batches of this context length: the event
   * index for sequences, the largest coordinate for data with coordinates.
   */
  maxPosition(contextLength: number): number;
  /** Coordinates per event in its batches (0: the event index alone). */
  readonly coordinateDims: number;
  /** The shortest context that holds a whole example (images: the image's events − 1), if the data needs one. */
  readonly minContextLength?: number;
  /** False when there is nothing to validate on (a stream split with validationFraction 0). */
  readonly hasValidation: boolean;
}

const VALIDATION_SEED = 0x5eed;

export function mirroredSource(alphabet: number, positionOffset = 0): DataSource {
  return {
    description: `mirrored copy task (alphabet ${alphabet}${positionOffset ? `, positions offset by ${positionOffset}` : ''})`,
    trainBatch: (rng, B, M) => mirroredBatch(rng, B, M, alphabet, positionOffset),
    validationBatches: (B, M, count) => {
      // Fixed seed, disjoint from training draws in practice (256^K possible sequences).
      const rng = new Rng(VALIDATION_SEED);
      return Array.from({ length: count }, () => mirroredBatch(rng, B, M, alphabet, positionOffset));
    },
    scoredInputs: (M) => {
      const { start, end } = mirroredScoredInputs(mirroredHalfLength(M));
      return (j) => j >= start && j < end;
    },
    maxPosition: (M) => positionOffset + M,
    coordinateDims: 0,
    hasValidation: true,
  };
}

/**
 * A document of ids ([SOS, …, EOS]) split at (1 − validationFraction) into train and validation
 * streams; validationFraction 0 trains on everything and has no validation data. Crops carry their
 * positions in their part of the document (1-based), so absolute position tables must hold the
 * longer part's length.
 */
export function streamSource(ids: Int32Array, validationFraction: number, description: string): DataSource {
  const cut = Math.floor(ids.length * (1 - validationFraction));
  const train = ids.subarray(0, cut), valid = validationFraction > 0 ? ids.subarray(cut) : ids.subarray(0, 0);
  if (train.length < 2) throw new RangeError(`${description}: the training part has ${train.length} tokens; it needs at least 2`);
  if (validationFraction > 0 && valid.length < 2) {
    throw new RangeError(`${description}: the validation part (the last ${validationFraction} of ${ids.length} tokens) holds ${valid.length} ` +
      `token${valid.length === 1 ? '' : 's'}; it needs at least 2. Use a longer file, raise validationFraction, or set validationFraction=0 to train without validation`);
  }
  return {
    maxPosition: () => Math.max(train.length, valid.length) - 1,
    coordinateDims: 0,
    hasValidation: valid.length >= 2,
    description: `${description}: ${train.length} training and ${valid.length} validation tokens`,
    trainBatch: (rng, B, M, minCrop) => streamCropBatch(rng, train, B, M, minCrop),
    validationBatches: (B, M, count) => {
      if (valid.length < 2) throw new RangeError(`${description}: no validation data (validationFraction is 0)`);
      const rng = new Rng(VALIDATION_SEED);
      return Array.from({ length: count }, () => streamCropBatch(rng, valid, B, M, Math.min(M, valid.length - 1)));
    },
    scoredInputs: () => null,
  };
}
