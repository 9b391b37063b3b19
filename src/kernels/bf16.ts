// bfloat16 weights for decoding: rounding, and the packed layout the few-row bf16 product reads.
//
// bf16 is the upper half of a float32 (8 exponent bits, 7 mantissa bits): widening is a 16-bit
// shift, and a float32 weight rounded to bf16 keeps its range. Decoding at batch 1 reads every
// weight once per token, so its speed is bound by memory bandwidth; half the bytes per weight is
// (up to) twice the tokens per second. Arithmetic stays float32.
//
// Packed layout of a weight W stored [k, n] (inputs × outputs, as linear layers keep it): outputs
// are taken in panels of BF16_PANEL = 3 (the last holds n mod 3 when that is not 0), and a panel's
// weights are one contiguous run of memory, read front to back — one stream the hardware
// prefetchers follow. Within the panel of outputs p0.. (it starts at p0·k), full blocks of 8 along
// k come first: block b holds each output's 8 values in turn, each as [w0, w4, w1, w5, w2, w6, w3,
// w7] (k = 8b+0..3 in the even 16-bit slots, 8b+4..7 in the odd ones, so a 128-bit load is two
// float32 vectors at the cost of one shift and one mask); then each output's last k mod 8 values,
// in order.
import type { F32, U16 } from './types.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bf16 bits of float32 bits u: rounded to nearest, ties to even; NaN stays NaN (quiet), ±Inf stays ±Inf. */
function roundBits(u: number): number {
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) return ((u >>> 16) | 0x0040) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The bf16 bits of x, rounded to nearest, ties to even; NaN stays NaN (quiet), ±Inf stays ±Inf. */
export function bf16Bits(x: number): number {
  f32[0] = x;
  return roundBits(u32[0]!);
}

/** The float32 value of bf16 bits. */
export function bf16Value(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** Rounds every value of x to the nearest bf16 (in place): what a bf16 weight holds, as float32. */
export function roundToBf16(x: F32): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < bits.length; i++) bits[i] = roundBits(bits[i]!) << 16;
}

/** Outputs per panel of the packed layout (asm/half.ts reads panels of this width). */
export const BF16_PANEL = 3;

/** Index in the packed array of weight W[kk, j], W stored [k, n]. */
export function packedIndex(k: number, n: number, kk: number, j: number): number {
  const p0 = j - (j % BF16_PANEL), width = Math.min(BF16_PANEL, n - p0), r = j - p0, k8 = k & ~7;
  if (kk >= k8) return p0 * k + k8 * width + r * (k - k8) + (kk - k8);
  const s = kk & 7;
  return p0 * k + (kk - s) * width + r * 8 + (s < 4 ? 2 * s : 2 * (s - 4) + 1);
}

/** Packs W [k, n] (row-major float32) into `out` [n·k] bf16 in the layout above. */
export function packBf16Weights(w: F32, k: number, n: number, out: U16): void {
  if (w.length < k * n) throw new RangeError(`packBf16Weights: W has ${w.length} values, needs k·n = ${k * n}`);
  if (out.length < k * n) throw new RangeError(`packBf16Weights: out has ${out.length} slots, needs k·n = ${k * n}`);
  // packedIndex, unrolled: W is read row after row (kk), each row scattered across the panels.
  const bits = new Uint32Array(w.buffer, w.byteOffset, k * n), k8 = k & ~7, t = k - k8;
  for (let kk = 0; kk < k; kk++) {
    const row = kk * n;
    const s = kk & 7, inBlock = kk < k8;
    const slot = s < 4 ? 2 * s : 2 * (s - 4) + 1, block = kk - s, i = kk - k8;
    for (let p0 = 0; p0 < n; p0 += BF16_PANEL) {
      const width = Math.min(BF16_PANEL, n - p0);
      const at = inBlock ? p0 * k + block * width + slot : p0 * k + k8 * width + i, stride = inBlock ? 8 : t;
      for (let r = 0; r < width; r++) out[at + r * stride] = roundBits(bits[row + p0 + r]!);
    }
  }
}
