// Record and replay of kernel jobs (src/kernels/wasm/job-recorder.ts, Engine.jobRecording): a
// replay runs the recorded jobs with their recorded arguments on the memory's current contents,
// the live sections in their places, and what the backend does around a job again (parameters it
// writes, a product's split); paths a replay cannot repeat are refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, packBf16Weights, Rng, SplitBalancer, type Engine } from '../src/node.js';
import { MODEL_DEFAULTS } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { windowBatch } from '../src/sample/generate.js';
import { sequentialEngine } from './helpers/engines.js';

describe('job recording', () => {
  let engine: Engine;
  before(async () => { engine = await createEngine({ backend: 'wasm', threads: 2, minParallelWork: 1 }); });
  after(async () => { await engine.dispose(); });
  const recording = () => engine.jobRecording!;

  it('replays the recorded jobs on new memory contents, with the live sections in their places', () => {
    const a = engine.allocF32(37), b = engine.allocF32(37), c = engine.allocF32(37), d = engine.allocF32(37);
    new Rng(1).fillUniform(a);
    new Rng(2).fillUniform(b);
    let lives = 0;
    const r = recording().record((live) => {
      engine.kernels.add(a, b, c); // c = a + b
      live(() => { lives++; b[0] = lives; }); // changes b between the jobs: the second add must see it
      engine.kernels.add(c, b, d); // d = c + b
    });
    assert.ok(!('refused' in r));
    assert.equal(r.jobs, 2);
    assert.equal(r.liveSections, 1);
    new Rng(3).fillUniform(a); // a new input
    r.replay();
    assert.equal(lives, 2);
    for (let i = 0; i < 37; i++) {
      const ci = Math.fround(a[i]! + (i === 0 ? 1 : b[i]!)); // b[0] was 1 (the recording's live section) when the first add ran again
      assert.equal(c[i], ci);
      assert.equal(d[i], Math.fround(ci + b[i]!));
    }
    r.replay();
    r.replay();
    assert.equal(lives, 4, 'the live section runs once per replay');
  });

  it('a live section called again while replaying runs without growing the recording', () => {
    const x = engine.allocF32(8);
    let inner = 0;
    let keep: ((fn: () => void) => void) | null = null;
    const r = recording().record((live) => {
      keep = live;
      live(() => { live(() => { inner++; }); });
      engine.kernels.scale(x, 2);
    });
    assert.ok(!('refused' in r));
    assert.equal(r.liveSections, 1, 'a section inside a section is part of it');
    assert.equal(inner, 1);
    for (let i = 2; i <= 4; i++) {
      r.replay();
      assert.equal(inner, i, 'each replay runs the section once (a section added while replaying would run too)');
    }
    keep!(() => { inner++; });
    assert.equal(inner, 5, 'called after the recording closed, it simply runs');
  });

  it('refuses a live section of an earlier recording called while another is open (its jobs would be neither recorded nor replayed)', () => {
    const x = engine.allocF32(8);
    let stale: ((fn: () => void) => void) | null = null;
    const first = recording().record((live) => { stale = live; engine.kernels.scale(x, 2); });
    assert.ok(!('refused' in first));
    assert.throws(() => recording().record(() => { stale!(() => engine.kernels.scale(x, 3)); }), /live section of an earlier recording/);
    const next = recording().record((live) => { live(() => undefined); engine.kernels.scale(x, 2); });
    assert.ok(!('refused' in next) && next.jobs === 1 && next.liveSections === 1, 'a new recording opens after it');
  });

  it('refuses what a replay cannot repeat (a result read back), and not inside live sections', () => {
    const x = engine.allocF32(64);
    new Rng(4).fillUniform(x);
    let sum = 0;
    const refused = recording().record(() => { sum = engine.kernels.sumSquares(x); });
    assert.ok('refused' in refused && /sumSquares/.test(refused.refused), JSON.stringify(refused));
    assert.ok(sum > 0, 'the body ran anyway');
    const allowed = recording().record((live) => { live(() => { sum = engine.kernels.sumSquares(x); }); });
    assert.ok(!('refused' in allowed));
  });

  it('does not nest, is closed after a failing body, and cannot record while replaying', () => {
    assert.throws(() => recording().record(() => { recording().record(() => undefined); }), /already open/);
    assert.throws(() => recording().record(() => { throw new Error('body failed'); }), /body failed/);
    let armed = false;
    const r = recording().record((live) => { live(() => { if (armed) recording().record(() => undefined); }); });
    assert.ok(!('refused' in r));
    armed = true; // the live section now tries to record when a replay runs it
    assert.throws(() => r.replay(), /while a recording is being replayed/);
    const ok = recording().record(() => undefined);
    assert.ok(!('refused' in ok) && ok.jobs === 0, 'a new recording opens after all that');
  });

  it('writes a rotary job\'s frequencies again: other jobs use the same parameter area', () => {
    const rows = 3, heads = 2, headDim = 8, n = rows * heads * headDim;
    const x = engine.allocF32(n), x0 = new Float32Array(n), positions = engine.allocI32(rows), expected = new Float32Array(n);
    new Rng(5).fillUniform(x0);
    positions.set([3, 17, 40]);
    const d = { rows, heads, headDim, rotaryDims: 6, maxWavelength: 100 };
    x.set(x0);
    engine.kernels.rotaryForward(d, x, positions);
    expected.set(x);
    x.set(x0);
    const r = recording().record(() => engine.kernels.rotaryForward(d, x, positions));
    assert.ok(!('refused' in r));
    engine.kernels.sumSquares(engine.allocF32(4096).fill(3)); // writes its partial sums over the frequencies
    x.set(x0);
    r.replay();
    assert.deepEqual(Array.from(x), Array.from(expected));
  });

  it('replays a bf16 product with its thread split taken again from the balancer, and the same floats', () => {
    // Two "threads" run one after the other; every product reports a wait, so the calling thread's share grows after each.
    const balancer = new SplitBalancer(true), splits: number[] = [], e = sequentialEngine(balancer, splits, 1);
    const k = 96, n = 130, w = e.allocF32(k * n), w16 = e.allocU16(k * n), a = e.allocF32(k), y = e.allocF32(n);
    new Rng(6).fillUniform(w);
    packBf16Weights(w, k, n, w16);
    new Rng(7).fillUniform(a);
    const product = (): void => e.kernels.matmulBf16({ m: 1, n, k }, a, w16, null, y);
    product();
    const first = Float32Array.from(y);
    const r = e.jobRecording!.record(product);
    assert.ok(!('refused' in r));
    const recorded = splits[splits.length - 1]!;
    for (let i = 0; i < 40; i++) product(); // the share grows by 40 × 0.004
    const shareBefore = balancer.firstShare;
    splits.length = 0;
    y.fill(0);
    r.replay();
    assert.deepEqual(Array.from(y), Array.from(first));
    assert.equal(splits.length, 1);
    assert.ok(splits[0]! > recorded, `the replayed split follows the balancer now (${splits[0]}), not the recorded one (${recorded})`);
    assert.ok(balancer.firstShare > shareBefore, 'and the balancer observes the replayed product');
  });

  it('a model on an engine whose kernels are wrapped does not replay (the wrappers would be skipped)', () => {
    const calls: string[] = [];
    const kernels = new Proxy(engine.kernels, {
      get: (t, name, rcv) => { const f = Reflect.get(t, name, rcv) as unknown; return typeof f === 'function' ? (...args: unknown[]) => { calls.push(String(name)); return (f as (...a: unknown[]) => unknown).apply(t, args); } : f; },
    });
    const wrapped: Engine = { ...engine, kernels };
    const c = { ...MODEL_DEFAULTS, vocabSize: 20, contextLength: 12, numLatents: 4, numLayers: 1, width: 16, embedDim: 16, numHeads: 2, crossAttendHeads: 2,
      mlpRatio: 2, maxWavelength: 32, maxPosition: 40, dropout: 0 };
    const model = new PerceiverAR(wrapped, c, 1);
    const cache = model.decodeCache(4);
    model.forward(windowBatch([2, 5, 6, 7], c.contextLength), { numLatents: 1, cache });
    model.decodeStep(cache, 8, 5);
    const before = calls.length;
    model.decodeStep(cache, 9, 6);
    assert.equal(model.decodeRecording(cache), undefined, 'nothing recorded');
    assert.deepEqual(model.decodeStepCounts, { recorded: 0, replayed: 0, run: 2 });
    assert.ok(calls.length - before > 10, 'the second step went through the wrapped kernels');
    model.dispose();
  });
});
