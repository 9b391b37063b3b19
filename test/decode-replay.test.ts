// Replayed decode steps (Engine.jobRecording, model.ts decodeStep): the first cached step records
// its kernel jobs, later steps replay them with the changing work in live sections. Replayed
// decoding must give the floats of decoding that runs its JavaScript every step, bit for bit, on
// every path a decode step can take; and the recorder must replay what it recorded, no more.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, generate, SplitBalancer, type Engine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { allocateDecodeCache, type DecodeCache } from '../src/models/perceiver-ar/cache.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { imageCoordinates } from '../src/data/images.js';
import { windowBatch } from '../src/sample/generate.js';
import { Rng } from '../src/tensor/rng.js';
import { sequentialEngine } from './helpers/engines.js';

const BASE: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 24, numLatents: 6, numLayers: 2, width: 32, embedDim: 32, numHeads: 2, crossAttendHeads: 2,
  mlpRatio: 2, maxWavelength: 64, maxPosition: 200, dropout: 0,
};

interface Decoded {
  readonly logits: Float32Array[];
  readonly jobs: number;
  readonly liveSections: number;
  readonly counts: { readonly recorded: number; readonly replayed: number; readonly run: number };
}

/** A model whose head and position tables are larger than their initialisation, so that its logits differ from token to token. */
function testModel(engine: Engine, c: ModelConfig, seed: number, replay: boolean): PerceiverAR {
  const model = new PerceiverAR(engine, c, seed);
  for (const [i, p] of model.params.list.entries()) if (p.spec.name.startsWith('head') || p.spec.name.includes('position')) new Rng(50 + seed + i).fillUniform(p.value, 0.5);
  model.replayDecodeSteps = replay;
  return model;
}

/**
 * Primes with one latent, then decodes `steps` tokens (a fixed stream, not sampled), priming again
 * with 2 latents whenever a latent cache is full (the recording outlives the re-encode); returns
 * every step's logits and the recording's size.
 */
function decode(engine: Engine, c: ModelConfig, replay: boolean, steps: number, opts: { bf16?: boolean; coordinates?: (e: number) => number[] } = {}): Decoded {
  const model = testModel(engine, c, 3, replay);
  if (opts.bf16) model.setWeightFormat('bf16');
  const rng = new Rng(9), V = c.vocabSize;
  const seq = [2, ...Array.from({ length: 5 }, () => 3 + rng.int(V - 3))];
  const cache = model.decodeCache(4);
  const prime = (latents: number): void => { model.forward(windowBatch(seq, c.contextLength, opts.coordinates), { numLatents: latents, cache }); };
  prime(1);
  const logits: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    const token = 3 + rng.int(V - 3);
    seq.push(token);
    if (cache.layers.some((l) => l.count >= l.capacity)) { prime(2); continue; }
    logits.push(Float32Array.from(model.decodeStep(cache, token, seq.length, opts.coordinates?.(seq.length))));
  }
  const jobs = model.decodeRecording(cache);
  model.dispose();
  return { logits, jobs: jobs?.jobs ?? 0, liveSections: jobs?.liveSections ?? 0, counts: { ...model.decodeStepCounts } };
}

function assertSameFloats(a: Pick<Decoded, 'logits'>, b: Pick<Decoded, 'logits'>, what: string): void {
  assert.equal(a.logits.length, b.logits.length);
  a.logits.forEach((x, s) => {
    const y = b.logits[s]!;
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) assert.fail(`${what}: step ${s}, logit ${i}: replayed ${x[i]} vs run ${y[i]}`);
    }
  });
}

