import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels as ref, rotaryDimsFor, rotaryInverseFrequencies, type Activation } from '../src/node.js';
import { assertClose } from './helpers/compare.js';
import { label, randomPair, Rng, wasmEngines } from './helpers/engines.js';
import { gradcheck, weightedSum } from './helpers/gradcheck.js';

const engines = await wasmEngines();
const SHAPES: [number, number][] = [[1, 1], [3, 5], [17, 129], [64, 33], [2, 512]];
const f64 = (rng: Rng, n: number, scale = 1): Float64Array => rng.fillUniform(new Float64Array(n), scale) as Float64Array;

describe('layer kernels: wasm vs reference', () => {
  for (const e of engines) {
    const rng = new Rng(21 + e.info.threads);
    it(`bias add forward/backward, ${label(e)}`, () => {
      for (const [R, C] of SHAPES) {
        const y = randomPair(e, rng, R * C), b = randomPair(e, rng, C), db = randomPair(e, rng, C);
        e.kernels.biasAddForward(R, C, y.w, b.w); ref.biasAddForward(R, C, y.r, b.r);
        assertClose(y.w, y.r, `bias ${R}x${C}`);
        e.kernels.biasAddBackward(R, C, y.w, db.w); ref.biasAddBackward(R, C, y.r, db.r);
        assertClose(db.w, db.r, `dbias ${R}x${C}`, 1e-4);
      }
    });
    it(`embedding lookup and scatter-add with repeated ids, ${label(e)}`, () => {
      for (const [T, C] of SHAPES) {
        const V = 7;
        const ids = e.allocI32(T);
        for (let t = 0; t < T; t++) ids[t] = rng.int(V);
        const table = randomPair(e, rng, V * C), out = randomPair(e, rng, T * C), dT = randomPair(e, rng, V * C);
        e.kernels.embeddingForward(V, C, table.w, ids, out.w); ref.embeddingForward(V, C, table.r, ids, out.r);
        assertClose(out.w, out.r, 'embedding');
        e.kernels.embeddingBackward(V, C, dT.w, ids, out.w); ref.embeddingBackward(V, C, dT.r, ids, out.r);
        assertClose(dT.w, dT.r, 'dTable', 1e-4);
      }
    });
    it(`layernorm forward/backward, ${label(e)}`, () => {
      for (const [R, C] of SHAPES) {
        const d = { rows: R, cols: C, eps: 1e-5 };
        const x = randomPair(e, rng, R * C, 3), g = randomPair(e, rng, C), b = randomPair(e, rng, C);
        const y = randomPair(e, rng, R * C), mean = randomPair(e, rng, R), rstd = randomPair(e, rng, R);
        e.kernels.layerNormForward(d, x.w, g.w, b.w, y.w, mean.w, rstd.w);
        ref.layerNormForward(d, x.r, g.r, b.r, y.r, mean.r, rstd.r);
        assertClose(y.w, y.r, 'ln y', 1e-4);
        assertClose(rstd.w, rstd.r, 'ln rstd', 1e-4);
        const dy = randomPair(e, rng, R * C), dx = randomPair(e, rng, R * C), dg = randomPair(e, rng, C), db = randomPair(e, rng, C);
        e.kernels.layerNormBackward(d, x.w, g.w, mean.w, rstd.w, dy.w, dx.w, dg.w, db.w);
        ref.layerNormBackward(d, x.r, g.r, mean.r, rstd.r, dy.r, dx.r, dg.r, db.r);
        assertClose(dx.w, dx.r, 'ln dx', 1e-4, 1e-3);
        assertClose(dg.w, dg.r, 'ln dgamma', 1e-4, 1e-3);
        assertClose(db.w, db.r, 'ln dbeta', 1e-4);
      }
    });
    for (const kind of ['squared-relu', 'gelu', 'gelu-erf'] as Activation[]) {
      it(`${kind} forward/backward, ${label(e)}`, () => {
        for (const n of [1, 3, 17, 1031]) {
          const x = randomPair(e, rng, n, 6), y = randomPair(e, rng, n), dy = randomPair(e, rng, n), dx = randomPair(e, rng, n);
          x.w[0] = x.r[0] = 0;
          e.kernels.activationForward(kind, x.w, y.w); ref.activationForward(kind, x.r, y.r);
          assertClose(y.w, y.r, `${kind} y`, 1e-5, 1e-5);
          e.kernels.activationBackward(kind, x.w, dy.w, dx.w); ref.activationBackward(kind, x.r, dy.r, dx.r);
          assertClose(dx.w, dx.r, `${kind} dx`, 1e-5, 1e-5);
        }
      });
    }
    it(`GLU forward/backward, ${label(e)}`, () => {
      for (const [R, C] of SHAPES) {
        const x = randomPair(e, rng, R * 2 * C, 4), y = randomPair(e, rng, R * C), dy = randomPair(e, rng, R * C), dx = randomPair(e, rng, R * 2 * C);
        e.kernels.gluForward(R, C, x.w, y.w); ref.gluForward(R, C, x.r, y.r);
        assertClose(y.w, y.r, 'glu y');
        e.kernels.gluBackward(R, C, x.w, dy.w, dx.w); ref.gluBackward(R, C, x.r, dy.r, dx.r);
        assertClose(dx.w, dx.r, 'glu dx');
      }
    });
    it(`residual add (in place too) and scale, ${label(e)}`, () => {
      for (const n of [1, 5, 1029]) {
        const a = randomPair(e, rng, n), b = randomPair(e, rng, n), out = randomPair(e, rng, n);
        e.kernels.add(a.w, b.w, out.w); ref.add(a.r, b.r, out.r);
        assertClose(out.w, out.r, 'add');
        e.kernels.add(a.w, b.w, a.w); ref.add(a.r, b.r, a.r);
        assertClose(a.w, a.r, 'add in place');
        e.kernels.scale(a.w, -0.25); ref.scale(a.r, -0.25);
        assertClose(a.w, a.r, 'scale');
      }
    });
    it(`seeded dropout: identical masks to the reference, backward reuses the mask, ${label(e)}`, () => {
      const n = 4099, d = { p: 0.3, seed: 1234, offset: 77 };
      const x = randomPair(e, rng, n), y = randomPair(e, rng, n), dx = randomPair(e, rng, n);
      e.kernels.dropoutForward(d, x.w, y.w); ref.dropoutForward(d, x.r, y.r);
      assertClose(y.w, y.r, 'dropout y', 1e-6, 1e-6);
      const dropped = y.w.filter((v) => v === 0).length / n;
      assert.ok(Math.abs(dropped - 0.3) < 0.03, `drop rate ${dropped}`);
      e.kernels.dropoutBackward(d, x.w, dx.w); ref.dropoutBackward(d, x.r, dx.r);
      assertClose(dx.w, dx.r, 'dropout dx', 1e-6, 1e-6);
      const other = e.allocF32(n);
      e.kernels.dropoutForward({ ...d, seed: 1235 }, x.w, other);
      assert.notDeepEqual(Array.from(other), Array.from(y.w), 'another seed gives another mask');
    });
    it(`rotary forward/backward at absolute positions up to 1e6, ${label(e)}`, () => {
      for (const [H, D, rot, spacing] of [[1, 2, 2, 'perceiver'], [3, 16, 8, 'roformer'], [2, 64, 32, 'perceiver'], [8, 12, 6, 'roformer']] as const) {
        const R = 9, ld = H * D + 3;
        const d = { rows: R, heads: H, headDim: D, rowStride: ld, rotaryDims: rot, maxWavelength: 4096, spacing };
        const pos = e.allocI32(R);
        for (let r = 0; r < R; r++) pos[r] = r === 0 ? 1 : rng.int(1_000_000);
        const x = randomPair(e, rng, R * ld);
        e.kernels.rotaryForward(d, x.w, pos); ref.rotaryForward(d, x.r, pos);
        assertClose(x.w, x.r, `rotary H${H} D${D} rot${rot}`, 1e-5, 1e-5);
        e.kernels.rotaryBackward(d, x.w, pos); ref.rotaryBackward(d, x.r, pos);
        assertClose(x.w, x.r, 'rotary backward', 1e-5, 1e-5);
      }
    });
  }
});

