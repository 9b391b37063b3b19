import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FIRST_SHARE, MIN_FIRST_SHARE, packBf16Weights, SplitBalancer } from '../src/index.js';
import { fineTimer } from '../src/kernels/wasm/split-balancer.js';
import { inEngine, oneThreadSimd128Engine, Rng, sequentialEngine } from './helpers/engines.js';

describe('SplitBalancer (how two threads split a bf16 product)', () => {
  it('grows the calling thread\'s share when it waited, shrinks it slowly when it did not, within bounds; ignores jobs run alone', () => {
    const b = new SplitBalancer(true);
    assert.equal(b.split(100), 50);
    b.observe(0.002);
    assert.ok(Math.abs(b.firstShare - 0.504) < 1e-12);
    b.observe(0);
    assert.ok(Math.abs(b.firstShare - 0.502) < 1e-12);
    b.observe(null);
    assert.ok(Math.abs(b.firstShare - 0.502) < 1e-12, 'a job the calling thread ran alone says nothing about the worker');
    for (let i = 0; i < 1000; i++) b.observe(1);
    assert.equal(b.firstShare, MAX_FIRST_SHARE);
    assert.equal(b.split(100), 75);
    for (let i = 0; i < 1000; i++) b.observe(0);
    assert.equal(b.firstShare, MIN_FIRST_SHARE);
    assert.equal(b.split(2), 1, 'each thread keeps at least one panel');
    assert.equal(b.split(1), 0, 'one panel: the kernel\'s own split');
    assert.equal(new SplitBalancer(false).split(100), 0, 'disabled: the even split');
    assert.throws(() => new SplitBalancer(true, 0.9), /firstShare must be in \[0.25, 0.75\], got 0.9/);
  });

  it('is enabled only with a timer that resolves sub-microsecond waits', () => {
    let t = 0;
    assert.equal(fineTimer(() => (t += 0.0001)), true, '0.1 µs steps');
    assert.equal(fineTimer(() => (t += 0.005)), false, '5 µs steps (a cross-origin-isolated page\'s coarsened timer)');
    let calls = 0;
    assert.equal(fineTimer(() => { calls++; return (t += 100); }), false, '100 ms ticks');
    assert.ok(calls < 10, `a coarse timer is given up on at once (${calls} reads, not 200 ticks)`);
    // A fine timer whose thread is descheduled for 5 ms during the first sample is still fine.
    let reads = 0;
    assert.equal(fineTimer(() => (t += ++reads === 2 ? 5 : 0.0001)), true, 'one stall during the first sample');
  });
});

describe('matmulBf16 split unevenly between two threads', () => {
  it('gives the same floats for any split, and on one thread (plain, bias, residual, activation, normalising prologue, accumulate; every n mod 3)', async () => {
    const even = sequentialEngine(new SplitBalancer(false));
    // One share on one thread, as a solo pool runs it (PARTITION_INVARIANT); the same SIMD128 build as the sequential engines.
    const one = await oneThreadSimd128Engine();
    const splits: number[] = [];
    const uneven = [MIN_FIRST_SHARE, 0.4, 0.61, MAX_FIRST_SHARE].map((s) => sequentialEngine(new SplitBalancer(true, s), splits));
    const rng = new Rng(41);
    for (const [m, n, k] of [[1, 7, 16], [1, 96, 24], [1, 512, 512], [2, 100, 40], [2, 300, 33], [1, 515, 129], [3, 2048, 64]] as const) {
      const random = (count: number): Float32Array => { const x = new Float32Array(count); rng.fillUniform(x); return x; };
      const w = random(k * n), a = random(m * k), bias = random(n), res = random(m * n), beta = random(k), before = random(m * n);
      const gamma = random(k).map((x) => 1 + x / 2);
      for (const v of ['plain', 'gelu', 'normalize', 'residual', 'accumulate'] as const) {
        splits.length = 0;
        const outputs = [even, ...uneven, one].map((e) => {
          const put = (x: Float32Array): Float32Array => inEngine(e, x);
          const packed = e.allocU16(k * n);
          packBf16Weights(w, k, n, packed);
          const c = put(before);
          const normalize = v === 'normalize' ? { gamma: put(gamma), beta: put(beta), eps: 1e-5 } : null;
          e.kernels.matmulBf16({ m, n, k, activation: v === 'gelu' ? 'gelu' : null, normalize, accumulate: v === 'accumulate' }, put(a), packed, put(bias), c,
            v === 'residual' ? put(res) : null);
          return Array.from(c);
        });
        for (let i = 1; i < outputs.length; i++) assert.deepEqual(outputs[i], outputs[0], `${m}×${n}×${k} ${v}, ${i <= uneven.length ? `split ${i}` : 'one thread'}`);
        // The pinned splits reach the kernel (n = 7: 3 panels, each thread at least one).
        assert.deepEqual(splits, [MIN_FIRST_SHARE, 0.4, 0.61, MAX_FIRST_SHARE].map((s) => Math.min(Math.ceil(n / 3) - 1, Math.max(1, Math.round(Math.ceil(n / 3) * s)))));
      }
    }
    for (const e of [even, ...uneven, one]) await e.dispose();
  });
});
