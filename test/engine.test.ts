import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, kernelFunctions, resolveThreads } from '../src/node.js';

describe('engine', () => {
  it('reports its backend, SIMD build and threads', async () => {
    const e = await createEngine({ threads: 2 });
    try {
      assert.equal(e.info.backend, 'wasm');
      assert.ok(['relaxed-simd', 'simd128'].includes(e.info.simd));
      assert.equal(e.info.threads, 2);
    } finally {
      await e.dispose();
    }
  });
  it('can be forced to the SIMD128 build and to the reference backend', async () => {
    const s = await createEngine({ threads: 1, simd: 'simd128' });
    assert.equal(s.info.simd, 'simd128');
    await s.dispose();
    const r = await createEngine({ backend: 'reference' });
    assert.equal(r.info.backend, 'reference');
    assert.equal(r.allocF32(3).length, 3);
  });
  it('resolves threads from the option, then PERCEIVER_THREADS, with clear errors', () => {
    assert.equal(resolveThreads(3, '7'), 3);
    assert.equal(resolveThreads(undefined, '7'), 7);
    assert.ok(resolveThreads(undefined, undefined) >= 1);
    assert.throws(() => resolveThreads(0, undefined), /threads must be an integer in \[1, 64\], got 0/);
    assert.throws(() => resolveThreads(undefined, 'two'), /PERCEIVER_THREADS must be an integer in \[1, 64\], got 'two'/);
  });
  it('allocates zeroed memory, releases to a mark, and refuses more than 4 GiB with a clear message', async () => {
    const e = await createEngine({ threads: 1 });
    try {
      const mark = e.mark();
      const a = e.allocF32(1000);
      a.fill(5);
      e.release(mark);
      const b = e.allocF32(1000);
      assert.equal(b.byteOffset, a.byteOffset);
      assert.ok(b.every((x) => x === 0));
      // A block that starts in released memory and ends in pages the memory grows for: zero throughout
      // (the released part is cleared; the grown pages are zero already and are not written).
      const mark2 = e.mark();
      const dirty = e.allocF32(1000);
      dirty.fill(7);
      e.release(mark2);
      const big = e.allocF32(16 * 2 ** 20);
      assert.equal(big.byteOffset, dirty.byteOffset);
      assert.ok(big.every((x) => x === 0));
      e.release(mark2);
      assert.throws(() => e.allocF32(1.1 * 2 ** 30 | 0, 'latent activations'),
        /alloc: latent activations of 4505\.6 MiB does not fit: the engine's WebAssembly memory is capped at 4096 MiB/);
    } finally {
      await e.dispose();
    }
  });
  it('grows memory while keeping earlier views valid, across threads', async () => {
    const e = await createEngine({ threads: 2, minParallelWork: 0 });
    try {
      const x = e.allocF32(8);
      x.fill(2);
      const big = e.allocF32(20 * 2 ** 20);
      big[big.length - 1] = 3;
      const out = e.allocF32(8);
      e.kernels.add(x, x, out);
      assert.deepEqual(Array.from(out), new Array(8).fill(4));
      assert.equal(e.kernels.sumSquares(big), 9);
    } finally {
      await e.dispose();
    }
  });
  it('views stay usable after the memory grows, with two engines in one process (each view registered as it is made)', async () => {
    const engines = [await createEngine({ threads: 2, blas: 'off' }), await createEngine({ threads: 2, blas: 'off' })];
    try {
      // Allocations interleaved across both engines, each growing its memory, then every view used.
      const held: [typeof engines[0], Float32Array, Float32Array, Float32Array, number][] = [];
      for (const size of [64, 256, 1024, 512, 2048]) {
        for (const e of engines) held.push([e, e.allocF32(size * 64), e.allocF32(64 * size), e.allocF32(size * size), size]);
      }
      for (const [e, a, b, c, size] of held) {
        a.fill(1); b.fill(2);
        e.kernels.matmul({ m: size, n: size, k: 64 }, a, b, c);
        assert.equal(c[size * size - 1], 128);
      }
    } finally {
      for (const e of engines) await e.dispose();
    }
  });

  it('a disposed engine refuses work', async () => {
    const e = await createEngine({ threads: 2, minParallelWork: 0 });
    const x = e.allocF32(4);
    await e.dispose();
    assert.throws(() => e.kernels.scale(x, 2), /disposed/);
  });
});

describe('kernel module constants', () => {
  it('a module whose scratch or decode block differs from what the engine assumes is refused, naming the constant', () => {
    const module = (decodeBlock: number | undefined) => ({
      exports: { SCRATCH_BYTES: { value: 1 << 20 }, ...(decodeBlock === undefined ? {} : { DECODE_BLOCK: { value: decodeBlock } }) },
    }) as unknown as WebAssembly.Instance;
    assert.throws(() => kernelFunctions(module(32)), /kernel module's DECODE_BLOCK is 32, the engine expects 64: rebuild with npm run build:wasm/);
    assert.throws(() => kernelFunctions(module(undefined)), /DECODE_BLOCK is missing/);
    assert.throws(() => kernelFunctions(module(64)), /lacks export 'matmul'/, 'with the constants right, the exports are checked next');
  });
});

describe('worker pool failures', () => {
  /** A pool of `threads` over a fresh shared memory of `pages` 64 KiB pages, with the SIMD kernel module and no BLAS. */
  const startPool = async (threads: number, pages: number) => {
    const { readFileSync } = await import('node:fs');
    const { WorkerPool } = await import('../src/platform/node/pool.js');
    const { kernelFunctions } = await import('../src/kernels/wasm/exports.js');
    const { noTileGemm } = await import('../src/platform/node/blas.js');
    const module = new WebAssembly.Module(readFileSync(new URL('../../build/kernels-simd.wasm', import.meta.url)));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
    const local = kernelFunctions(new WebAssembly.Instance(module, { env: { memory, tileGemm: noTileGemm } }));
    return { memory, pool: await WorkerPool.start(threads, module, memory, local, null) };
  };

  it('lastWaitMs: a number after a job shared with the workers, null after one run on the calling thread alone (one thread, or solo)', async () => {
    const { memory, pool } = await startPool(2, 64);
    try {
      const x = new Float32Array(memory.buffer, 65536, 1 << 12);
      pool.run('scale', [65536, 1, 1 << 12], 2);
      assert.equal(typeof pool.lastWaitMs, 'number');
      assert.ok(pool.lastWaitMs! >= 0);
      pool.run('scale', [65536, 1, 4], 1);
      assert.equal(pool.lastWaitMs, null, 'one thread: nothing dispatched');
      // Three late jobs in a row: solo for the next 8 ms (tried again if this thread was descheduled past them).
      let solo = false;
      for (let attempt = 0; attempt < 5 && !solo; attempt++) {
        pool.run('scale', [65536, 1, 1 << 12], 2);
        for (let i = 0; i < 3; i++) pool.policy.done(true);
        x.fill(1);
        pool.run('scale', [65536, 2, 1 << 12], 2);
        solo = pool.policy.mode === 'solo' && pool.stats().soloJobs > 0;
      }
      assert.ok(solo, 'the pool went solo');
      assert.equal(pool.lastWaitMs, null, 'solo: the calling thread ran every share');
      assert.ok(x.every((v) => v === 2), 'and the job was done');
    } finally {
      await pool.close();
    }
  });

  it('a trap in a worker thread becomes an error on the caller, and the pool keeps working', async () => {
    const { memory, pool } = await startPool(2, 64);
    try {
      // 8 MiB of floats in a 4 MiB memory: thread 0's half is in bounds, the worker's half is not. (Tried
      // until the worker ran its share: the calling thread takes a share not claimed in time.)
      let text = '';
      for (let attempt = 0; attempt < 50 && !/worker thread/.test(text); attempt++) {
        try { pool.run('scale', [0, 2, 2 * 2 ** 20], 2); } catch (e) { text = (e as Error).message; }
      }
      assert.match(text, /kernel scale failed in a worker thread: worker 1: .*out of bounds/);
      const x = new Float32Array(memory.buffer, 65536, 4);
      x.fill(1);
      pool.run('scale', [65536, 3, 4], 2);
      assert.deepEqual(Array.from(x), [3, 3, 3, 3]);
    } finally {
      await pool.close();
    }
  });

  it('several workers failing at once: each message whole, none garbled or left for a later job; a worker that stops breaks the pool', async () => {
    // 64 MiB: the calling thread's third of 3·2^24 floats fills it exactly (its share takes a while,
    // so both workers claim theirs); the workers' thirds lie past its end and trap.
    const { memory, pool } = await startPool(3, 1024);
    const message = (run: () => void): string => { try { run(); return ''; } catch (e) { return (e as Error).message; } };
    try {
      // Who runs a worker's share depends on scheduling (the calling thread takes a share its worker has
      // not claimed in time), so the job is tried until both workers ran theirs.
      let both = '';
      for (let attempt = 0; attempt < 50 && !/in 2 worker threads/.test(both); attempt++) both = message(() => pool.run('scale', [0, 1, 3 * 2 ** 24], 3));
      assert.match(both, /^kernel scale failed in 2 worker threads: worker \d: [^;]*out of bounds[^;]*; worker \d: [^;]*out of bounds[^;]*$/);
      assert.deepEqual(both.match(/worker (\d):/g)!.sort(), ['worker 1:', 'worker 2:']);
      // Every thread out of bounds: the calling thread's own error is thrown, and the workers' messages are
      // not left behind for a later job (their regions are cleared).
      const regions = (pool as unknown as { errorText: Uint8Array }).errorText;
      for (let attempt = 0; attempt < 10; attempt++) {
        assert.match(message(() => pool.run('scale', [64 * 2 ** 20, 1, 3 * 2 ** 10], 3)), /out of bounds/);
        assert.ok(regions.every((b) => b === 0), 'no worker message left over');
      }
      const x = new Float32Array(memory.buffer, 65536, 9);
      x.fill(1);
      pool.run('scale', [65536, 3, 9], 3);
      assert.deepEqual(Array.from(x), new Array(9).fill(3), 'the pool keeps working after kernel errors');
      // A worker that stops (here terminated from outside, between jobs): the next job is refused, naming it.
      pool.terminateWorkerLater(2, 0);
      await new Promise((r) => setTimeout(r, 200));
      assert.throws(() => pool.run('scale', [65536, 3, 9], 3), /^Error: the engine cannot run kernels: kernel worker 2 stopped \(exit code 1\); dispose it and create a new one$/m);
    } finally {
      await pool.close();
    }
  });

  it('a worker killed in the middle of its share: the waiting thread throws instead of waiting forever', { timeout: 120_000 }, async () => {
    // A product whose whole work is the worker's: 12×8 output (one column panel, which the split
    // gives to thread 1), k 4096, repeated over a batch of 100,000 broadcast matrices (seconds).
    // The calling thread has nothing to do and sleeps in the barrier; the worker is terminated
    // 300 ms in. The supervisor must wake the calling thread: without the wake-up it would sleep
    // out its 1 s timeout first (and without the supervisor, forever). On a busy machine the worker
    // may not claim its share in time (the calling thread then runs it, and the kill finds the
    // worker idle): such a try starts over with a new pool.
    // matmul(transA, transB, m, n, k, A, lda, B, ldb, C, ldc, alpha, accumulate, batch, strideA, strideB, strideC, scratch).
    const at = 65536, k = 4096, a = at, b = a + 12 * k * 4, c = b + k * 8 * 4, scratch = c + 12 * 8 * 4 + 64;
    const dims = [0, 0, 12, 8, k, a, k, b, 8, c, 8, 1, 0, 100_000, 0, 0, 0, scratch];
    let message = '', seconds = 0;
    for (let attempt = 0; attempt < 5 && message === ''; attempt++) {
      const { pool } = await startPool(2, 1024);
      try {
        for (let i = 0; i < 20; i++) pool.run('scale', [65536, 1, 1 << 16], 2); // the worker awake
        pool.terminateWorkerLater(1, 300);
        const started = performance.now();
        try { pool.run('matmul', dims, 2); } catch (e) { message = (e as Error).message; }
        seconds = (performance.now() - started) / 1000;
        if (message !== '') assert.throws(() => pool.run('scale', [65536, 3, 9], 2), /the engine cannot run kernels: kernel worker 1 stopped/);
      } finally {
        await pool.close();
      }
    }
    assert.match(message, /^kernel matmul cannot finish: kernel worker 1 stopped \(exit code 1\) during it; the engine cannot run kernels any more/);
    assert.ok(seconds > 0.25 && seconds < 0.9, `the calling thread was woken when the worker stopped: ${seconds.toFixed(3)} s`);
  });
});
