import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels as ref, type AttentionDims, type AttentionMask, type Engine } from '../src/node.js';
import { assertClose } from './helpers/compare.js';
import { blasEngines, label, randomPair, Rng, wasmEngines } from './helpers/engines.js';
import { gradcheck, weightedSum } from './helpers/gradcheck.js';

const engines = await wasmEngines(), native = await blasEngines();

type MaskKind = 'none' | 'causal' | 'cross' | 'padded-cross';

/** Positions/validity for a mask kind, in engine memory. Cross: queries are the last Tq of Tk inputs. */
function makeMask(e: Engine, rng: Rng, kind: MaskKind, B: number, Tq: number, Tk: number): AttentionMask {
  if (kind === 'none') return {};
  const qp = e.allocI32(B * Tq), kp = e.allocI32(B * Tk);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Tk; j++) kp[b * Tk + j] = j + 1;
    for (let i = 0; i < Tq; i++) qp[b * Tq + i] = kind === 'causal' ? i + 1 : Tk - Tq + i + 1;
  }
  if (kind !== 'padded-cross') return { causal: { queryPositions: qp, keyPositions: kp } };
  // Right-padded rows: row b has `len` valid inputs; latents sit on the last Tq valid positions,
  // and when len < Tq the leading latents see no key at all (fully masked rows).
  const valid = e.allocU8(B * Tk);
  for (let b = 0; b < B; b++) {
    const len = b === 0 ? Tk : 1 + rng.int(Tk);
    for (let j = 0; j < Tk; j++) valid[b * Tk + j] = j < len ? 1 : 0;
    for (let i = 0; i < Tq; i++) qp[b * Tq + i] = len - Tq + i + 1;
  }
  return { causal: { queryPositions: qp, keyPositions: kp }, keyValid: valid };
}

function runBoth(e: Engine, rng: Rng, d: AttentionDims, kind: MaskKind, scale = 1): void {
  const { batch: B, queries: Tq, keys: Tk, heads: H, headDim: D } = d;
  const mark = e.mark();
  const mask = makeMask(e, rng, kind, B, Tq, Tk);
  const q = randomPair(e, rng, B * Tq * (d.ldq ?? H * D), scale), k = randomPair(e, rng, B * Tk * (d.ldk ?? H * D), scale);
  const v = randomPair(e, rng, B * Tk * (d.ldv ?? H * D));
  const o = randomPair(e, rng, B * Tq * (d.ldo ?? H * D)), lse = randomPair(e, rng, B * H * Tq);
  e.kernels.attentionForward(d, mask, q.w, k.w, v.w, o.w, lse.w);
  ref.attentionForward(d, mask, q.r, k.r, v.r, o.r, lse.r);
  const what = `${kind} ${JSON.stringify(d)}`;
  assertClose(o.w, o.r, `out ${what}`, 2e-5, 1e-4);
  assertClose(lse.w, lse.r, `lse ${what}`, 2e-5, 1e-4);
  const dO = randomPair(e, rng, o.w.length);
  const dq = randomPair(e, rng, q.w.length), dk = randomPair(e, rng, k.w.length), dv = randomPair(e, rng, v.w.length);
  e.kernels.attentionBackward(d, mask, q.w, k.w, v.w, o.w, lse.w, dO.w, dq.w, dk.w, dv.w);
  ref.attentionBackward(d, mask, q.r, k.r, v.r, o.r, lse.r, dO.r, dq.r, dk.r, dv.r);
  assertClose(dq.w, dq.r, `dq ${what}`, 1e-4, 2e-4);
  assertClose(dk.w, dk.r, `dk ${what}`, 1e-4, 2e-4);
  assertClose(dv.w, dv.r, `dv ${what}`, 1e-4, 2e-4);
  e.release(mark);
}

