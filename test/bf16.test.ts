import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bf16Bits, bf16Value, packBf16Weights, packedIndex, referenceKernels as ref, roundToBf16 } from '../src/node.js';
import type { Bf16MatmulDims, Engine } from '../src/node.js';
import { assertClose } from './helpers/compare.js';
import { label, randomPair, Rng, wasmEngines } from './helpers/engines.js';

const engines = await wasmEngines();

describe('bf16 rounding', () => {
  it('rounds to nearest, ties to even; keeps ±0, ±Inf and NaN; overflows to Inf like a float', () => {
    assert.equal(bf16Value(bf16Bits(1)), 1);
    assert.equal(bf16Value(bf16Bits(-2.5)), -2.5);
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    assert.equal(bf16Value(bf16Bits(1 + 2 ** -8)), 1);
    // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
    assert.equal(bf16Value(bf16Bits(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
    assert.equal(bf16Value(bf16Bits(1 + 2 ** -8 + 2 ** -20)), 1 + 2 ** -7, 'above the tie rounds up');
    assert.ok(Object.is(bf16Value(bf16Bits(-0)), -0));
    assert.equal(bf16Value(bf16Bits(Infinity)), Infinity);
    assert.equal(bf16Value(bf16Bits(-Infinity)), -Infinity);
    assert.ok(Number.isNaN(bf16Value(bf16Bits(NaN))));
    assert.equal(bf16Value(bf16Bits(3.4e38)), Infinity, 'the largest floats round past the largest bf16');
    const x = Float32Array.from([0.1, -3.3e-5, 123.456, 7e-39]);
    roundToBf16(x);
    for (const v of x) assert.equal(bf16Value(bf16Bits(v)), v, 'rounded values are fixed points');
    assert.ok(Math.abs(x[0]! - 0.1) <= 0.1 * 2 ** -8, 'relative error at most 2^-8');
  });

  it('the packed layout is a bijection onto [0, k·n) for every k mod 8 and n mod 3', () => {
    for (const [k, n] of [[1, 1], [7, 3], [8, 2], [13, 5], [16, 4], [29, 7]] as const) {
      const seen = new Uint8Array(k * n);
      for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) seen[packedIndex(k, n, kk, j)]!++;
      assert.ok(seen.every((c) => c === 1), `k ${k} n ${n}`);
    }
  });
});

/** A weight W [k, n], its packed bf16 copy in engine memory, and W rounded (float32, for matmul). */
function weights(e: Engine, rng: Rng, k: number, n: number): { packed: Uint16Array; rounded: Float32Array } {
  const w = new Float32Array(k * n);
  rng.fillUniform(w, 1);
  const packed = e.allocU16(k * n);
  packBf16Weights(w, k, n, packed);
  const rounded = Float32Array.from(w);
  roundToBf16(rounded);
  return { packed, rounded };
}

describe('matmulBf16 (few-row products against packed bf16 weights) vs reference', () => {
  it('the reference equals a float64 product with the rounded weights', () => {
    const rng = new Rng(3), e = engines[0]!;
    const [m, n, k] = [3, 11, 21];
    const { packed, rounded } = weights(e, rng, k, n);
    const a = Float32Array.from({ length: m * k }, () => rng.next() - 0.5), bias = Float32Array.from({ length: n }, () => rng.next());
    const c = new Float32Array(m * n), expect = new Float32Array(m * n);
    ref.matmulBf16({ m, n, k }, a, packed, bias, c);
    ref.matmul({ m, n, k }, a, rounded, expect);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect[i * n + j]! += bias[j]!;
    assertClose(c, expect, 'reference bf16 = matmul(rounded) + bias', 1e-6, 1e-6);
  });

  for (const e of engines) {
    it(`random shapes, every k mod 8, every n mod 3 (the panel tails), strides, bias, accumulate, ${label(e)}`, () => {
      const rng = new Rng(11 + e.info.threads);
      const cases: Bf16MatmulDims[] = [];
      for (let k = 1; k <= 17; k++) cases.push({ m: 1 + (k % 3), n: 1 + (k * 5) % 13, k, alpha: k % 4 === 0 ? 0.5 : 1, accumulate: k % 3 === 0 });
      cases.push({ m: 1, n: 7, k: 16 }, { m: 2, n: 10, k: 24 }, { m: 1, n: 2048, k: 512 }, { m: 1, n: 515, k: 2051 }, { m: 8, n: 96, k: 200, lda: 210, ldc: 100 }, { m: 9, n: 33, k: 64, accumulate: true });
      for (const d of cases) {
        const mark = e.mark();
        const { packed } = weights(e, rng, d.k, d.n);
        const a = randomPair(e, rng, (d.m - 1) * (d.lda ?? d.k) + d.k), c = randomPair(e, rng, (d.m - 1) * (d.ldc ?? d.n) + d.n);
        const bias = d.k % 2 === 0 ? randomPair(e, rng, d.n) : null;
        e.kernels.matmulBf16(d, a.w, packed, bias?.w ?? null, c.w);
        ref.matmulBf16(d, a.r, packed, bias?.r ?? null, c.r);
        assertClose(c.w, c.r, `matmulBf16 ${JSON.stringify(d)}`, 1e-5, 1e-4);
        e.release(mark);
      }
    });
  }

  for (const e of engines) {
    it(`fused epilogues: a residual (with its stride) and each activation, vs the reference and vs the unfused kernels, ${label(e)}`, () => {
      const rng = new Rng(23 + e.info.threads);
      const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 7, 9], [2, 13, 17], [1, 515, 2051], [1, 2048, 512], [3, 100, 64], [8, 35, 40]];
      for (const [m, n, k] of shapes) {
        const mark = e.mark();
        const { packed } = weights(e, rng, k, n);
        const a = randomPair(e, rng, m * k), bias = n % 2 === 1 ? randomPair(e, rng, n) : null;
        const ldr = n + (k % 3), res = randomPair(e, rng, (m - 1) * ldr + n);
        const c = randomPair(e, rng, m * n), plain = e.allocF32(m * n);
        const d: Bf16MatmulDims = { m, n, k, ldr };
        e.kernels.matmulBf16(d, a.w, packed, bias?.w ?? null, c.w, res.w);
        ref.matmulBf16(d, a.r, packed, bias?.r ?? null, c.r, res.r);
        assertClose(c.w, c.r, `residual ${JSON.stringify(d)}`, 1e-5, 1e-4);
        // The same floats as the product, then an add of the residual's rows.
        e.kernels.matmulBf16({ m, n, k }, a.w, packed, bias?.w ?? null, plain);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) plain[i * n + j] = Math.fround(res.w[i * ldr + j]! + plain[i * n + j]!);
        assert.deepEqual(c.w, plain, `the fused residual equals product + add, ${JSON.stringify(d)}`);
        for (const activation of ['squared-relu', 'gelu', 'gelu-erf'] as const) {
          e.kernels.matmulBf16({ m, n, k, activation }, a.w, packed, bias?.w ?? null, c.w);
          ref.matmulBf16({ m, n, k, activation }, a.r, packed, bias?.r ?? null, c.r);
          assertClose(c.w, c.r, `${activation} ${m}×${n}×${k}`, 1e-5, 1e-4);
          // The same floats as the product then the activation kernel, for any thread count (each
          // element takes the form the kernel would give it, whatever the threads' shares).
          e.kernels.matmulBf16({ m, n, k }, a.w, packed, bias?.w ?? null, plain);
          e.kernels.activationForward(activation, plain, plain);
          assert.deepEqual(c.w, plain, `fused ${activation} equals product + activation kernel, ${m}×${n}×${k}`);
          // Rows of C further apart (ldc > n): the same outputs, the gaps untouched.
          const ldc = n + 5, wide = e.allocF32((m - 1) * ldc + n).fill(7);
          e.kernels.matmulBf16({ m, n, k, ldc, activation }, a.w, packed, bias?.w ?? null, wide);
          for (let i = 0; i < m; i++) {
            assert.deepEqual(wide.subarray(i * ldc, i * ldc + n), c.w.subarray(i * n, i * n + n), `${activation} with ldc ${ldc}, row ${i}`);
            if (i < m - 1) assert.ok(wide.subarray(i * ldc + n, (i + 1) * ldc).every((v) => v === 7), 'the gap between rows is untouched');
          }
        }
        e.release(mark);
      }
    });
  }

  for (const e of engines) {
    it(`the layer-norm prologue: the same floats as layerNormForward then the product (A's stride, with a residual or an activation), vs the reference, ${label(e)}`, () => {
      const rng = new Rng(31 + e.info.threads);
      // n mod 3 = 0 (12, 2048): A's rows k apart; otherwise further apart.
      const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 7, 9], [2, 12, 17], [1, 515, 2051], [1, 2048, 512], [3, 100, 64], [8, 35, 40]];
      for (const [m, n, k] of shapes) {
        const mark = e.mark();
        const { packed } = weights(e, rng, k, n);
        const lda = k + (n % 3), a = randomPair(e, rng, (m - 1) * lda + k, 3), bias = n % 2 === 1 ? randomPair(e, rng, n) : null;
        const gamma = randomPair(e, rng, k), beta = randomPair(e, rng, k), eps = 1e-5;
        const res = randomPair(e, rng, m * n), c = randomPair(e, rng, m * n);
        // Unfused: layerNormForward of each row (rows of k, so A's rows copied out of its stride first), then the product.
        const rowsA = e.allocF32(m * k), normed = e.allocF32(m * k), mean = e.allocF32(m), rstd = e.allocF32(m), plain = e.allocF32(m * n);
        for (let i = 0; i < m; i++) rowsA.set(a.w.subarray(i * lda, i * lda + k), i * k);
        e.kernels.layerNormForward({ rows: m, cols: k, eps }, rowsA, gamma.w, beta.w, normed, mean, rstd);
        const variants: Array<[string, Partial<Bf16MatmulDims>, boolean]> = [['plain', {}, false], ['residual', {}, true], ['squared-relu', { activation: 'squared-relu' }, false],
          ['gelu', { activation: 'gelu' }, false], ['accumulate', { accumulate: true, alpha: 0.5 }, false]];
        for (const [what, extra, withResidual] of variants) {
          const d: Bf16MatmulDims = { m, n, k, ...extra };
          if (d.accumulate) { plain.set(c.w); c.r.set(c.w); } // all three accumulate onto the same C
          e.kernels.matmulBf16({ ...d, lda, normalize: { gamma: gamma.w, beta: beta.w, eps } }, a.w, packed, bias?.w ?? null, c.w, withResidual ? res.w : null);
          e.kernels.matmulBf16(d, normed, packed, bias?.w ?? null, plain, withResidual ? res.w : null);
          assert.deepEqual(c.w, plain, `normalised ${what} ${m}×${n}×${k}: the same floats as layerNormForward then the product`);
          ref.matmulBf16({ ...d, lda, normalize: { gamma: gamma.r, beta: beta.r, eps } }, a.r, packed, bias?.r ?? null, c.r,
            withResidual ? res.r : null);
          assertClose(c.w, c.r, `normalised ${what} ${m}×${n}×${k} vs the reference`, 1e-5, 1e-4);
        }
        e.release(mark);
      }
    });
  }

  it('refuses a prologue with a bad eps, short gamma or beta, or m·k over NORMALIZE_MAX_ELEMENTS (both backends)', () => {
    const e = engines[0]!, w = e.allocU16(12), a = e.allocF32(4), c = e.allocF32(3), g = e.allocF32(4), short = e.allocF32(3);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, normalize: { gamma: g, beta: g, eps: 0 } }, a, w, null, c), /matmulBf16: normalize.eps must be a finite number > 0, got 0/);
    assert.throws(() => ref.matmulBf16({ m: 1, n: 3, k: 4, normalize: { gamma: g, beta: g, eps: NaN } }, a, w, null, c), /normalize.eps must be a finite number > 0, got NaN/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, normalize: { gamma: short, beta: g, eps: 1e-5 } }, a, w, null, c), /normalize.gamma has 3 elements but needs at least 4/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, normalize: { gamma: g, beta: short, eps: 1e-5 } }, a, w, null, c), /normalize.beta has 3 elements but needs at least 4/);
    const mark = e.mark();
    const k = 65536, big = e.allocF32(5 * k), bw = e.allocU16(k), bg = e.allocF32(k);
    assert.throws(() => e.kernels.matmulBf16({ m: 5, n: 1, k, normalize: { gamma: bg, beta: bg, eps: 1e-5 } }, big, bw, null, e.allocF32(5)),
      /matmulBf16: normalize takes m·k ≤ 262144 \(normalised into per-thread scratch\), got m·k = 327680/);
    assert.throws(() => ref.matmulBf16({ m: 5, n: 1, k, normalize: { gamma: bg, beta: bg, eps: 1e-5 } }, big, bw, null, e.allocF32(5)), /normalize takes m·k ≤ 262144/);
    e.release(mark);
  });

  it('refuses two epilogues at once, a short residual, a bad ldr and an unknown activation', () => {
    const e = engines[0]!, w = e.allocU16(12), a = e.allocF32(4), c = e.allocF32(6), r = e.allocF32(6);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, accumulate: true }, a, w, null, c, r), /matmulBf16: accumulate and a residual cannot be combined/);
    assert.throws(() => ref.matmulBf16({ m: 1, n: 3, k: 4, activation: 'gelu' }, a, w, null, c, r), /a residual and the activation gelu cannot be combined/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, accumulate: true, activation: 'gelu' }, a, w, null, c), /accumulate and the activation gelu/);
    assert.throws(() => e.kernels.matmulBf16({ m: 2, n: 3, k: 2, ldr: 4 }, a, w, null, c, r), /matmulBf16: residual has 6 elements but needs at least 7/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, ldr: 2 }, a, w, null, c, r), /ldr=2 must be an integer ≥ 3/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4, activation: 'relu' as never }, a, w, null, c), /unknown activation 'relu' \(squared-relu, gelu, gelu-erf\)/);
  });

  it('refuses short buffers and bad strides, naming the argument', () => {
    const e = engines[0]!, w = e.allocU16(12), a = e.allocF32(4), c = e.allocF32(3);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 5 }, a, w, null, c), /matmulBf16: A has 4 elements but needs at least 5/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 4, k: 4 }, a, w, null, c), /matmulBf16: W \(packed bf16\) has 12 elements but needs at least 16/);
    assert.throws(() => ref.matmulBf16({ m: 2, n: 3, k: 4, lda: 3 }, a, w, null, c), /lda=3 must be an integer ≥ 4/);
    assert.throws(() => e.kernels.matmulBf16({ m: 1, n: 3, k: 4 }, a, new Uint16Array(12), null, c), /W is not a view into the engine's memory/);
  });
});
