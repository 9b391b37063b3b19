import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipGlobalNorm, referenceKernels as ref } from '../src/node.js';
import { assertClose } from './helpers/compare.js';
import { label, randomPair, Rng, wasmEngines } from './helpers/engines.js';
import { gradcheck } from './helpers/gradcheck.js';

const engines = await wasmEngines();

describe('loss and optimiser kernels: wasm vs reference', () => {
  for (const e of engines) {
    const rng = new Rng(5 + e.info.threads);
    it(`softmax cross-entropy with z-loss and ignored targets, ${label(e)}`, () => {
      for (const [R, V] of [[1, 1], [3, 5], [17, 259], [40, 1031]] as const) {
        const d = { rows: R, vocab: V, ignoreIndex: -1, zLoss: 1e-4 };
        const logits = randomPair(e, rng, R * V, 5);
        const targets = e.allocI32(R);
        for (let r = 0; r < R; r++) targets[r] = r % 4 === 3 ? -1 : rng.int(V);
        const loss = randomPair(e, rng, R), lse = randomPair(e, rng, R), dl = randomPair(e, rng, R * V);
        e.kernels.crossEntropyForward(d, logits.w, targets, loss.w, lse.w);
        ref.crossEntropyForward(d, logits.r, targets, loss.r, lse.r);
        assertClose(loss.w, loss.r, `ce loss ${R}x${V}`, 1e-5, 1e-5);
        assertClose(lse.w, lse.r, 'ce lse', 1e-5, 1e-5);
        e.kernels.crossEntropyBackward(d, logits.w, targets, lse.w, dl.w, 0.5);
        ref.crossEntropyBackward(d, logits.r, targets, lse.r, dl.r, 0.5);
        assertClose(dl.w, dl.r, 'ce dlogits', 1e-6, 1e-5);
      }
    });
    it(`cross-entropy with very large logits stays finite, ${label(e)}`, () => {
      const d = { rows: 2, vocab: 4, ignoreIndex: 0, zLoss: 0 };
      const logits = e.allocF32(8), t = e.allocI32(2), loss = e.allocF32(2), lse = e.allocF32(2);
      logits.set([1e30, 0, -1e30, 3, 80, 90, 100, 110]);
      t.set([2, 3]);
      e.kernels.crossEntropyForward(d, logits, t, loss, lse);
      assert.equal(loss[0], 2 * Math.fround(1e30));
      assertClose(loss.subarray(1), [-110 + 110 + Math.log(1 + Math.exp(-10) + Math.exp(-20) + Math.exp(-30))], 'large', 1e-5);
    });
    it(`NaN logits give a NaN loss for that row only, ${label(e)}`, () => {
      const d = { rows: 2, vocab: 5, ignoreIndex: -1, zLoss: 1e-4 };
      const logits = e.allocF32(10), t = e.allocI32(2), loss = e.allocF32(2), lse = e.allocF32(2);
      logits.set([0, 1, NaN, 3, 4, 0, 1, 2, 3, 4]);
      t.set([1, 1]);
      e.kernels.crossEntropyForward(d, logits, t, loss, lse);
      assert.ok(Number.isNaN(loss[0]!));
      assert.ok(Number.isFinite(loss[1]!));
    });
    it(`AdamW step, ${label(e)}`, () => {
      for (const n of [1, 7, 4097]) {
        const p = randomPair(e, rng, n), g = randomPair(e, rng, n), m = randomPair(e, rng, n, 0.1), v = randomPair(e, rng, n, 0.1);
        for (const arr of [v.w, v.r]) for (let i = 0; i < n; i++) arr[i] = Math.abs(arr[i]!);
        const s = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3, gradScale: 0.7 };
        e.kernels.adamw(s, p.w, g.w, m.w, v.w);
        ref.adamw(s, p.r, g.r, m.r, v.r);
        assertClose(p.w, p.r, 'adamw params', 1e-6, 1e-5);
        assertClose(m.w, m.r, 'adamw m', 1e-7, 1e-5);
        assertClose(v.w, v.r, 'adamw v', 1e-7, 1e-5);
      }
    });
    it(`sum of squares and global-norm clipping, ${label(e)}`, () => {
      const a = randomPair(e, rng, 100_003), b = randomPair(e, rng, 5);
      assertClose([e.kernels.sumSquares(a.w)], [ref.sumSquares(a.r)], 'sumSquares', 0, 1e-6);
      const { norm, scale } = clipGlobalNorm(e.kernels, [a.w, b.w], 1);
      const expected = Math.sqrt(ref.sumSquares(a.r) + ref.sumSquares(b.r));
      assertClose([norm], [expected], 'norm', 0, 1e-6);
      assertClose([scale], [1 / expected], 'scale', 0, 1e-6);
      assertClose([Math.sqrt(e.kernels.sumSquares(a.w) + e.kernels.sumSquares(b.w))], [1], 'clipped norm', 0, 1e-5);
      assert.deepEqual(clipGlobalNorm(e.kernels, [b.w], 1e9).scale, 1);
    });
  }
});

describe('cross-entropy backward vs float64 finite differences', () => {
  it('with z-loss and an ignored row', () => {
    const rng = new Rng(8);
    const R = 3, V = 6, d = { rows: R, vocab: V, ignoreIndex: 0, zLoss: 0.01 };
    const logits = rng.fillUniform(new Float64Array(R * V), 3) as Float64Array;
    const targets = Int32Array.of(2, 0, 5);
    const loss = new Float64Array(R), lse = new Float64Array(R);
    const total = (): number => { ref.crossEntropyForward(d, logits, targets, loss, lse); return loss.reduce((a, b) => a + b, 0); };
    total();
    const dl = new Float64Array(R * V);
    ref.crossEntropyBackward(d, logits, targets, lse, dl, 1);
    gradcheck('dlogits', total, logits, dl);
    assert.deepEqual(Array.from(dl.subarray(V, 2 * V)), new Array(V).fill(0));
  });
});

describe('optimiser edge cases', () => {
  it('a NaN gradient is reported by clipGlobalNorm and nothing is scaled', () => {
    const g = Float32Array.of(1, NaN);
    const r = clipGlobalNorm(ref, [g], 1);
    assert.ok(Number.isNaN(r.norm));
    assert.equal(r.scale, 1);
  });
  it('rejects bad hyper-parameters and out-of-range targets', () => {
    const a = new Float32Array(2);
    assert.throws(() => ref.adamw({ lr: 1, beta1: 0.9, beta2: 1, eps: 1e-8, weightDecay: 0, step: 1 }, a, a, a, a), /beta2 must be in \[0, 1\)/);
    assert.throws(() => ref.adamw({ lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 0 }, a, a, a, a), /step must be an integer ≥ 1/);
    assert.throws(() => ref.crossEntropyForward({ rows: 1, vocab: 2, ignoreIndex: -1, zLoss: 0 }, a, Int32Array.of(2), a, a),
      /targets\[0\] = 2 is outside \[0, 2\)/);
  });
});