describe('attention: fused kernel, tile products in wasm and in the native BLAS, vs reference (forward and backward)', () => {
  const lengths = [1, 3, 17, 64, 65, 130];
  const dims = [1, 3, 8, 16, 64];
  // The BLAS engines compute the tile products with cblas_sgemm from every pool thread.
  for (const e of [...engines, ...native]) {
    for (const kind of ['none', 'causal', 'cross', 'padded-cross'] as const) {
      it(`${kind}, random shapes, ${label(e)}`, () => {
        const rng = new Rng(kind.length * 31 + e.info.threads);
        for (let t = 0; t < 6; t++) {
          const Tk = lengths[rng.int(lengths.length)]!;
          const Tq = kind === 'causal' ? Tk : kind === 'none' ? lengths[rng.int(lengths.length)]! : 1 + rng.int(Tk);
          runBoth(e, rng, { batch: 1 + rng.int(2), queries: Tq, keys: Tk, heads: 1 + rng.int(3), headDim: dims[rng.int(dims.length)]! }, kind);
        }
      });
    }
    it(`strided q/k/v read in place from a fused projection, ${label(e)}`, () => {
      const rng = new Rng(5);
      const B = 2, T = 37, H = 2, D = 12, ld = 3 * H * D;
      const qkv = randomPair(e, rng, B * T * ld), o = e.allocF32(B * T * H * D), lse = e.allocF32(B * H * T);
      const qp = e.allocI32(B * T);
      for (let i = 0; i < B * T; i++) qp[i] = (i % T) + 1;
      const mask = { causal: { queryPositions: qp, keyPositions: qp } };
      const d = { batch: B, queries: T, keys: T, heads: H, headDim: D, ldq: ld, ldk: ld, ldv: ld };
      const view = (a: Float32Array, part: number): Float32Array => a.subarray(part * H * D);
      e.kernels.attentionForward(d, mask, view(qkv.w, 0), view(qkv.w, 1), view(qkv.w, 2), o, lse);
      const oRef = new Float32Array(o.length), lseRef = new Float32Array(lse.length);
      ref.attentionForward(d, mask, view(qkv.r, 0), view(qkv.r, 1), view(qkv.r, 2), oRef, lseRef);
      assertClose(o, oRef, 'strided out');
      const dO = randomPair(e, rng, o.length), dqkv = e.allocF32(qkv.w.length), dqkvRef = new Float32Array(qkv.w.length);
      e.kernels.attentionBackward(d, mask, view(qkv.w, 0), view(qkv.w, 1), view(qkv.w, 2), o, lse, dO.w,
        view(dqkv, 0), view(dqkv, 1), view(dqkv, 2));
      ref.attentionBackward(d, mask, view(qkv.r, 0), view(qkv.r, 1), view(qkv.r, 2), oRef, lseRef, dO.r,
        view(dqkvRef, 0), view(dqkvRef, 1), view(dqkvRef, 2));
      assertClose(dqkv, dqkvRef, 'strided dqkv', 1e-4, 2e-4);
    });
    it(`very large logits stay finite and match, ${label(e)}`, () => {
      runBoth(e, new Rng(9), { batch: 1, queries: 33, keys: 70, heads: 2, headDim: 16 }, 'causal', 30);
    });
  }
});

