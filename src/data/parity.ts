// The parity task (spec adatape §6): elements i.i.d. uniform over {−1, 0, +1}; the label is the
// count of +1 elements mod 2. Symbol ids: 0 = −1, 1 = 0, 2 = +1.
import type { ClassifierBatch } from '../models/adatape/model.js';
import { Rng } from '../tensor/rng.js';

export const PARITY_SYMBOLS = 3;
export const PARITY_PLUS_ONE = 2;

export function parityBatch(rng: Rng, batchSize: number, length: number): ClassifierBatch {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be an integer ≥ 1, got ${length}`);
  const values = new Int32Array(batchSize * length), labels = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    let ones = 0;
    for (let i = 0; i < length; i++) {
      const v = rng.int(PARITY_SYMBOLS);
      values[b * length + i] = v;
      if (v === PARITY_PLUS_ONE) ones++;
    }
    labels[b] = ones % 2;
  }
  return { batchSize, values, labels };
}
