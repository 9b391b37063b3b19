// The mirrored copy task (spec §9): [SOS, r1 … rK, rK … r1, EOS] with K random bytes. The second
// half is predictable only by attending K…2K positions back.
import { Rng } from '../tensor/rng.js';
import { BYTE_OFFSET, EOS, SOS } from './vocab.js';

/** K for a context of M inputs: the inputs [SOS, r1 … rK, rK … r1] (2K + 1 tokens) fit in M. */
export function mirroredHalfLength(contextLength: number): number {
  const k = Math.floor((contextLength - 1) / 2);
  if (k < 1) throw new RangeError(`the mirrored task needs a context of at least 3 tokens, got ${contextLength}`);
  return k;
}

/** One full sequence of 2K + 2 ids; bytes drawn from [0, alphabet). */
export function mirroredSequence(rng: Rng, half: number, alphabet = 256): Int32Array {
  const seq = new Int32Array(2 * half + 2);
  seq[0] = SOS;
  for (let i = 0; i < half; i++) {
    const id = BYTE_OFFSET + rng.int(alphabet);
    seq[1 + i] = id;
    seq[2 * half - i] = id;
  }
  seq[2 * half + 1] = EOS;
  return seq;
}

/**
 * Input indices whose targets are mirrored tokens: input j predicts seq[j + 1]; the mirrored
 * half is seq[K + 1 … 2K], so the scored inputs are j = K … 2K − 1.
 */
export function mirroredScoredInputs(half: number): { readonly start: number; readonly end: number } {
  return { start: half, end: 2 * half };
}
