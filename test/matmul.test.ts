import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels as ref } from '../src/node.js';
import type { Engine, MatmulDims } from '../src/node.js';
import { assertClose } from './helpers/compare.js';
import { blasEngines, label, randomPair, Rng, wasmEngines } from './helpers/engines.js';
import { gradcheck, weightedSum } from './helpers/gradcheck.js';

const engines = await wasmEngines(), blas = await blasEngines();

function storedSize(d: MatmulDims): { a: number; b: number; c: number } {
  const batch = d.batch ?? 1;
  const aRows = d.transA ? d.k : d.m, bRows = d.transB ? d.n : d.k;
  return {
    a: (batch - 1) * (d.strideA ?? 0) + aRows * (d.lda ?? (d.transA ? d.m : d.k)),
    b: (batch - 1) * (d.strideB ?? 0) + bRows * (d.ldb ?? (d.transB ? d.k : d.n)),
    c: (batch - 1) * (d.strideC ?? 0) + d.m * (d.ldc ?? d.n),
  };
}

/** One product on random operands, wasm against the reference. */
function checkAgainstReference(e: Engine, rng: Rng, d: MatmulDims): void {
  const s = storedSize(d);
  const mark = e.mark();
  const a = randomPair(e, rng, s.a), b = randomPair(e, rng, s.b), c = randomPair(e, rng, s.c);
  e.kernels.matmul(d, a.w, b.w, c.w);
  ref.matmul(d, a.r, b.r, c.r);
  assertClose(c.w, c.r, `matmul ${JSON.stringify(d)}`, 1e-5, 1e-4);
  e.release(mark);
}

describe('matmul: wasm and the native BLAS path vs reference', () => {
  const sizes = [1, 3, 4, 8, 17, 33, 129];
  const rng = new Rng(1);
  for (const e of [...engines, ...blas]) {
    it(`random shapes, all transposes, ${label(e)}`, () => {
      for (let t = 0; t < 40; t++) {
        const m = sizes[rng.int(sizes.length)]!, n = sizes[rng.int(sizes.length)]!, k = t === 0 ? 300 : sizes[rng.int(sizes.length)]!;
        const d: MatmulDims = { m, n, k, transA: rng.next() < 0.5, transB: rng.next() < 0.5, alpha: t % 3 === 0 ? 0.5 : 1, accumulate: t % 4 === 0 };
        checkAgainstReference(e, rng, d);
      }
    });

    it(`few rows (the decoding path), every remainder of k mod 8, ${label(e)}`, () => {
      for (const m of [1, 2, 8]) {
        for (let k = 64; k < 72; k++) {
          const d: MatmulDims = { m, n: 37, k, transA: k % 2 === 1, accumulate: k % 3 === 0, alpha: k % 4 === 0 ? 0.5 : 1 };
          checkAgainstReference(e, rng, d);
        }
      }
    });

    it(`batched and strided operands, ${label(e)}`, () => {
      // Three 5×7·7×9 products read from padded rows (lda/ldb/ldc > width) and gapped batches.
      const d: MatmulDims = { m: 5, n: 9, k: 7, lda: 10, ldb: 11, ldc: 13, batch: 3, strideA: 60, strideB: 80, strideC: 70 };
      const s = storedSize(d);
      const a = randomPair(e, rng, s.a), b = randomPair(e, rng, s.b), c = randomPair(e, rng, s.c);
      e.kernels.matmul(d, a.w, b.w, c.w);
      ref.matmul(d, a.r, b.r, c.r);
      assertClose(c.w, c.r, 'batched matmul');
    });

    it(`large K and panel edges (k=1000, n=70), ${label(e)}`, () => {
      const d: MatmulDims = { m: 37, n: 70, k: 1000, transB: true };
      const s = storedSize(d);
      const a = randomPair(e, rng, s.a), b = randomPair(e, rng, s.b), c = randomPair(e, rng, s.c);
      e.kernels.matmul(d, a.w, b.w, c.w);
      ref.matmul(d, a.r, b.r, c.r);
      assertClose(c.w, c.r, 'k=1000', 1e-4, 1e-4);
    });
  }
});

