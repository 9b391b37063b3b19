import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { generate, windowBatch } from '../src/sample/generate.js';
import { streamSource } from '../src/data/source.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { sampleToken } from '../src/sample/sampling.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';
import { checkCachedEqualsUncached as checkDecoding, uncachedLogits as uncached } from './helpers/decoding.js';

const engine = await createEngine({ threads: 2 });
after(() => engine.dispose());

const SMALL: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 24, numLatents: 6, numLayers: 2, width: 32, embedDim: 24, numHeads: 4,
  crossAttendHeads: 2, maxWavelength: 64, maxPosition: 64, dropout: 0,
};

function randomModel(config: ModelConfig): PerceiverAR {
  const m = new PerceiverAR(engine, config, 5);
  const rng = new Rng(11);
  for (const p of m.params.list) if (p.spec.name.endsWith('.b') || p.spec.name === 'head.w') rng.fillUniform(p.value, 0.3);
  return m;
}

function checkCachedEqualsUncached(config: ModelConfig, keyChunk: number | 'auto' = 'auto'): void {
  const model = randomModel(config);
  model.keyChunk = keyChunk;
  assert.ok(checkDecoding(model) <= config.contextLength, 'the test stays inside one window');
}

describe('cached decoding equals uncached forwards (spec §6.4)', () => {
  it('rotary positions: after priming, for N steps, and after a reset', () => checkCachedEqualsUncached(SMALL));
  it('absolute sinusoidal positions', () => checkCachedEqualsUncached({ ...SMALL, position: 'sinusoidal' }));
  it('no self-attention layers', () => checkCachedEqualsUncached({ ...SMALL, numLayers: 0 }));
  it('priming and resets through the streamed cross-attend (keys in chunks of 3)', () => checkCachedEqualsUncached(SMALL, 3));
});

/** SMALL trained for 150 steps on a stream of period 27 with 21 distinct ids: its greedy output varies. */
function trainedModel(config: ModelConfig): { model: PerceiverAR; stream: Int32Array } {
  const pattern = [3, 9, 4, 12, 7, 15, 5, 11, 8];
  const stream = Int32Array.from({ length: 2000 }, (_, i) => pattern[i % 9]! + (Math.floor(i / 9) % 3) * 10);
  const model = new PerceiverAR(engine, config, 5);
  const trainer = new Trainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 8, learningRate: 3e-3, warmupSteps: 10, evalBatches: 1 },
    streamSource(stream, 0, 'pattern'));
  for (let i = 0; i < 150; i++) trainer.trainStep();
  return { model, stream };
}

