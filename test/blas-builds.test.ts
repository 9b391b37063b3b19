// The three Debian builds of OpenBLAS (issue 21, item 5): each detected (openblas_get_parallel),
// attention tiles only for the pthread build (concurrent single-threaded calls are safe there),
// the library's thread count set to the engine's (no oversubscription) and put back after the
// tiles, results equal to the reference backend; and the self-test on the engine's own path
// (shared-memory views, every worker's tile binding) catching libraries that the old check on
// separate arrays passed. .ci/run installs all three builds; elsewhere a missing one is skipped
// with the reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEngine, type Engine } from '../src/node.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadBlas } from '../src/platform/node/blas.js';
import { attentionAgainstReference } from '../src/kernels/wasm/self-test.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';

const BUILDS = ['pthread', 'openmp', 'serial'] as const;
const libraryOf = (build: string): string | undefined =>
  ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'].map((d) => `${d}/openblas-${build}/libopenblas.so.0`).find(existsSync);

/** A matmul and a causal attention forward/backward through `e`, each checked against the reference kernels. */
function checkAgainstReference(e: Engine, seed: number): void {
  const rng = new Rng(seed), filled = (n: number): Float32Array => { const v = e.allocF32(n, 'test'); rng.fillUniform(v, 1); return v; };
  const mark = e.mark();
  try {
    for (const d of [{ m: 67, n: 83, k: 45 }, { m: 45, n: 129, k: 70, transA: true, accumulate: true }, { m: 96, n: 33, k: 101, transB: true }]) {
      const a = filled(d.m * d.k), b = filled(d.k * d.n), c = filled(d.m * d.n), want = Float32Array.from(c);
      e.kernels.matmul(d, a, b, c);
      referenceKernels.matmul(d, Float32Array.from(a), Float32Array.from(b), want);
      assertClose(c, want, `matmul ${JSON.stringify(d)}`, 1e-4, 1e-4);
    }
    const r = attentionAgainstReference(e, 150, 3, 40, filled);
    for (const name of ['out', 'dq', 'dk', 'dv'] as const) assertClose(r[name][0], r[name][1], `attention ${name}`, 1e-4, 1e-4);
  } finally {
    e.release(mark);
  }
}

describe('the Debian OpenBLAS builds', () => {
  for (const build of BUILDS) {
    const path = libraryOf(build);
    const skip = path ? false : `libopenblas0-${build} is not installed (.ci/run installs it; apt-get install libopenblas0-${build})`;
    if (skip && process.env.CI) throw new Error(`CI: ${skip}`);
    it(`${build}: detected, tiles ${build === 'pthread' ? 'on' : 'off'}, thread count set, results equal to the reference`, { skip }, async () => {
      for (const threads of [1, 2]) {
        const lib = loadBlas(path!, threads).blas!;
        assert.equal(lib.build, build);
        // No oversubscription: the library runs the engine's thread count (a serial build runs one).
        assert.equal(lib.threadsNow(), build === 'serial' ? 1 : threads, `library threads with an engine of ${threads}`);
        const e = await createEngine({ threads, blas: path! });
        try {
          const runs = build === 'serial' ? 1 : threads;
          assert.match(e.info.blas!, new RegExp(`${build} build, ${runs} threads?${build === 'pthread' ? ', attention tiles' : '$'}`));
          assert.equal(e.info.blasAttentionTiles, build === 'pthread');
          if (build !== 'pthread') assert.ok(e.info.notes.some((x) => x.startsWith(`attention tile products stay in wasm: OpenBLAS's ${build === 'openmp' ? 'OpenMP' : 'serial'} build`)));
          checkAgainstReference(e, threads);
          assert.equal(lib.threadsNow(), build === 'serial' ? 1 : threads, 'the thread count is back after the attention\'s single-threaded tiles');
        } finally {
          await e.dispose();
        }
      }
    });
  }
});

describe('the BLAS self-test runs on the engine\'s own path', () => {
  const cc = (() => { try { execFileSync('cc', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
  const skip = cc ? false : 'no C compiler (cc) to build the faulty test libraries (.ci/run installs gcc)';
  /**
   * A cblas_sgemm that is right on separate arrays with C's row stride equal to its width (the old
   * self-test's case) but wrong in one way the engine's path meets: MODE 1 ignores ldc; MODE 2 is
   * wrong on every thread but the first that called it (a per-thread binding that computes garbage).
   */
  const faulty = (mode: number): string => {
    const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-faulty-blas-')), src = join(dir, 'faulty.c'), lib = join(dir, `libfaulty${mode}.so`);
    writeFileSync(src, `#include <pthread.h>
static pthread_t first; static int seen, threads = 1;
int openblas_get_parallel(void) { return 1; }
void openblas_set_num_threads(int n) { threads = n; }
int openblas_get_num_threads(void) { return threads; }
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  if (!seen) { first = pthread_self(); seen = 1; }
  int stride = ${mode === 1 ? 'n' : 'ldc'};
  for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
    float s = 0;
    for (int p = 0; p < k; p++) s += (ta == 112 ? a[p * lda + i] : a[i * lda + p]) * (tb == 112 ? b[j * ldb + p] : b[p * ldb + j]);
    float *out = &c[i * stride + j];
    *out = alpha * s + (beta == 0 ? 0 : beta * *out);
  }
  ${mode === 2 ? 'if (!pthread_equal(first, pthread_self())) c[0] += 1;' : ''}
}
`);
    execFileSync('cc', ['-O1', '-shared', '-fPIC', '-o', lib, src, '-lpthread']);
    return lib;
  };

  it('a library right only when ldc equals the width passes the check on separate arrays but is refused on shared memory', { skip }, async () => {
    const lib = faulty(1);
    assert.ok(loadBlas(lib, 2).blas, 'the check on separate arrays passes it');
    await assert.rejects(createEngine({ threads: 2, blas: lib }), /requested BLAS library .*libfaulty1\.so cannot be used: a 40×48·48×56 product \(B transposed\) on the engine's shared memory gave/);
  });

  it('a library wrong on the pool\'s threads keeps the products on the calling thread but takes the tiles back to wasm', { skip }, async () => {
    const e = await createEngine({ threads: 2, blas: faulty(2) });
    try {
      assert.equal(e.info.blasAttentionTiles, false);
      assert.ok(e.info.blas !== null, 'the large products still use it');
      assert.ok(e.info.notes.some((n) => /attention tile products stay in wasm: a 2-head attention's tile products \(forward\) on the engine's shared memory gave/.test(n)), e.info.notes.join('; '));
      checkAgainstReference(e, 3);
    } finally {
      await e.dispose();
    }
  });
});
