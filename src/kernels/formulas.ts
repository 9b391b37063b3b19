// Formulas shared by every backend, so that all of them compute bit-for-bit the same choices.

/**
 * How rotary frequencies are spaced. 'perceiver' (Perceiver AR): with nb = rotaryDims/2,
 * inv_freq_i = maxWavelength^(−i/(nb−1)) for i = 0…nb−1 (from 1 down to 1/maxWavelength; 1 with a
 * single pair). 'roformer' (RoFormer, GPT-NeoX, the PyTorch port): inv_freq_i = base^(−2i/rotaryDims)
 * with base = maxWavelength (10000 there), so the last pair stops short of 1/base.
 */
export type RotarySpacing = 'perceiver' | 'roformer';

export function rotaryInverseFrequencies(rotaryDims: number, maxWavelength: number, spacing: RotarySpacing = 'perceiver'): Float64Array {
  const nb = rotaryDims >> 1;
  const f = new Float64Array(nb);
  for (let i = 0; i < nb; i++) {
    f[i] = spacing === 'roformer' ? Math.pow(maxWavelength, (-2 * i) / rotaryDims) : nb === 1 ? 1 : Math.pow(maxWavelength, -i / (nb - 1));
  }
  return f;
}

/**
 * erf(x) in float64 to about 1e-13 (worst near |x| = 3): its Taylor series for |x| < 3, the continued fraction of
 * erfc beyond (the reference backend's exact GELU; float64 finite differences need this accuracy).
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let sum = a, term = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
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