describe('generate', () => {
  it('cached and uncached greedy generation agree through resets inside one window (a trained model whose output varies)', () => {
    const { model, stream } = trainedModel(SMALL);
    const prompt = Array.from(stream.subarray(0, 5));
    // 5 + 19 = 24 tokens: the whole run stays inside the 24-token window, where cached decoding is exact.
    const opts = { maxNewTokens: 19, temperature: 0, topK: 0, topP: 1, seed: 1, stopAtEos: false };
    const streamed: number[] = [];
    const a = generate(model, prompt, { ...opts, cached: true }, (t) => streamed.push(t));
    const b = generate(model, prompt, { ...opts, cached: false });
    assert.ok(new Set(a.tokens).size >= 10, `the greedy output varies: ${Array.from(a.tokens)}`);
    assert.deepEqual(Array.from(a.tokens), Array.from(b.tokens));
    assert.deepEqual(streamed, Array.from(a.tokens), 'tokens are streamed as produced');
    assert.ok(a.resets >= 2, `resets: ${a.resets}`);
  });

  it('after the cross-attend window slides, cached decoding with no latent layers equals uncached forwards (logits)', () => {
    // With L = 0 there is no latent cache (no approximation): each step attends to the last M
    // inputs at their absolute positions, exactly as an uncached forward over the window does.
    for (const position of ['rotary', 'sinusoidal'] as const) {
      const model = randomModel({ ...SMALL, numLayers: 0, position, maxPosition: 80 });
      const M = SMALL.contextLength, rng = new Rng(4), V = SMALL.vocabSize;
      const seq = [2, ...Array.from({ length: 9 }, () => 3 + rng.int(V - 3))];
      const cache = model.decodeCache(SMALL.numLatents);
      model.forward(windowBatch(seq, M), { numLatents: 1, cache });
      let worst = 0;
      for (let step = 0; step < 45; step++) {
        const token = 3 + rng.int(V - 3);
        seq.push(token);
        const got = Float32Array.from(model.decodeStep(cache, token, seq.length));
        const want = uncached(model, seq, 1);
        for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      }
      assert.ok(seq.length > 2 * M, 'the window slid more than once');
      assert.ok(worst < 2e-5, `${position}: cached and uncached logits differ by ${worst} after the slide`);
    }
  });

  it('with latent layers, decoding goes on past the slide (cached latents are those of the last reset: the approximation of spec §6.3)', () => {
    const { model, stream } = trainedModel(SMALL);
    const r = generate(model, Array.from(stream.subarray(0, 5)), { maxNewTokens: 60, temperature: 0, topK: 0, topP: 1, seed: 1, stopAtEos: false, cached: true });
    assert.equal(r.tokens.length, 60);
    assert.ok(r.resets >= 10, `resets: ${r.resets}`);
  });

  it('a forward that fills a decoding cache checks its latent count against the cache', () => {
    const model = randomModel(SMALL);
    const cache = model.decodeCache(4);
    const window = windowBatch([2, 5, 9, 11, 4, 7, 8], SMALL.contextLength);
    assert.throws(() => model.forward(window, { numLatents: 5, cache }), /5 latents do not fit a decoding cache made for 4; use numLatents ≤ 4/);
    assert.doesNotThrow(() => model.forward(window, { numLatents: 4, cache }));
  });

  it('sampling is seeded; EOS stops; bad options are rejected', () => {
    const model = randomModel(SMALL);
    const opts = { maxNewTokens: 20, temperature: 1, topK: 10, topP: 0.9, seed: 3, stopAtEos: false, cached: true };
    assert.deepEqual(generate(model, [2], opts).tokens, generate(model, [2], opts).tokens);
    assert.throws(() => generate(model, [2], { ...opts, topP: 0 }), /topP must be in \(0, 1\]/);
    assert.throws(() => generate(model, [], opts), /the prompt needs at least one token/);
    assert.throws(() => generate(model, [2], { ...opts, numLatents: 99 }), /numLatents must be in \[1, 24\]/);
  });
  it('sampling processors: greedy, top-k, top-p and allowed-token masks', () => {
    const logits = Float32Array.of(0, 5, 1, 4);
    const rng = new Rng(1);
    assert.equal(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng), 1);
    for (let i = 0; i < 50; i++) assert.ok([1, 3].includes(sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)));
    for (let i = 0; i < 50; i++) assert.equal(sampleToken(logits, { temperature: 1, topK: 0, topP: 0.5 }, rng), 1);
    assert.equal(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng, Uint8Array.of(1, 0, 1, 0)), 2);
  });

  // The ranking definition the fast paths must keep: every allowed id sorted by (logit descending,
  // id ascending), the first k kept, the nucleus cut on that order, the draw walking it.
  const rankedReference = (logits: Float32Array, s: { temperature: number; topK: number; topP: number }, rng: Rng, allowed: Uint8Array | null): number => {
    let ids = Array.from({ length: logits.length }, (_, i) => i).filter((i) => (allowed === null || allowed[i] === 1) && !Number.isNaN(logits[i]!));
    ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
    if (s.topK > 0) ids = ids.slice(0, s.topK);
    const w = ids.map((i) => Math.exp((logits[i]! - logits[ids[0]!]!) / s.temperature));
    const total = w.reduce((a, b) => a + b, 0);
    let keep = ids.length, acc = 0;
    if (s.topP < 1) for (let j = 0; j < ids.length; j++) { acc += w[j]! / total; if (acc >= s.topP) { keep = j + 1; break; } }
    let u = rng.next() * w.slice(0, keep).reduce((a, b) => a + b, 0);
    for (let j = 0; j < keep; j++) { u -= w[j]!; if (u < 0) return ids[j]!; }
    return ids[keep - 1]!;
  };

  it('plain, top-k and top-p sampling pick what the full ranking picks (ties by id; insertion and sorted top-k; the weight threshold)', () => {
    const data = new Rng(7);
    for (const V of [5, 300, 1000]) {
      // Logits on a coarse grid so that ties occur, and one peaked case for the nucleus threshold.
      for (const spread of [3, 12]) {
        const logits = Float32Array.from({ length: V }, () => Math.round(data.next() * 8) * (spread / 8));
        const allowed = Uint8Array.from({ length: V }, () => (data.next() < 0.8 ? 1 : 0));
        for (const cfg of [{ temperature: 1, topK: 0, topP: 1 }, { temperature: 0.6, topK: 0, topP: 1 }, { temperature: 1, topK: 3, topP: 1 }, { temperature: 0.7, topK: 40, topP: 1 }, { temperature: 1, topK: 299, topP: 1 }, { temperature: 0.9, topK: 500, topP: 0.9 },
          { temperature: 1, topK: 0, topP: 0.5 }, { temperature: 1.3, topK: 0, topP: 0.95 }, { temperature: 1, topK: 40, topP: 0.8 }]) {
          for (const mask of [null, allowed]) {
            const a = new Rng(11), b = new Rng(11);
            for (let i = 0; i < 40; i++) {
              assert.equal(sampleToken(logits, cfg, a, mask), rankedReference(logits, cfg, b, mask), `V ${V} ${JSON.stringify(cfg)} draw ${i}`);
            }
          }
        }
      }
    }
  });

  it('sampling picks what the full ranking picks with infinite logits and with logits whose weights round to one value', () => {
    const f = Math.fround;
    const cases: Array<[string, Float32Array, number]> = [
      ['some −∞', Float32Array.of(-Infinity, 1, -Infinity, 0.5, 2), 1],
      ['all −∞', Float32Array.of(-Infinity, -Infinity, -Infinity), 1],
      ['a +∞', Float32Array.of(0, Infinity, 1), 1],
      // Distinct logits whose weights exp((l − max)/T) are the same double at this temperature: ranked by logit, not by weight.
      ['weights that tie', Float32Array.of(f(1), f(1 + 2 ** -20), f(1 - 2 ** -20), f(1 + 2 ** -19)), 1e12],
    ];
    for (const [name, logits, temperature] of cases) {
      for (const topP of [1, 0.6, 0.9]) {
        const cfg = { temperature, topK: 0, topP }, a = new Rng(3), b = new Rng(3);
        for (let i = 0; i < 30; i++) assert.equal(sampleToken(logits, cfg, a), rankedReference(logits, cfg, b, null), `${name}, topP ${topP}, draw ${i}`);
      }
    }
  });

  it('plain temperature sampling draws each id with its softmax probability and never a masked one', () => {
    const logits = Float32Array.of(1, -2, 0.5, 3, 2, 0), allowed = Uint8Array.of(1, 1, 1, 0, 1, 1), T = 0.8, n = 200_000;
    const rng = new Rng(3), counts = new Array<number>(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: T, topK: 0, topP: 1 }, rng, allowed)]!++;
    const w = Array.from(logits, (l, i) => (allowed[i] ? Math.exp(l / T) : 0)), z = w.reduce((a, b) => a + b, 0);
    assert.equal(counts[3], 0);
    for (let i = 0; i < logits.length; i++) {
      const p = w[i]! / z, sd = Math.sqrt((n * p * (1 - p)) || 1);
      assert.ok(Math.abs(counts[i]! - n * p) < 5 * sd, `id ${i}: ${counts[i]} draws, expected ${(n * p).toFixed(0)} ± ${sd.toFixed(0)}`);
    }
    assert.throws(() => sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, rng, new Uint8Array(6)), /no allowed token/);
  });
});

