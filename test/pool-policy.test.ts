// The worker pool under contention (kernels/wasm/pool-policy.ts, pool-protocol.ts, shared-pool.ts): the
// claim protocol, the solo/probe policy on a scripted clock, and — with busy processes on every
// core — the engine's own kernels' results bit for bit the same as on an idle machine, with the pool
// having gone solo.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { createEngine, generate, MODEL_DEFAULTS, packBf16Weights, PerceiverAR, Rng, SplitBalancer, type Engine } from '../src/node.js';
import { windowBatch } from '../src/sample/generate.js';
import { POOL_POLICY, SoloPolicy } from '../src/kernels/wasm/pool-policy.js';
import { claim } from '../src/kernels/wasm/pool-protocol.js';
import { KERNEL_EXPORTS, PARTITION_INVARIANT, type KernelExport, type KernelFunction } from '../src/kernels/wasm/exports.js';
import { inEngine, oneThreadSimd128Engine, sequentialEngine, soloEngine, WorkerlessPool } from './helpers/engines.js';

describe('pool claims', () => {
  it('one claimant per job; an older job cannot be claimed once a later one was; sequence numbers wrap', () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    assert.equal(claim(ctrl, 1, 5), true);
    assert.equal(claim(ctrl, 1, 5), false, 'claimed already');
    assert.equal(claim(ctrl, 1, 4), false, 'a job before the claimed one (a worker that read a finished job)');
    assert.equal(claim(ctrl, 1, 6), true);
    ctrl[1] = 0x7fffffff;
    assert.equal(claim(ctrl, 1, -0x80000000), true, 'the next sequence number after wrapping');
    assert.equal(ctrl[1], -0x80000000);
  });
});

describe('solo policy', () => {
  const run = (p: SoloPolicy, late: boolean): { mode: string; solo: boolean } => {
    const mode = p.next();
    return { mode, solo: mode === 'solo' ? false : p.done(late) };
  };

  it('stays shared on an idle machine; goes solo after 3 late jobs in a row; probes after soloMs; shared again after 16 good probes', () => {
    let t = 0;
    const p = new SoloPolicy(() => t);
    for (let i = 0; i < 100; i++) assert.deepEqual(run(p, i % 3 === 1), { mode: 'shared', solo: false }, 'isolated late jobs do not count');
    assert.deepEqual([run(p, true), run(p, true), run(p, true)].map((r) => r.solo), [false, false, true]);
    t += POOL_POLICY.minSoloMs - 1;
    assert.equal(run(p, false).mode, 'solo');
    t += 1;
    for (let i = 0; i < POOL_POLICY.probeJobs; i++) assert.equal(run(p, false).mode, 'probe');
    assert.equal(run(p, false).mode, 'shared');
    assert.equal(p.soloJobs, 1);
  });

  it('work outside the pool (the BLAS) holds back only inside a solo period, even when no pool job comes to end it', () => {
    let t = 0;
    const p = new SoloPolicy(() => t);
    assert.equal(p.holding(), false);
    for (let i = 0; i < 3; i++) run(p, true);
    assert.equal(p.holding(), true, 'solo: the BLAS keeps to one thread');
    t += POOL_POLICY.minSoloMs;
    assert.equal(p.mode, 'solo', 'no job has come to start the probe');
    assert.equal(p.holding(), false, 'but the period is over: the BLAS tries every thread again');
    assert.equal(run(p, false).mode, 'probe');
    assert.equal(p.holding(), false, 'nor while probing');
  });

  it('a late probe doubles the solo time, up to its cap', () => {
    let t = 0;
    const p = new SoloPolicy(() => t);
    for (let i = 0; i < 3; i++) run(p, true);
    const lengths: number[] = [];
    for (let k = 0; k < 7; k++) {
      const from = t;
      while (p.next() === 'solo') t += 1;
      lengths.push(t - from);
      assert.equal(p.done(true), true, 'a late probe goes solo again');
    }
    assert.deepEqual(lengths, [8, 16, 32, 64, 128, 256, 512, 640].slice(0, 7));
  });
});

/** The decoding tests' model: small, with a random output head (it is initialised to zero: every logit would be 0). */
const DECODE_CONFIG = { ...MODEL_DEFAULTS, contextLength: 256, numLatents: 32, numLayers: 2, width: 64, embedDim: 64, numHeads: 2, crossAttendHeads: 2,
  maxWavelength: 256, maxPosition: 257 };
const PROMPT = Array.from({ length: 200 }, (_, i) => 3 + ((i * 37) % 250));

function decodeModel(engine: Engine, weights: 'f32' | 'bf16'): PerceiverAR {
  const m = new PerceiverAR(engine, DECODE_CONFIG, 3);
  for (const p of m.params.list) if (p.spec.name === 'head.w') new Rng(4).fillUniform(p.value, 0.5);
  m.setWeightFormat(weights);
  return m;
}

