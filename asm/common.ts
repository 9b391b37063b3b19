// Shared helpers for the kernels. All pointers are byte addresses into the one shared memory;
// every exported kernel takes (tid, nth) last and processes its own slice of the work.

// a*b + c: a fused multiply-add in the relaxed-SIMD build, mul then add otherwise.
@inline export function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// Start of thread tid's share of n items, with shares rounded to multiples of `align`.
@inline export function share(n: i32, tid: i32, nth: i32, align: i32): i32 {
  const chunks = (n + align - 1) / align;
  const s = <i32>((<i64>chunks * tid) / nth) * align;
  return s < n ? s : n;
}

// Vector exp(x), relative error ~2e-7 on [-87, 88]; exact 0 below -87.3 (no denormals), NaN in ->
// NaN out, +inf above 88.7. n = round(x·log2 e) comes from adding 1.5·2^23 (the float's low bits
// are then n, and shifting them gives 2^n), e^r from a degree-6 polynomial on [-ln2/2, ln2/2]
// evaluated with multiply-adds; pmin/pmax are single instructions where min/max are not (their
// NaN and ±0 rules need a sequence), and NaN still passes through them as x.
@inline export function exp4(x: v128): v128 {
  const lo = f32x4.splat(-87.3);
  const magic = f32x4.splat(12582912.0);
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.7)), lo);
  const t = fma4(xc, f32x4.splat(1.4426950408889634), magic);
  const n = f32x4.sub(t, magic);
  let r = fma4(n, f32x4.splat(-0.693145751953125), xc);
  r = fma4(n, f32x4.splat(-1.428606765330187e-6), r);
  let p = fma4(f32x4.splat(1.3888889e-3), r, f32x4.splat(8.3333333e-3));
  p = fma4(p, r, f32x4.splat(4.1666667e-2));
  p = fma4(p, r, f32x4.splat(1.6666667e-1));
  p = fma4(p, r, f32x4.splat(0.5));
  p = fma4(p, r, f32x4.splat(1.0));
  p = fma4(p, r, f32x4.splat(1.0));
  // 2^n; n = 128 (x ≥ 88.4) gives the exponent field 255, so +inf.
  const pow2 = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, pow2), f32x4.lt(x, lo));
}

@inline export function hsum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// Counter-based 32-bit hash (lowbias32 finaliser) used by dropout: the keep decision of element i
// depends only on (seed, i), so it is the same for any thread count and is regenerated in backward.
@inline export function hash32(seed: u32, i: u32): u32 {
  let x = i * 0x9e3779b9 + seed;
  x ^= x >>> 16;
  x *= 0x21f0aaad;
  x ^= x >>> 15;
  x *= 0x735a2d97;
  x ^= x >>> 15;
  return x;
}

// Every thread owns SCRATCH_BYTES of workspace at scratchBase + tid*SCRATCH_BYTES, reserved by the
// loader; kernels that need temporary tiles (matmul packing, attention blocks) use only their own.
export const SCRATCH_BYTES: usize = 1 << 20;