describe('evaluation (spec §7)', async () => {
  const { evaluateStream } = await import('../src/train/evaluate.js');
  const ids = Int32Array.from({ length: 60 }, (_, i) => (i === 0 ? 2 : 3 + ((i * 7) % 31)));
  it('exact and strided agree when latents do not interact and every window starts at the beginning', () => {
    // No self-attention layers, and a stream no longer than the context: each target sees the
    // same inputs either way.
    const model = randomModel({ ...SMALL, numLayers: 0 });
    const short = ids.subarray(0, 24);
    const exact = evaluateStream(model, short, { stride: 1, batchSize: 8, maxTargets: 0 });
    const strided = evaluateStream(model, short, { stride: 6, batchSize: 3, maxTargets: 0 });
    assert.equal(exact.tokens, 23);
    assert.equal(strided.tokens, 23);
    assertClose([strided.nats], [exact.nats], 'nats', 1e-6, 1e-5);
    assertClose([exact.bitsPerToken], [exact.nats / Math.LN2], 'bits', 1e-9, 1e-9);
  });
  it('exact mode equals one forward per target scored by the last latent', () => {
    const model = randomModel(SMALL);
    const r = evaluateStream(model, ids, { stride: 1, batchSize: 5, maxTargets: 30 });
    let total = 0;
    for (let t = 1; t <= 30; t++) {
      const logits = uncached(model, Array.from(ids.subarray(0, t)), 1);
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
      total += lse - logits[ids[t]!]!;
    }
    assertClose([r.nats], [total / 30], 'exact nats', 1e-5, 1e-5);
  });
  it('rejects a stride beyond the context', () => {
    assert.throws(() => evaluateStream(randomModel(SMALL), ids, { stride: 25, batchSize: 1, maxTargets: 0 }), /stride must be an integer in \[1, 24\]/);
  });
});