describe('attention tile products in the native BLAS', () => {
  const skip = native.length === 0 ? 'no BLAS library here' : false;
  it('reach buffers the memory grew to (the BLAS gets addresses from one base taken at start-up)', { skip }, async () => {
    const { createEngine } = await import('../src/node.js');
    const e = await createEngine({ backend: 'wasm', threads: 2, blas: 'auto', minParallelWork: 0 });
    try {
      assert.match(e.info.blas ?? '', /attention tiles$/);
      const before = e.bytesInUse();
      e.allocF32(24 * 2 ** 20, 'forces the memory to grow');
      assert.ok(e.bytesInUse() > before + 90 * 2 ** 20);
      runBoth(e, new Rng(12), { batch: 2, queries: 65, keys: 130, heads: 2, headDim: 64 }, 'cross');
      runBoth(e, new Rng(13), { batch: 1, queries: 70, keys: 70, heads: 3, headDim: 17 }, 'causal');
    } finally {
      await e.dispose();
    }
  });
  it('addresses from 2 GiB on (negative as wasm32 passes them to JavaScript) reach the right memory',
    { skip: skip || (process.platform !== 'linux' ? 'the test names the Linux library' : false) }, async () => {
    const { bindTileGemm } = await import('../src/platform/node/blas.js');
    // 2 GiB + 1 MiB, reserved and zero-filled lazily: only the pages written below are touched.
    const memory = new WebAssembly.Memory({ initial: 32768 + 16, maximum: 65536, shared: true });
    const gemm = bindTileGemm('libopenblas.so.0', memory);
    const at = 2 ** 31 + 4096, a = new Float32Array(memory.buffer, at, 6), b = new Float32Array(memory.buffer, at + 64, 6);
    const c = new Float32Array(memory.buffer, at + 128, 4);
    a.set([1, 2, 3, 4, 5, 6]); b.set([1, 0, 0, 1, 1, 1]); c.fill(100);
    // C (2×2) = A (2×3) · B (3×2) + C, row-major, with the offsets as signed 32-bit integers.
    gemm(0, 0, 2, 2, 3, 1, at | 0, 3, (at + 64) | 0, 2, 1, (at + 128) | 0, 2);
    assert.deepEqual(Array.from(c), [104, 105, 110, 111]);
  });
  it('blasAttentionTiles: false keeps them in wasm (same results); a non-boolean is refused', { skip }, async () => {
    const { createEngine } = await import('../src/node.js');
    const e = await createEngine({ backend: 'wasm', threads: 2, blas: 'auto', blasAttentionTiles: false, minParallelWork: 0 });
    try {
      assert.ok(e.info.blas !== null && !e.info.blas.includes('attention tiles'), e.info.blas ?? 'no BLAS');
      runBoth(e, new Rng(14), { batch: 2, queries: 33, keys: 97, heads: 2, headDim: 8 }, 'padded-cross');
    } finally {
      await e.dispose();
    }
    await assert.rejects(createEngine({ backend: 'wasm', threads: 1, blasAttentionTiles: 'yes' as unknown as boolean }),
      /blasAttentionTiles must be true or false, got yes/);
  });
});