/** Every logit of 24 teacher-forced cached decode steps after PROMPT. */
function decodeLogits(m: PerceiverAR): number[] {
  const cache = m.decodeCache(DECODE_CONFIG.numLatents), floats: number[] = [];
  m.forward(windowBatch(PROMPT, DECODE_CONFIG.contextLength), { numLatents: 1, cache });
  for (let i = 0; i < 24; i++) floats.push(...m.decodeStep(cache, 3 + ((i * 11) % 250), PROMPT.length + 1 + i));
  return floats;
}

describe('contention', () => {
  it('with every core busy, a 2-thread engine goes solo and computes exactly what it computes idle', async () => {
    // The engine's own kernels (BLAS off): OpenBLAS rounds some sums differently on one thread and on
    // two, and it runs on one inside solo periods, so with it the prompt's products (and every
    // logit after) could differ in the last bits from the idle run's (docs/engine.md, "Reproducibility").
    const engine = await createEngine({ threads: 2, minParallelWork: 1, blas: 'off' });
    try {
      const models = { f32: decodeModel(engine, 'f32'), bf16: decodeModel(engine, 'bf16') };
      const sample = (weights: 'f32' | 'bf16'): Int32Array =>
        generate(models[weights], PROMPT, { maxNewTokens: 48, temperature: 1, topK: 0, topP: 1, seed: 7, stopAtEos: false, cached: true }).tokens;
      // Every logit of 24 teacher-forced decode steps too: tokens alone would hide a few ulps' difference.
      const logits = (weights: 'f32' | 'bf16'): number[] => decodeLogits(models[weights]);
      const idle = { f32: sample('f32'), bf16: sample('bf16') }, idleLogits = { f32: logits('f32'), bf16: logits('bf16') };
      const soloBefore = engine.threadStats?.().soloJobs ?? 0;
      const loops = Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      let busy: Array<['f32' | 'bf16', Int32Array]>, busyLogits: Array<['f32' | 'bf16', number[]]>;
      try {
        await new Promise((r) => setTimeout(r, 200));
        busy = [['f32', sample('f32')], ['bf16', sample('bf16')]];
        busyLogits = [['f32', logits('f32')], ['bf16', logits('bf16')]];
      } finally {
        for (const l of loops) l.kill('SIGKILL');
      }
      for (const [weights, b] of busy) assert.deepEqual(Array.from(b), Array.from(idle[weights]), weights);
      for (const [weights, b] of busyLogits) {
        assert.ok(b.every((x, i) => Object.is(x, idleLogits[weights][i])), `${weights}: the same logits, bit for bit`);
      }
      assert.equal(idleLogits.bf16.length, 24 * DECODE_CONFIG.vocabSize);
      const stats = engine.threadStats?.();
      assert.ok(stats && stats.soloJobs > soloBefore, `the pool went solo under contention (${JSON.stringify(stats)}; ${soloBefore} solo jobs idle)`);
    } finally {
      await engine.dispose();
    }
  });
});

describe('a solo pool', () => {
  /** A 2-thread pool without workers whose kernels only log (tid, nth). */
  const loggingPool = (): WorkerlessPool & { readonly calls: string[] } => {
    const calls: string[] = [];
    const log = (name: string) => (...args: number[]): void => { calls.push(`${name} ${args[args.length - 2]}/${args[args.length - 1]}`); };
    const local = Object.fromEntries(KERNEL_EXPORTS.map((name) => [name, log(name)])) as unknown as Record<KernelExport, KernelFunction>;
    return Object.assign(new WorkerlessPool(local, { lateJobs: 1, probeJobs: 1, minSoloMs: 1e9, maxSoloMs: 1e9 }), { calls });
  };

  it('runs a kernel whose floats do not depend on the partition as one share, any other share by share', () => {
    const pool = loggingPool();
    pool.policy.done(true); // one late job: solo (for as long as the settings say: the whole test)
    for (const fn of ['matmulBf16', 'rotary', 'embeddingForward', 'layerNormForward', 'attentionDecode', 'sumSquares'] as const) pool.run(fn, [1, 2, 3], 2);
    assert.deepEqual(pool.calls, ['matmulBf16 0/1', 'rotary 0/1', 'embeddingForward 0/1', 'layerNormForward 0/1',
      'attentionDecode 0/2', 'attentionDecode 1/2', 'sumSquares 0/2', 'sumSquares 1/2']);
    assert.equal(pool.lastWaitMs, null);
    assert.deepEqual([...PARTITION_INVARIANT].sort(), ['embeddingForward', 'layerNormForward', 'matmulBf16', 'rotary']);
  });
});

