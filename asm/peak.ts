import { fma4, share } from './common';

// The machine's 128-bit multiply-add ceiling: `iters` rounds of 12 vector multiply-adds (8 FLOPs
// each) on 12 independent accumulators. In the relaxed build each is one FMA c = c·m + a (latency
// covered by 12 chains). In the SIMD128 build it is c = c + x·m with x alternating between two
// values, so the multiply is off the dependency chain, as in the matmul micro-kernel. Returns a
// lane sum so the loop cannot be removed.
export function fmaPeak(iters: i32, tid: i32, nth: i32): f32 {
  const m = f32x4.splat(0.999999);
  const a = f32x4.splat(1e-7);
  let x = f32x4.splat(1e-3), y = f32x4.splat(2e-3);
  let c0 = f32x4.splat(1), c1 = f32x4.splat(2), c2 = f32x4.splat(3), c3 = f32x4.splat(4);
  let c4 = f32x4.splat(5), c5 = f32x4.splat(6), c6 = f32x4.splat(7), c7 = f32x4.splat(8);
  let c8 = f32x4.splat(9), c9 = f32x4.splat(10), c10 = f32x4.splat(11), c11 = f32x4.splat(12);
  for (let i = 0; i < iters; i++) {
    if (ASC_FEATURE_RELAXED_SIMD) {
      c0 = fma4(c0, m, a); c1 = fma4(c1, m, a); c2 = fma4(c2, m, a); c3 = fma4(c3, m, a);
      c4 = fma4(c4, m, a); c5 = fma4(c5, m, a); c6 = fma4(c6, m, a); c7 = fma4(c7, m, a);
      c8 = fma4(c8, m, a); c9 = fma4(c9, m, a); c10 = fma4(c10, m, a); c11 = fma4(c11, m, a);
    } else {
      c0 = fma4(x, m, c0); c1 = fma4(x, m, c1); c2 = fma4(x, m, c2); c3 = fma4(x, m, c3);
      c4 = fma4(x, m, c4); c5 = fma4(x, m, c5); c6 = fma4(x, m, c6); c7 = fma4(x, m, c7);
      c8 = fma4(x, m, c8); c9 = fma4(x, m, c9); c10 = fma4(x, m, c10); c11 = fma4(x, m, c11);
      const t = x; x = y; y = t;
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(x, 0) + <f32>tid * 0 + <f32>nth * 0;
}

// The machine's memory read bandwidth as the kernels see it: thread tid reads its share of
// [p, p + bytes) front to back, 64 bytes per step into four independent vector accumulators
// (xor: one cheap instruction per load, so the loop waits on memory, not on arithmetic). The
// result is stored at out + 16·tid so the reads cannot be removed. bytes: a multiple of 64.
export function streamRead(p: usize, bytes: i32, out: usize, tid: i32, nth: i32): void {
  const lines = bytes >> 6;
  const l0 = share(lines, tid, nth, 1), l1 = share(lines, tid + 1, nth, 1);
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  let q = p + (<usize>l0 << 6);
  const end = p + (<usize>l1 << 6);
  while (q < end) {
    a0 = v128.xor(a0, v128.load(q));
    a1 = v128.xor(a1, v128.load(q, 16));
    a2 = v128.xor(a2, v128.load(q, 32));
    a3 = v128.xor(a3, v128.load(q, 48));
    q += 64;
  }
  v128.store(out + (<usize>tid << 4), v128.xor(v128.xor(a0, a1), v128.xor(a2, a3)));
}