describe('single-query attention (batch 1, one query: the decoding path) vs reference', () => {
  for (const e of engines) {
    it(`all mask kinds, odd sizes, ${label(e)}`, () => {
      const rng = new Rng(77 + e.info.threads);
      for (const kind of ['none', 'cross', 'padded-cross'] as const) {
        for (const Tk of [1, 5, 64, 130, 1000]) {
          // D = 23 and 36: the kernel's 16-float passes, then 4 at a time, then single floats.
          for (const [H, D] of [[1, 3], [3, 16], [2, 23], [5, 36], [8, 64]] as const) {
            const d = { batch: 1, queries: 1, keys: Tk, heads: H, headDim: D };
            const mark = e.mark();
            const mask = makeMask(e, rng, kind, 1, 1, Tk);
            const q = randomPair(e, rng, H * D), k = randomPair(e, rng, Tk * H * D), v = randomPair(e, rng, Tk * H * D);
            const o = randomPair(e, rng, H * D), lse = randomPair(e, rng, H);
            e.kernels.attentionForward(d, mask, q.w, k.w, v.w, o.w, lse.w);
            ref.attentionForward(d, mask, q.r, k.r, v.r, o.r, lse.r);
            assertClose(o.w, o.r, `decode out ${kind} Tk${Tk} H${H} D${D}`, 2e-5, 1e-4);
            assertClose(lse.w, lse.r, `decode lse ${kind} Tk${Tk} H${H} D${D}`, 2e-5, 1e-4);
            e.release(mark);
          }
        }
      }
    });
  }
  for (const e of engines) {
    it(`keys/values interleaved in one cache ([k | v] rows, as decoding keeps them), causal, the first blocks masked, ${label(e)}`, () => {
      const rng = new Rng(5), H = 4, D = 12, HD = H * D, Tk = 203;
      const d = { batch: 1, queries: 1, keys: Tk, heads: H, headDim: D, ldk: 2 * HD, ldv: 2 * HD };
      const qp = e.allocI32(1), kp = e.allocI32(Tk), valid = e.allocU8(Tk);
      qp[0] = 190;
      for (let j = 0; j < Tk; j++) { kp[j] = j + 1; valid[j] = j < 70 || j === 100 ? 0 : 1; }
      const mask = { causal: { queryPositions: qp, keyPositions: kp }, keyValid: valid };
      const q = randomPair(e, rng, HD, 2), kv = randomPair(e, rng, Tk * 2 * HD, 2), o = randomPair(e, rng, HD), lse = randomPair(e, rng, H);
      e.kernels.attentionForward(d, mask, q.w, kv.w, kv.w.subarray(HD), o.w, lse.w);
      ref.attentionForward(d, mask, q.r, kv.r, kv.r.subarray(HD), o.r, lse.r);
      assertClose(o.w, o.r, 'interleaved out', 2e-5, 1e-4);
      assertClose(lse.w, lse.r, 'interleaved lse', 2e-5, 1e-4);
      // NaN in one key of a later block (head 1's slice) and in head 3's query: those heads are NaN, as in the reference.
      kv.w[150 * 2 * HD + D + 3] = NaN; kv.r[150 * 2 * HD + D + 3] = NaN;
      q.w[3 * D] = NaN; q.r[3 * D] = NaN;
      e.kernels.attentionForward(d, mask, q.w, kv.w, kv.w.subarray(HD), o.w, lse.w);
      ref.attentionForward(d, mask, q.r, kv.r, kv.r.subarray(HD), o.r, lse.r);
      assert.ok(o.r.subarray(D, 2 * D).every(Number.isNaN) && o.r.subarray(3 * D).every(Number.isNaN), 'the reference propagates NaN');
      assertClose(o.w, o.r, 'NaN heads', 2e-5, 1e-4);
      assertClose(lse.w, lse.r, 'NaN lse', 2e-5, 1e-4);
    });
  }

  it('a query that sees no key gets zeros and lse = -inf', () => {
    const e = engines[1]!;
    const qp = e.allocI32(1), kp = e.allocI32(70);
    for (let j = 0; j < 70; j++) kp[j] = j + 5;
    qp[0] = 3;
    const q = e.allocF32(8), k = e.allocF32(70 * 8), v = e.allocF32(70 * 8), o = e.allocF32(8), lse = e.allocF32(2);
    new Rng(1).fillUniform(k);
    o.fill(7);
    e.kernels.attentionForward({ batch: 1, queries: 1, keys: 70, heads: 2, headDim: 4 }, { causal: { queryPositions: qp, keyPositions: kp } }, q, k, v, o, lse);
    assert.deepEqual(Array.from(o), new Array(8).fill(0));
    assert.deepEqual(Array.from(lse), [-Infinity, -Infinity]);
  });
});

