// Formulas shared by every backend, so that all of them compute bit-for-bit the same choices.

/**
 * Perceiver AR rotary frequencies: with nb = rotaryDims/2, inv_freq_i = maxWavelength^(−i/(nb−1))
 * for i = 0…nb−1 (from 1 down to 1/maxWavelength). With a single pair (nb = 1) it is 1.
 */
export function rotaryInverseFrequencies(rotaryDims: number, maxWavelength: number): Float64Array {
  const nb = rotaryDims >> 1;
  const f = new Float64Array(nb);
  for (let i = 0; i < nb; i++) f[i] = nb === 1 ? 1 : Math.pow(maxWavelength, -i / (nb - 1));
  return f;
}

/** Dropout's keep decision hash (lowbias32 over seed and element index); identical in the wasm kernel. */
export function dropoutHash(seed: number, index: number): number {
  let x = (Math.imul(index >>> 0, 0x9e3779b9) + (seed >>> 0)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97) >>> 0;
  x ^= x >>> 15;
  return x >>> 0;
}

export function dropoutThreshold(p: number): number {
  return Math.min(4294967295, Math.floor(p * 4294967296));
}

/** Rotated dims per head for a rotary fraction: floor_even(headDim × fraction), as in Perceiver AR. */
export function rotaryDimsFor(headDim: number, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`rotary fraction must be in [0, 1], got ${fraction}`);
  return 2 * Math.floor((headDim * fraction) / 2);
}