describe('replayed decode steps', () => {
  let engine: Engine;
  before(async () => { engine = await createEngine({ backend: 'wasm', threads: 2, minParallelWork: 1 }); });
  after(async () => { await engine.dispose(); });

  const cases: Array<[string, ModelConfig, { bf16?: boolean; coordinates?: (e: number) => number[] }]> = [
    ['rotary, bf16 weights', BASE, { bf16: true }],
    ['rotary, float32 weights, tied head with a bias, PAD excluded', { ...BASE, outputHead: 'tied+bias', padLogit: 'excluded' }, {}],
    ['learned positions from the window, latents from the embeddings and their keys by the query norm, no output norm',
      { ...BASE, position: 'learned', positionOrigin: 'window', maxPosition: 40, latentInput: 'embedding', latentKeyNorm: 'query', outputNorm: false }, { bf16: true }],
    ['image coordinates (three learned tables)', { ...BASE, vocabSize: 259, position: 'learned', positionDims: 3, maxPosition: 64 },
      { bf16: true, coordinates: imageCoordinates({ width: 4, height: 64, channels: 3 }) }],
    ['a prefix tape', { ...BASE, tapeLength: 3, tapeThreshold: 1.5, tapePonderWeight: 0.2 }, { bf16: true }],
  ];
  for (const [name, c, opts] of cases) {
    it(`${name}: the same floats as running every step, through re-encodes and a full cross-attend ring`, () => {
      // 40 steps: the 24-input ring wraps and the 4-latent caches fill (re-encoded) several times.
      const replayed = decode(engine, c, true, 40, opts), run = decode(engine, c, false, 40, opts);
      assertSameFloats(replayed, run, name);
      assert.ok(replayed.jobs > 0 && replayed.liveSections > 0, `a recording was made (${replayed.jobs} jobs, ${replayed.liveSections} live sections)`);
      // One recording, kept through the re-encodes; every later step replayed it.
      assert.deepEqual(replayed.counts, { recorded: 1, replayed: replayed.logits.length - 1, run: 0 });
      assert.equal(run.jobs, 0, 'nothing recorded with replayDecodeSteps false');
      assert.deepEqual(run.counts, { recorded: 0, replayed: 0, run: run.logits.length });
    });
  }

  it('generate samples the same tokens with and without replay', () => {
    const tokens = (replay: boolean): number[] => {
      const model = new PerceiverAR(engine, BASE, 5);
      new Rng(6).fillUniform(model.params.get('head.w').value, 0.5);
      model.setWeightFormat('bf16');
      model.replayDecodeSteps = replay;
      const r = generate(model, [2, 7, 9, 11], { maxNewTokens: 30, temperature: 1, topK: 0, topP: 1, seed: 3, stopAtEos: false, cached: true });
      model.dispose();
      return Array.from(r.tokens);
    };
    assert.deepEqual(tokens(true), tokens(false));
  });

  /** Runs `script` with replay on and off: the same floats both ways; returns the replayed run's result. */
  function bothWays<T extends { readonly logits: Float32Array[] }>(script: (replay: boolean) => T, what: string): T {
    const replayed = script(true), run = script(false);
    assertSameFloats(replayed, run, what);
    return replayed;
  }
  const prompt = [2, 7, 9, 11, 4, 6];
  const prime = (model: PerceiverAR, cache: DecodeCache, seq: readonly number[] = prompt): void => {
    model.forward(windowBatch(seq, model.config.contextLength), { numLatents: 1, cache });
  };
  const copy = (x: Float32Array): Float32Array => Float32Array.from(x);

  it('two models decoding one cache in turn each replay their own recording (not the other\'s weights)', () => {
    const r = bothWays((replay) => {
      const a = testModel(engine, BASE, 3, replay), b = testModel(engine, BASE, 4, replay);
      const cache = a.decodeCache(8);
      prime(a, cache);
      const logits = Array.from({ length: 6 }, (_, s) => copy((s % 2 ? b : a).decodeStep(cache, 5 + s, prompt.length + 1 + s)));
      const counts = [{ ...a.decodeStepCounts }, { ...b.decodeStepCounts }];
      a.dispose(); b.dispose();
      return { logits, counts };
    }, 'two models');
    assert.deepEqual(r.counts, [{ recorded: 1, replayed: 2, run: 0 }, { recorded: 1, replayed: 2, run: 0 }]);
  });

  it('two caches decoded in turn, and float32 weights made bf16 between steps: a recording per cache and format', () => {
    const r = bothWays((replay) => {
      const model = testModel(engine, BASE, 3, replay);
      // (A model holds one cache of its own; the second is allocated beside it.)
      const caches = [model.decodeCache(8), allocateDecodeCache(engine, BASE, 8)];
      prime(model, caches[0]!);
      prime(model, caches[1]!, [2, 13, 17, 19]);
      const ends = [prompt.length, 4];
      const logits: Float32Array[] = [];
      for (let s = 0; s < 10; s++) {
        if (s === 4) model.setWeightFormat('bf16');
        const i = s % 2;
        logits.push(copy(model.decodeStep(caches[i]!, 5 + s, ++ends[i]!)));
      }
      const counts = { ...model.decodeStepCounts };
      model.dispose();
      return { logits, counts };
    }, 'two caches');
    assert.deepEqual(r.counts, { recorded: 4, replayed: 6, run: 0 });
  });

  it('a step that throws while it is recorded leaves no recording: the next step records again', () => {
    const r = bothWays((replay) => {
      const model = testModel(engine, BASE, 3, replay);
      const cache = model.decodeCache(8);
      prime(model, cache);
      // The head throws once, after the layers have taken the step's keys (the non-replayed step is left the same way).
      const m = model as unknown as { head: () => void };
      m.head = () => { delete (m as { head?: unknown }).head; throw new Error('injected'); };
      assert.throws(() => model.decodeStep(cache, 5, prompt.length + 1), /injected/);
      const logits = Array.from({ length: 4 }, (_, s) => copy(model.decodeStep(cache, 6 + s, prompt.length + 2 + s)));
      const counts = { ...model.decodeStepCounts };
      model.dispose();
      return { logits, counts };
    }, 'after a throw');
    assert.deepEqual(r.counts, { recorded: 1, replayed: 3, run: 0 });
  });

  it('refuses an event index before the primed window, or not an integer', () => {
    const c: ModelConfig = { ...BASE, position: 'learned', positionOrigin: 'window', maxPosition: 40 };
    const model = testModel(engine, c, 3, true);
    const cache = model.decodeCache(8);
    // 30 inputs in a window of 24: the window starts after event 6.
    model.forward(windowBatch(Array.from({ length: 30 }, (_, i) => 3 + (i % 20)), c.contextLength), { numLatents: 1, cache });
    assert.equal(cache.origin, 6);
    for (const bad of [5, 30.5]) {
      assert.throws(() => model.decodeStep(cache, 5, bad), new RegExp(`event index ${bad} must be an integer at or after the primed window's origin \\(${cache.origin}\\)`));
    }
    assert.equal(model.decodeRecording(cache), undefined, 'nothing recorded');
    model.dispose();
  });

  it('one thread, the default work threshold, sinusoidal positions and a plain tied head', async () => {
    const one = await createEngine({ backend: 'wasm', threads: 1 });
    const c: ModelConfig = { ...BASE, position: 'sinusoidal', outputHead: 'tied' };
    const replayed = decode(one, c, true, 20, { bf16: true }), run = decode(one, c, false, 20, { bf16: true });
    assertSameFloats(replayed, run, 'one thread');
    assert.deepEqual(replayed.counts, { recorded: 1, replayed: replayed.logits.length - 1, run: 0 });
    await one.dispose();
  });

  it('replayed bf16 products take the split balancer\'s split of the moment and report their wait to it', async () => {
    // A worker that is always late: the calling thread's share grows after every product.
    const run = (replay: boolean): { logits: Float32Array[]; splits: number[] } => {
      const splits: number[] = [];
      const e = sequentialEngine(new SplitBalancer(true), splits, 1);
      const d = decode(e, { ...BASE, width: 96, embedDim: 96 }, replay, 8, { bf16: true });
      void e.dispose();
      return { logits: d.logits, splits };
    };
    const replayed = run(true), plain = run(false);
    assertSameFloats(replayed, plain, 'sequential engine');
    assert.ok(new Set(plain.splits).size > 3, `the split moves (${[...new Set(plain.splits)].join(', ')})`);
    assert.deepEqual(replayed.splits, plain.splits, 'replayed products split as the products run every step');
  });
});