describe('fused attention: edge cases', () => {
  const e = engines[1]!;
  it('a fully masked query row gives zeros, lse = -inf and no gradient', () => {
    const d = { batch: 1, queries: 2, keys: 3, heads: 1, headDim: 4 };
    const rng = new Rng(3);
    const q = randomPair(e, rng, 8).w, k = randomPair(e, rng, 12).w, v = randomPair(e, rng, 12).w;
    const o = e.allocF32(8), lse = e.allocF32(2);
    const valid = e.allocU8(3);
    const qp = e.allocI32(2), kp = e.allocI32(3);
    qp.set([0, 3]); kp.set([1, 2, 3]); valid.set([1, 1, 1]);
    const mask = { causal: { queryPositions: qp, keyPositions: kp }, keyValid: valid };
    e.kernels.attentionForward(d, mask, q, k, v, o, lse);
    assert.deepEqual(Array.from(o.subarray(0, 4)), [0, 0, 0, 0]);
    assert.equal(lse[0], -Infinity);
    assert.ok(Number.isFinite(lse[1]!));
    const dO = randomPair(e, rng, 8).w, dq = e.allocF32(8), dk = e.allocF32(12), dv = e.allocF32(12);
    e.kernels.attentionBackward(d, mask, q, k, v, o, lse, dO, dq, dk, dv);
    assert.deepEqual(Array.from(dq.subarray(0, 4)), [0, 0, 0, 0]);
    for (const x of [...dq, ...dk, ...dv]) assert.ok(Number.isFinite(x));
  });
  it('NaN in one query row propagates to that row only', () => {
    const d = { batch: 1, queries: 2, keys: 3, heads: 1, headDim: 4 };
    const rng = new Rng(4);
    const q = randomPair(e, rng, 8).w, k = randomPair(e, rng, 12).w, v = randomPair(e, rng, 12).w;
    q[5] = NaN;
    const o = e.allocF32(8), lse = e.allocF32(2);
    e.kernels.attentionForward(d, {}, q, k, v, o, lse);
    assert.ok(o.subarray(0, 4).every(Number.isFinite));
    assert.ok(o.subarray(4, 8).every(Number.isNaN));
  });
  it('rejects zero-length inputs, short buffers and oversized heads', () => {
    const b = e.allocF32(64), l = e.allocF32(8);
    assert.throws(() => e.kernels.attentionForward({ batch: 1, queries: 0, keys: 2, heads: 1, headDim: 4 }, {}, b, b, b, b, l),
      /attentionForward: queries must be a positive integer, got 0/);
    assert.throws(() => e.kernels.attentionForward({ batch: 1, queries: 20, keys: 2, heads: 1, headDim: 4 }, {}, b, b, b, b, l),
      /attentionForward: q has 64 elements but needs at least 80/);
    assert.throws(() => ref.attentionForward({ batch: 1, queries: 1, keys: 1, heads: 1, headDim: 300 }, {}, b, b, b, b, l),
      /headDim=300 exceeds the supported maximum 256/);
  });
});

describe('reference attention backward vs float64 finite differences', () => {
  for (const kind of ['none', 'causal', 'padded-cross'] as const) {
    it(kind, () => {
      const rng = new Rng(11);
      const B = 2, Tq = 3, Tk = 5, H = 2, D = 3;
      const d = { batch: B, queries: kind === 'causal' ? Tk : Tq, keys: Tk, heads: H, headDim: D };
      const nq = B * d.queries * H * D, nk = B * Tk * H * D;
      const fake = { allocI32: (n: number) => new Int32Array(n), allocU8: (n: number) => new Uint8Array(n) } as unknown as Engine;
      const mask = makeMask(fake, rng, kind, B, d.queries, Tk);
      const q = rng.fillUniform(new Float64Array(nq)) as Float64Array, k = rng.fillUniform(new Float64Array(nk)) as Float64Array;
      const v = rng.fillUniform(new Float64Array(nk)) as Float64Array, w = rng.fillUniform(new Float64Array(nq)) as Float64Array;
      const o = new Float64Array(nq), lse = new Float64Array(B * H * d.queries);
      const loss = (): number => { ref.attentionForward(d, mask, q, k, v, o, lse); return weightedSum(o, w); };
      loss();
      const dq = new Float64Array(nq), dk = new Float64Array(nk), dv = new Float64Array(nk);
      ref.attentionBackward(d, mask, q, k, v, o, lse, w, dq, dk, dv);
      gradcheck('dq', loss, q, dq);
      gradcheck('dk', loss, k, dk);
      gradcheck('dv', loss, v, dv);
    });
  }
});

