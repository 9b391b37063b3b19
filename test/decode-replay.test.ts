// Replayed decode steps (Engine.jobRecording, model.ts decodeStep): the first cached step records
// its kernel jobs, later steps replay them with the changing work in live sections. Replayed
// decoding must give the floats of decoding that runs its JavaScript every step, bit for bit, on
// every path a decode step can take; and the recorder must replay what it recorded, no more.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, generate, type Engine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { imageCoordinates } from '../src/data/images.js';
import { windowBatch } from '../src/sample/generate.js';
import { Rng } from '../src/tensor/rng.js';

const BASE: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 24, numLatents: 6, numLayers: 2, width: 32, embedDim: 32, numHeads: 2, crossAttendHeads: 2,
  mlpRatio: 2, maxWavelength: 64, maxPosition: 200, dropout: 0,
};

interface Decoded { readonly logits: Float32Array[]; readonly jobs: number; readonly liveSections: number }

/**
 * Primes with one latent, then decodes `steps` tokens (a fixed stream, not sampled), priming again
 * with 2 latents whenever a latent cache is full (the recording outlives the re-encode); returns
 * every step's logits and the recording's size.
 */
function decode(engine: Engine, c: ModelConfig, replay: boolean, steps: number, opts: { bf16?: boolean; coordinates?: (e: number) => number[] } = {}): Decoded {
  const model = new PerceiverAR(engine, c, 3);
  for (const [i, p] of model.params.list.entries()) if (p.spec.name.startsWith('head') || p.spec.name.includes('position')) new Rng(50 + i).fillUniform(p.value, 0.5);
  if (opts.bf16) model.setWeightFormat('bf16');
  model.replayDecodeSteps = replay;
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
  const jobs = cache.plan?.jobs;
  model.dispose();
  return { logits, jobs: jobs?.jobs ?? 0, liveSections: jobs?.liveSections ?? 0 };
}

function assertSameFloats(a: Decoded, b: Decoded, what: string): void {
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
      assert.ok(replayed.jobs > 0 && replayed.liveSections > 0, `a recording was replayed (${replayed.jobs} jobs, ${replayed.liveSections} live sections)`);
      assert.equal(run.jobs, 0, 'nothing recorded with replayDecodeSteps false');
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
});
