// 16-bit floats read as float32, exactly: IEEE half precision (float16) and bfloat16 (the top half
// of a float32), as PyTorch and safetensors files store them.

/** An IEEE half-precision value's bits as a number (exact: subnormals, ±0, infinities, NaN). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
/** A bfloat16 value's bits as a number (its float32 with the low 16 bits zero). */
export function bf16ToFloat(b: number): number {
  bits[0] = (b & 0xffff) << 16;
  return asFloat[0]!;
}

/** `count` little-endian 16-bit values from `bytes` (any alignment) widened to float32. */
export function widen16(bytes: Uint8Array, count: number, format: 'F16' | 'BF16'): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out = new Float32Array(count);
  const f = format === 'F16' ? halfToFloat : bf16ToFloat;
  for (let i = 0; i < count; i++) out[i] = f(view.getUint16(2 * i, true));
  return out;
}