describe('rotary frequencies and invariants', () => {
  it('follows the Perceiver AR formula inv_freq_i = maxWavelength^(-i/(nb-1))', () => {
    const f = rotaryInverseFrequencies(8, 1000);
    assert.equal(f.length, 4);
    assertClose(f, [1, 1000 ** (-1 / 3), 1000 ** (-2 / 3), 1 / 1000], 'freqs', 0, 1e-12);
    assert.deepEqual(Array.from(rotaryInverseFrequencies(2, 1000)), [1]);
  });
  it("spaces them as RoFormer (the PyTorch port) with spacing 'roformer': base^(-2i/rotaryDims)", () => {
    assertClose(rotaryInverseFrequencies(8, 10000, 'roformer'), [1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75], 'freqs', 0, 1e-12);
    assert.deepEqual(Array.from(rotaryInverseFrequencies(2, 10000, 'roformer')), [1]);
    assert.throws(() => ref.rotaryForward({ rows: 1, heads: 1, headDim: 2, rotaryDims: 2, maxWavelength: 10, spacing: 'neox' as never },
      new Float64Array(2), Int32Array.of(1)), /spacing must be 'perceiver' or 'roformer'/);
  });
  it('computes exact GELU x·Φ(x) from erf (values from the normal distribution table)', () => {
    const y = new Float64Array(4);
    ref.activationForward('gelu-erf', Float64Array.of(1, -1, 3.5, -6), y);
    assertClose(y, [0.8413447460685429, -0.15865525393145707, 3.5 * 0.9997673709209645, -6 * 9.865876450376946e-10], 'gelu-erf', 1e-15, 1e-13);
  });
  it('leaves the un-rotated dims alone and preserves norms; q·k depends only on relative position', () => {
    const rng = new Rng(2);
    const D = 8, d = { rows: 1, heads: 1, headDim: D, rotaryDims: 4, maxWavelength: 64 };
    const q0 = f64(rng, D), k0 = f64(rng, D);
    const dot = (pq: number, pk: number): number => {
      const q = Float64Array.from(q0), k = Float64Array.from(k0);
      ref.rotaryForward(d, q, Int32Array.of(pq)); ref.rotaryForward(d, k, Int32Array.of(pk));
      assert.deepEqual(Array.from(q.subarray(4)), Array.from(q0.subarray(4)));
      return weightedSum(q, k);
    };
    assert.ok(Math.abs(dot(10, 3) - dot(110, 103)) < 1e-9);
  });
  it('rotates floor_even(headDim × fraction) dims', () => {
    assert.equal(rotaryDimsFor(64, 0.5), 32);
    assert.equal(rotaryDimsFor(64, 0.25), 16);
    assert.equal(rotaryDimsFor(10, 0.5), 4);
    assert.equal(rotaryDimsFor(3, 1), 2);
    assert.throws(() => rotaryDimsFor(8, 1.5), /fraction must be in \[0, 1\]/);
  });
  it('rejects odd rotary dims', () => {
    assert.throws(() => ref.rotaryForward({ rows: 1, heads: 1, headDim: 4, rotaryDims: 3, maxWavelength: 8 }, new Float32Array(4), Int32Array.of(1)),
      /rotaryDims=3 must be an even integer/);
  });
});