describe('matmul: the native BLAS path', () => {
  it('is used for products above the threshold and matches the reference on odd strided, batched, broadcast shapes', { skip: blas.length === 0 ? 'no BLAS library here' : false }, () => {
    const rng = new Rng(5);
    for (const e of blas) {
      // Padded rows, gapped batches, a broadcast B (strideB 0), transposes, alpha and accumulation.
      for (const d of [
        { m: 19, n: 23, k: 31, lda: 40, ldb: 29, ldc: 27, batch: 3, strideA: 19 * 40 + 5, strideB: 0, strideC: 19 * 27 + 2, accumulate: true, alpha: -0.5 },
        { m: 33, n: 9, k: 65, transA: true, transB: true, lda: 35, ldb: 70, batch: 2, strideA: 65 * 35, strideB: 9 * 70, strideC: 33 * 9 },
        { m: 9, n: 129, k: 3, transB: true, alpha: 2 },
      ] satisfies MatmulDims[]) checkAgainstReference(e, rng, d);
    }
  });

  it('a Perceiver AR training step gives the same loss and gradients with and without the BLAS (pool workers parked and woken around it)',
    { skip: blas.length === 0 ? 'no BLAS library here' : false }, async () => {
      const { MODEL_DEFAULTS } = await import('../src/models/perceiver-ar/config.js');
      const { PerceiverAR } = await import('../src/models/perceiver-ar/model.js');
      const { mirroredBatch } = await import('../src/data/batches.js');
      const c = { ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 48, numLatents: 16, numLayers: 2, width: 64, embedDim: 64, numHeads: 4,
        crossAttendHeads: 4, maxWavelength: 64, maxPosition: 64, dropout: 0.1 };
      const run = (e: Engine): { loss: number; grads: Float32Array } => {
        const model = new PerceiverAR(e, c, 3);
        new Rng(2).fillUniform(model.params.get('head.w').value, 0.3);
        const loss = model.forward(mirroredBatch(new Rng(4), 6, 48, 30), { training: true, rng: new Rng(5) }).loss;
        model.params.zeroGrads();
        model.backward();
        return { loss, grads: Float32Array.from(model.params.grads) };
      };
      const plain = run(engines[1]!), native = run(blas[1]!);
      assertClose([native.loss], [plain.loss], 'loss', 1e-5, 1e-5);
      assertClose(native.grads, plain.grads, 'gradients', 1e-5, 2e-3);
    });

  it('a library asked for by path that cannot be loaded is an error naming it; off loads nothing', async () => {
    const { createEngine } = await import('../src/node.js');
    await assert.rejects(createEngine({ backend: 'wasm', threads: 2, blas: '/nonexistent/libopenblas.so.0' }),
      /^UsageError: the requested BLAS library \/nonexistent\/libopenblas\.so\.0 cannot be used: \/nonexistent\/libopenblas\.so\.0: .*--blas=off uses the wasm matmul\)$/m);
    const off = await createEngine({ backend: 'wasm', threads: 1, blas: 'off' });
    assert.equal(off.info.blas, null);
    assert.doesNotMatch(off.info.notes.join('; '), /BLAS/);
    checkAgainstReference(off, new Rng(6), { m: 40, n: 50, k: 60 });
    await off.dispose();
  });

  it('the CLI announces a fallback to a slower path (no BLAS found, tiles in wasm, the reference backend), not the normal notes', async () => {
    const { fallbackNotes } = await import('../src/cli/context.js');
    assert.deepEqual(fallbackNotes(['relaxed SIMD validated: FMA build', 'native BLAS: OpenBLAS 0.3.21, 2 threads (libopenblas.so.0)',
      'native BLAS unavailable: none found; using the wasm matmul', 'wasm unavailable (no SIMD); using the reference backend']),
    ['native BLAS unavailable: none found; using the wasm matmul', 'wasm unavailable (no SIMD); using the reference backend']);
  });
});

describe('matmul: edge cases', () => {
  const e = engines[1]!;
  it('rejects zero-length dimensions with a clear error', () => {
    const a = e.allocF32(4), b = e.allocF32(4), c = e.allocF32(4);
    assert.throws(() => e.kernels.matmul({ m: 0, n: 2, k: 2 }, a, b, c), /matmul: m must be a positive integer, got 0 \(zero-length/);
    assert.throws(() => ref.matmul({ m: 2, n: 2, k: 0 }, a, b, c), /matmul: k must be a positive integer/);
  });
  it('rejects too-short buffers and bad strides', () => {
    const a = e.allocF32(3), b = e.allocF32(4), c = e.allocF32(4);
    assert.throws(() => e.kernels.matmul({ m: 2, n: 2, k: 2 }, a, b, c), /matmul: A has 3 elements but needs at least 4/);
    assert.throws(() => e.kernels.matmul({ m: 2, n: 2, k: 2, lda: 1 }, b, b, c), /lda=1 must be an integer ≥ 2/);
  });
  it('rejects buffers outside the engine memory', () => {
    const c = e.allocF32(4);
    assert.throws(() => e.kernels.matmul({ m: 2, n: 2, k: 2 }, new Float32Array(4), c, c), /A is not a view into the engine's memory/);
  });
  it('propagates NaN and handles huge values like the reference', () => {
    const a = e.allocF32(4), b = e.allocF32(4), c = e.allocF32(4);
    a.set([NaN, 1, 1, 1]); b.set([1e30, 1e30, 1, 1]);
    e.kernels.matmul({ m: 2, n: 2, k: 2 }, a, b, c);
    const r = new Float32Array(4);
    ref.matmul({ m: 2, n: 2, k: 2 }, a, b, r);
    assertClose(c, r, 'NaN/inf', 0, 1e-6);
    assert.ok(Number.isNaN(c[0]!) && Number.isNaN(c[1]!));
  });
});

describe('linear layer backward = transposed matmuls (float64 finite differences)', () => {
  it('dX = dY·Wᵀ and dW = Xᵀ·dY', () => {
    const rng = new Rng(7);
    const R = 3, I = 5, O = 4;
    const x = rng.fillUniform(new Float64Array(R * I)) as Float64Array, w = rng.fillUniform(new Float64Array(I * O)) as Float64Array;
    const gy = rng.fillUniform(new Float64Array(R * O)) as Float64Array;
    const loss = (): number => { const y = new Float64Array(R * O); ref.matmul({ m: R, n: O, k: I }, x, w, y); return weightedSum(y, gy); };
    const dx = new Float64Array(R * I), dw = new Float64Array(I * O);
    ref.matmul({ m: R, n: I, k: O, transB: true }, gy, w, dx);
    ref.matmul({ m: I, n: O, k: R, transA: true, accumulate: true }, x, gy, dw);
    gradcheck('dX', loss, x, dx);
    gradcheck('dW', loss, w, dw);
  });
});
