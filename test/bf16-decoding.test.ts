import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createEngine, loadStateDict, NORMALIZE_MAX_ELEMENTS, packBf16Weights, roundToBf16, stateDict } from '../src/node.js';
import { linearForwardNormed } from '../src/nn/linear.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { isWeightMatrix } from '../src/nn/params.js';
import { generate, windowBatch } from '../src/sample/generate.js';
import { streamSource } from '../src/data/source.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';
import { checkCachedEqualsUncached, uncachedLogits } from './helpers/decoding.js';

const engine = await createEngine({ threads: 2, minParallelWork: 0 });
after(() => engine.dispose());

const SMALL: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 24, numLatents: 6, numLayers: 2, width: 32, embedDim: 24, numHeads: 4,
  crossAttendHeads: 2, maxWavelength: 64, maxPosition: 64, dropout: 0,
};

function randomModel(config: ModelConfig = SMALL): PerceiverAR {
  const m = new PerceiverAR(engine, config, 5);
  const rng = new Rng(11);
  for (const p of m.params.list) if (p.spec.name.endsWith('.b') || p.spec.name === 'head.w') rng.fillUniform(p.value, 0.3);
  return m;
}

describe('decoding with bf16 weights', () => {
  // ODD: every k mod 8 tail and odd output count at model level (width 36, embedDim 20, heads of 9, vocabulary 41).
  const ODD: ModelConfig = { ...SMALL, vocabSize: 41, width: 36, embedDim: 20, numHeads: 4, crossAttendHeads: 2 };
  for (const [name, config] of [['SMALL', SMALL], ['odd sizes', ODD]] as const) {
    it(`computes exactly the model whose weight matrices are rounded to bf16 (cached steps and uncached forwards alike), ${name}`, () => {
      const half = randomModel(config), rounded = randomModel(config);
      half.setWeightFormat('bf16');
      let matrices = 0;
      for (const p of rounded.params.list) {
        if (!isWeightMatrix(p.spec)) { assert.equal(half.params.get(p.spec.name).half, null, `${p.spec.name} has no bf16 copy`); continue; }
        const before = Float32Array.from(p.value);
        roundToBf16(p.value);
        assert.ok(p.value.some((v, i) => v !== before[i]), `${p.spec.name}: rounding changed something (else this test checks nothing)`);
        assert.deepEqual(half.params.get(p.spec.name).value, p.value, `${p.spec.name}: the bf16 model's float32 values are the rounded ones`);
        assert.ok(half.params.get(p.spec.name).half, `${p.spec.name} has its packed copy`);
        matrices++;
      }
      assert.equal(matrices, 1 + 5 + 4 * config.numLayers + 1, 'latents.proj; cross q, kv, out, mlp1, mlp2; 4 per layer; head');
      // The bf16 model decodes (few-row products from the packed copies) as the rounded float32 model forwards.
      const rng = new Rng(2), seq = [2, ...Array.from({ length: 9 }, () => 3 + rng.int(config.vocabSize - 3))];
      const cache = half.decodeCache(config.numLatents);
      half.forward(windowBatch(seq, config.contextLength), { numLatents: 1, cache });
      assertClose(Float32Array.from(half.logits()), uncachedLogits(rounded, seq, 1), 'primed');
      for (let step = 0; step < 4; step++) {
        const token = 3 + rng.int(config.vocabSize - 3);
        seq.push(token);
        assertClose(Float32Array.from(half.decodeStep(cache, token, seq.length)), uncachedLogits(rounded, seq, step + 2), `step ${step}`, 2e-5, 2e-4);
      }
      // And its own cached and uncached paths agree through a reset.
      checkCachedEqualsUncached(half);
    });
  }

  it('linearForwardNormed: the norm as the product\'s prologue up to NORMALIZE_MAX_ELEMENTS, a layerNormForward job beyond (the same floats)', () => {
    const jobs: string[] = [];
    for (const [rows, inDim] of [[2, 4099], [7, 40_000]] as const) {
      const outDim = 5, rng = new Rng(rows);
      const f = (n: number, scale = 1): Float32Array => { const x = engine.allocF32(n); rng.fillUniform(x, scale); return x; };
      const w = f(inDim * outDim), w16 = engine.allocU16(inDim * outDim);
      packBf16Weights(w, inDim, outDim, w16);
      const p = { w, b: f(outDim), dw: engine.allocF32(0), db: null, inDim, outDim, w16 };
      const x = f(rows * inDim, 2), gamma = f(inDim), beta = f(inDim), y = engine.allocF32(rows * outDim), expected = engine.allocF32(rows * outDim);
      const out = { y: engine.allocF32(rows * inDim), mean: engine.allocF32(rows), rstd: engine.allocF32(rows) };
      engine.kernels.layerNormForward({ rows, cols: inDim, eps: 1e-5 }, x, gamma, beta, out.y, out.mean, out.rstd);
      engine.kernels.matmulBf16({ m: rows, n: outDim, k: inDim }, out.y, w16, p.b, expected);
      jobs.length = 0;
      engine.observeJobs!((job) => jobs.push(job));
      linearForwardNormed(engine.kernels, p, rows, x, { gamma, beta, eps: 1e-5 }, out, false, y);
      engine.observeJobs!(null);
      const fused = rows * inDim <= NORMALIZE_MAX_ELEMENTS;
      assert.deepEqual(jobs, fused ? ['matmulBf16'] : ['layerNormForward', 'matmulBf16'], `${rows}×${inDim}`);
      assert.deepEqual(Array.from(y), Array.from(expected), `${rows}×${inDim}`);
    }
    assert.ok(7 * 40_000 > NORMALIZE_MAX_ELEMENTS && 2 * 4099 <= NORMALIZE_MAX_ELEMENTS, 'one case on each side of the limit');
  });

  it('a bf16 decode step fuses its layer norms, residual adds and activations into the products and attends in one job a layer', () => {
    const model = randomModel();
    model.setWeightFormat('bf16');
    const cache = model.decodeCache(SMALL.numLatents);
    model.forward(windowBatch([2, 5, 6, 7], SMALL.contextLength), { numLatents: 1, cache });
    const jobs = new Map<string, number>();
    engine.observeJobs!((job) => jobs.set(job, (jobs.get(job) ?? 0) + 1));
    try {
      model.decodeStep(cache, 9, 5);
    } finally {
      engine.observeJobs!(null);
    }
    const blocks = 1 + SMALL.numLayers;
    assert.equal(jobs.get('add'), undefined, 'no residual add of its own');
    assert.equal(jobs.get('activationForward'), undefined, 'no activation of its own');
    assert.equal(jobs.get('attentionDecode'), blocks, 'one attention job per block');
    assert.equal(jobs.get('rotary'), 2 + SMALL.numLayers, 'the new key and the cross-attend query, then q and k together in each layer');
    assert.equal(jobs.get('matmulBf16'), 1 + 5 + 4 * SMALL.numLayers + 1, 'every product from its packed copy');
    assert.equal(jobs.get('layerNormForward'), 1, 'only the new key\'s norm: the others are their products\' prologues');
  });

  it('decoding reads the packed copies (with the copy of the head zeroed, a decode step gives the head\'s bias alone)', () => {
    const model = randomModel();
    model.setWeightFormat('bf16');
    const cache = model.decodeCache(SMALL.numLatents);
    model.forward(windowBatch([2, 5, 6, 7], SMALL.contextLength), { numLatents: 1, cache });
    model.params.get('head.w').half!.fill(0);
    const logits = Float32Array.from(model.decodeStep(cache, 9, 5));
    assert.deepEqual(logits, model.params.get('head.b').value, 'x·0 + b');
    assert.ok(model.params.get('head.w').value.some((v) => v !== 0), 'the float32 head was not what was read');
  });

  it('loading weights into a bf16 model rounds and packs them again; dispose twice is harmless', () => {
    const source = randomModel(), target = new PerceiverAR(engine, SMALL, 9);
    target.setWeightFormat('bf16');
    loadStateDict(target.params, stateDict(source.params, false), { optimizer: false, needs: 'the test model' });
    const rounded = randomModel();
    for (const p of rounded.params.list) if (isWeightMatrix(p.spec)) roundToBf16(p.value);
    const seq = [2, 7, 8, 9, 10];
    const cache = target.decodeCache(SMALL.numLatents);
    target.forward(windowBatch(seq.slice(0, 4), SMALL.contextLength), { numLatents: 1, cache });
    assertClose(Float32Array.from(target.decodeStep(cache, 10, 5)), uncachedLogits(rounded, seq, 2), 'decoded from the loaded weights', 2e-5, 2e-4);
    target.dispose();
    assert.doesNotThrow(() => target.dispose());
  });

  it('generate({ weights: "bf16" }) converts the model; it stays bf16 ("f32" is refused with a way out); training it is refused', () => {
    const viaOption = randomModel(), direct = randomModel();
    direct.setWeightFormat('bf16');
    const opts = { maxNewTokens: 12, temperature: 1, topK: 0, topP: 1, seed: 3, stopAtEos: false, cached: true } as const;
    const a = generate(viaOption, [2, 5, 6], { ...opts, weights: 'bf16' }), b = generate(direct, [2, 5, 6], opts);
    assert.deepEqual(a.tokens, b.tokens);
    assert.ok(a.firstTokenSeconds > 0 && a.firstTokenSeconds <= a.seconds, `first token at ${a.firstTokenSeconds} s of ${a.seconds} s`);
    assert.equal(viaOption.params.weightFormat, 'bf16');
    assert.doesNotThrow(() => viaOption.setWeightFormat('bf16'), 'asking again is a no-op');
    assert.throws(() => generate(viaOption, [2, 5], { ...opts, weights: 'f32' }), /rounded to bf16 earlier.*load the checkpoint again/);
    assert.throws(() => viaOption.setWeightFormat('f16' as 'bf16'), /weight format must be one of f32, bf16, got 'f16'/);
    const data = streamSource(Int32Array.from({ length: 200 }, (_, i) => 3 + (i % 30)), 0, 'a test stream');
    assert.throws(() => new Trainer(engine, viaOption, { ...TRAIN_DEFAULTS, batchSize: 2, steps: 1 }, data), /held as bf16 for decoding/);
    // A trainer made first, the model converted after: its next step is refused too.
    const trained = randomModel(), trainer = new Trainer(engine, trained, { ...TRAIN_DEFAULTS, batchSize: 2, steps: 2 }, data);
    trainer.trainStep();
    trained.setWeightFormat('bf16');
    assert.throws(() => trainer.trainStep(), /held as bf16 for decoding/);
  });
});