describe('layer backward passes vs float64 finite differences (reference)', () => {
  const rng = new Rng(99);
  it('layernorm', () => {
    const R = 3, C = 5, d = { rows: R, cols: C, eps: 1e-5 };
    const x = f64(rng, R * C, 2), g = f64(rng, C), b = f64(rng, C), w = f64(rng, R * C);
    const y = new Float64Array(R * C), mean = new Float64Array(R), rstd = new Float64Array(R);
    const loss = (): number => { ref.layerNormForward(d, x, g, b, y, mean, rstd); return weightedSum(y, w); };
    loss();
    const dx = new Float64Array(R * C), dg = new Float64Array(C), db = new Float64Array(C);
    ref.layerNormBackward(d, x, g, mean, rstd, w, dx, dg, db);
    gradcheck('ln dx', loss, x, dx); gradcheck('ln dgamma', loss, g, dg); gradcheck('ln dbeta', loss, b, db);
  });
  for (const kind of ['squared-relu', 'gelu', 'gelu-erf'] as Activation[]) {
    it(kind, () => {
      const x = f64(rng, 11, 3), w = f64(rng, 11), y = new Float64Array(11), dx = new Float64Array(11);
      x[0] = 1e-3;
      const loss = (): number => { ref.activationForward(kind, x, y); return weightedSum(y, w); };
      ref.activationBackward(kind, x, w, dx);
      gradcheck(kind, loss, x, dx);
    });
  }
  it('GLU', () => {
    const R = 2, C = 3, x = f64(rng, R * 2 * C, 2), w = f64(rng, R * C), y = new Float64Array(R * C), dx = new Float64Array(R * 2 * C);
    const loss = (): number => { ref.gluForward(R, C, x, y); return weightedSum(y, w); };
    ref.gluBackward(R, C, x, w, dx);
    gradcheck('glu', loss, x, dx);
  });
  it('bias, embedding, dropout and rotary', () => {
    const R = 3, C = 4, V = 5;
    const bias = f64(rng, C), base = f64(rng, R * C), w = f64(rng, R * C), db = new Float64Array(C);
    const lossBias = (): number => { const y = Float64Array.from(base); ref.biasAddForward(R, C, y, bias); return weightedSum(y, w); };
    ref.biasAddBackward(R, C, w, db);
    gradcheck('bias', lossBias, bias, db);
    const table = f64(rng, V * C), ids = Int32Array.of(4, 0, 4), dT = new Float64Array(V * C);
    const lossEmb = (): number => { const y = new Float64Array(R * C); ref.embeddingForward(V, C, table, ids, y); return weightedSum(y, w); };
    ref.embeddingBackward(V, C, dT, ids, w);
    gradcheck('embedding', lossEmb, table, dT);
    const x = f64(rng, R * C), dx = new Float64Array(R * C), dd = { p: 0.5, seed: 3 };
    const lossDrop = (): number => { const y = new Float64Array(R * C); ref.dropoutForward(dd, x, y); return weightedSum(y, w); };
    ref.dropoutBackward(dd, w, dx);
    gradcheck('dropout', lossDrop, x, dx);
    const rd = { rows: R, heads: 1, headDim: C, rotaryDims: 4, maxWavelength: 16 }, pos = Int32Array.of(1, 7, 300);
    const lossRot = (): number => { const y = Float64Array.from(x); ref.rotaryForward(rd, y, pos); return weightedSum(y, w); };
    const gr = Float64Array.from(w);
    ref.rotaryBackward(rd, gr, pos);
    gradcheck('rotary', lossRot, x, gr);
  });
});

describe('layer kernels: bad input', () => {
  const e = engines[0]!;
  it('rejects ids outside the vocabulary and zero-length inputs', () => {
    const ids = e.allocI32(2);
    ids.set([0, 9]);
    assert.throws(() => e.kernels.embeddingForward(5, 2, e.allocF32(10), ids, e.allocF32(4)), /embeddingForward: ids\[1\] = 9 is outside \[0, 5\)/);
    assert.throws(() => e.kernels.activationForward('gelu', e.allocF32(0), e.allocF32(0)), /activationForward: x is empty/);
    assert.throws(() => e.kernels.add(e.allocF32(3), e.allocF32(4), e.allocF32(3)), /add: b has 4 elements, expected 3/);
    assert.throws(() => e.kernels.dropoutForward({ p: 1, seed: 1 }, e.allocF32(3), e.allocF32(3)), /p must be in \[0, 1\)/);
  });
});