describe('a pool held solo', () => {
  it('decodes the same logits, bit for bit, as the same two shares run in turn (float32 and bf16 weights, replayed steps)', async () => {
    const logits = (e: Engine, weights: 'f32' | 'bf16'): number[] => {
      const m = decodeModel(e, weights), floats = decodeLogits(m);
      m.dispose();
      return floats;
    };
    const solo = soloEngine(), shares = sequentialEngine(new SplitBalancer(false));
    try {
      for (const weights of ['f32', 'bf16'] as const) {
        const a = logits(solo, weights), b = logits(shares, weights);
        assert.ok(a.length === 24 * DECODE_CONFIG.vocabSize && new Set(a).size > 100, `${weights}: logits that vary`);
        assert.ok(a.every((x, i) => Object.is(x, b[i])), weights);
      }
      assert.ok((solo.threadStats?.().soloJobs ?? 0) > 1000, `every job ran solo (${JSON.stringify(solo.threadStats?.())})`);
    } finally {
      await solo.dispose();
      await shares.dispose();
    }
  });
});

describe('PARTITION_INVARIANT kernels', () => {
  it('give the same floats as one share on one thread and split in two shares (rotary, layer norm, embedding; bf16 products: split-balancer.test.ts)', async () => {
    const split = sequentialEngine(new SplitBalancer(false)), one = await oneThreadSimd128Engine();
    try {
      const rng = new Rng(9);
      for (const [rows, heads, headDim] of [[1, 3, 10], [5, 2, 16], [7, 4, 6]] as const) {
        const C = heads * headDim, V = 11;
        const x = new Float32Array(rows * C), table = new Float32Array(V * C), gamma = new Float32Array(C), beta = new Float32Array(C);
        for (const b of [x, table, gamma, beta]) rng.fillUniform(b);
        const out = [split, one].map((e) => {
          const put = (x: Float32Array): Float32Array => inEngine(e, x);
          const positions = e.allocI32(rows), ids = e.allocI32(rows);
          for (let r = 0; r < rows; r++) { positions[r] = 3 + 17 * r; ids[r] = (r * 5) % V; }
          const rotated = put(x);
          e.kernels.rotaryForward({ rows, heads, headDim, rotaryDims: headDim - (headDim % 4), maxWavelength: 100 }, rotated, positions);
          const y = e.allocF32(rows * C), mean = e.allocF32(rows), rstd = e.allocF32(rows);
          e.kernels.layerNormForward({ rows, cols: C, eps: 1e-5 }, put(x), put(gamma), put(beta), y, mean, rstd);
          const embedded = e.allocF32(rows * C);
          e.kernels.embeddingForward(V, C, put(table), ids, embedded);
          return [rotated, y, mean, rstd, embedded].map((b) => Array.from(b));
        });
        assert.deepEqual(out[1], out[0], `${rows}×${heads}×${headDim}`);
      }
    } finally {
      await split.dispose();
      await one.dispose();
    }
  });
});

describe('observeJobs (benchmarks: the decode profile)', () => {
  it('sees every job the kernels run, with its export and arguments, and stops when cleared', async () => {
    const engine = await createEngine({ backend: 'wasm', threads: 2 });
    try {
      const k = 512, n = 130; // m·n·k above minParallelWork: the matmul is a pool job
      const w = engine.allocF32(k * n), w16 = engine.allocU16(k * n), x = engine.allocF32(k), y = engine.allocF32(n);
      new Rng(2).fillUniform(w);
      packBf16Weights(w, k, n, w16);
      const seen: Array<[string, number, number]> = [];
      engine.observeJobs!((job, args) => seen.push([job, args[1]!, args[2]!]));
      engine.kernels.matmulBf16({ m: 1, n, k }, x, w16, null, y);
      engine.kernels.add(x, x, x);
      assert.deepEqual(seen, [['matmulBf16', n, k], ['add', x.byteOffset, x.byteOffset]]);
      // The decode profile reads the one-query attention's keys, heads and head size from args 8–10.
      const q = engine.allocF32(16), kv = engine.allocF32(40 * 16), o = engine.allocF32(16), lse = engine.allocF32(2);
      const jobs: Array<[string, number, number, number]> = [];
      engine.observeJobs!((job, args) => jobs.push([job, args[8]!, args[9]!, args[10]!]));
      engine.kernels.attentionForward({ batch: 1, queries: 1, keys: 40, heads: 2, headDim: 8 }, {}, q, kv, kv, o, lse);
      assert.deepEqual(jobs[0], ['attentionDecode', 40, 2, 8]);
      engine.observeJobs!(null);
      engine.kernels.matmulBf16({ m: 1, n, k }, x, w16, null, y);
      assert.equal(seen.length, 2);
      assert.equal(jobs.length, 1); // one pass (the last thread merges), nothing after the observer was cleared
    } finally {
      await engine.dispose();
    }
  });
});