describe('attention over key chunks (merge, and the backward against the merged lse)', () => {
  /** Rows [j0, j1) of each batch's keys, copied to [B·(j1 − j0), width]. */
  function chunkRows(x: Float32Array, B: number, Tk: number, width: number, j0: number, j1: number, out: Float32Array): void {
    for (let b = 0; b < B; b++) out.set(x.subarray((b * Tk + j0) * width, (b * Tk + j1) * width), b * (j1 - j0) * width);
  }
  for (const e of [...engines, ...native]) {
    it(`chunked = whole, padded cross mask, odd chunk sizes, ${label(e)}`, () => {
      const rng = new Rng(77 + e.info.threads);
      const B = 2, Tq = 9, Tk = 41, H = 2, D = 8, HD = H * D;
      const mark = e.mark();
      const mask = makeMask(e, rng, 'padded-cross', B, Tq, Tk);
      const q = randomPair(e, rng, B * Tq * HD), k = randomPair(e, rng, B * Tk * HD), v = randomPair(e, rng, B * Tk * HD);
      const full: AttentionDims = { batch: B, queries: Tq, keys: Tk, heads: H, headDim: D };
      const o = e.allocF32(B * Tq * HD), lse = e.allocF32(B * H * Tq);
      e.kernels.attentionForward(full, mask, q.w, k.w, v.w, o, lse);
      const dO = randomPair(e, rng, o.length);
      const dq = e.allocF32(q.w.length), dk = e.allocF32(k.w.length), dv = e.allocF32(v.w.length);
      e.kernels.attentionBackward(full, mask, q.w, k.w, v.w, o, lse, dO.w, dq, dk, dv);
      for (const kernels of [e.kernels, ref]) {
        const chunks = [[0, 13], [13, 14], [14, 30], [30, 41]] as const;
        const oc = e.allocF32(o.length), lc = e.allocF32(lse.length).fill(-Infinity);
        const op = e.allocF32(o.length), lp = e.allocF32(lse.length);
        const kc = e.allocF32(k.w.length), vc = e.allocF32(v.w.length), kpos = e.allocI32(B * Tk), kval = e.allocU8(B * Tk);
        const part = (j0: number, j1: number): { d: AttentionDims; m: AttentionMask } => {
          const n = j1 - j0;
          chunkRows(k.w, B, Tk, HD, j0, j1, kc); chunkRows(v.w, B, Tk, HD, j0, j1, vc);
          for (let b = 0; b < B; b++) for (let j = j0; j < j1; j++) {
            kpos[b * n + j - j0] = mask.causal!.keyPositions[b * Tk + j]!;
            kval[b * n + j - j0] = mask.keyValid![b * Tk + j]!;
          }
          return { d: { ...full, keys: n }, m: { causal: { queryPositions: mask.causal!.queryPositions, keyPositions: kpos }, keyValid: kval } };
        };
        for (const [j0, j1] of chunks) {
          const { d, m } = part(j0, j1);
          kernels.attentionForward(d, m, q.w, kc, vc, op, lp);
          kernels.attentionMerge(full, oc, lc, op, lp);
        }
        assertClose(oc, o, 'merged out', 2e-5, 1e-4);
        assertClose(lc, lse, 'merged lse', 2e-5, 1e-4);
        const dqc = e.allocF32(dq.length), dkc = e.allocF32(dk.length), dvc = e.allocF32(dv.length);
        const dkp = e.allocF32(kc.length), dvp = e.allocF32(vc.length);
        for (const [j0, j1] of chunks) {
          const { d, m } = part(j0, j1);
          dkp.fill(0); dvp.fill(0);
          kernels.attentionBackward(d, m, q.w, kc, vc, oc, lc, dO.w, dqc, dkp, dvp);
          for (let b = 0; b < B; b++) {
            dkc.set(dkp.subarray(b * (j1 - j0) * HD, (b + 1) * (j1 - j0) * HD), (b * Tk + j0) * HD);
            dvc.set(dvp.subarray(b * (j1 - j0) * HD, (b + 1) * (j1 - j0) * HD), (b * Tk + j0) * HD);
          }
        }
        assertClose(dqc, dq, 'chunked dq', 1e-4, 2e-4);
        assertClose(dkc, dk, 'chunked dk', 1e-4, 2e-4);
        assertClose(dvc, dv, 'chunked dv', 1e-4, 2e-4);
      }
      e.release(mark);
    });
  }
});
