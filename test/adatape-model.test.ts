import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { parityBatch } from '../src/data/parity.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../src/models/adatape/config.js';
import { SequenceClassifier } from '../src/models/adatape/model.js';
import { allocEncoderActs, encoderBlockForward } from '../src/models/encoder/block.js';
import { encoderBlockOf } from '../src/models/adatape/params.js';
import { Rng } from '../src/tensor/rng.js';
import { ClassifierTrainer } from '../src/train/classifier-trainer.js';
import { PARITY_TRAIN_DEFAULTS } from '../src/data/modalities/parity.js';
import { checkParamGradients } from './helpers/gradcheck.js';

const TINY: ClassifierConfig = {
  ...CLASSIFIER_DEFAULTS, sequenceLength: 12, width: 8, numHeads: 2, numLayers: 2, mlpRatio: 2, maxTape: 4, threshold: 1.5, maxSteps: 3,
};

async function checkGradients(config: ClassifierConfig, label: string): Promise<void> {
  const engine = await createEngine({ backend: 'reference' });
  const model = new SequenceClassifier(engine, config, 1);
  // The head starts at zero, which would hide every other gradient: give it random values.
  new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
  const batch = parityBatch(new Rng(3), 3, config.sequenceLength);
  const loss = (): number => model.forward(batch, { training: true, rng: new Rng(42) }).loss;
  loss();
  model.params.zeroGrads();
  model.backward();
  const { checked, nonzero, exercised } = checkParamGradients(model.params, loss, label, 1e-3);
  assert.ok(checked > 40 && nonzero > checked / 3, `${label}: ${nonzero} of ${checked} checked gradients are non-zero`);
  // The input embedding's gradient is sparse (only the rows of the symbols present); it must be checked where it is not zero.
  const embedding = config.model === 'transformer' || config.model === 'universal' ? 'embed.elements.w' : 'embed.flat.w';
  assert.ok(exercised.has(embedding), `${label}: the embedding ${embedding} was checked only where its gradient is zero`);
}

describe('sequence classifiers: gradients vs finite differences (tiny configs, reference backend)', () => {
  it('AdaTape, input-driven bank, tape MLP, query = mean', () => checkGradients(TINY, 'adatape'));
  it('AdaTape, learnable bank, CLS query and pooling, separate tape FFN, read before block 1, max ponder', () =>
    checkGradients({ ...TINY, bank: 'learnable', bankSize: 16, cls: true, query: 'cls', pool: 'cls', separateTapeFfn: true, readLayer: 1, ponder: 'max',
      tapeMlp: false, ponderWeight: 0.5 }, 'adatape learnable'));
  it('no-tape control', () => checkGradients({ ...TINY, model: 'no-tape' }, 'no-tape'));
  it('Transformer over element tokens', () => checkGradients({ ...TINY, model: 'transformer', cls: true }, 'transformer'));
  it('Universal Transformer with ACT', () => checkGradients({ ...TINY, model: 'universal', actWeight: 0.3 }, 'universal'));
});

describe('AdaTape model behaviour', () => {
  it('training mode without an rng is refused (as Perceiver AR refuses it), not run with a fixed generator', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new SequenceClassifier(engine, { ...TINY, bank: 'learnable', bankSize: 16, bankHide: 0.5 }, 1);
    const batch = parityBatch(new Rng(3), 2, TINY.sequenceLength);
    assert.throws(() => model.forward(batch, { training: true }), /training mode needs an rng/);
    assert.doesNotThrow(() => model.forward(batch));
  });

  it("an example's logits do not change when other examples in the batch change", async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new SequenceClassifier(engine, { ...TINY, sequenceLength: 24, maxTape: 6, threshold: 2 }, 4);
    new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
    const batch = parityBatch(new Rng(5), 4, 24);
    const first = model.forward(batch);
    const logits = Array.from(model.logits().subarray(0, 2)), lengths = first.tapeLengths!;
    const changed = { ...batch, values: Int32Array.from(batch.values) };
    for (let i = 24; i < changed.values.length; i++) changed.values[i] = (changed.values[i]! + 1) % 3;
    const second = model.forward(changed);
    assert.deepEqual(Array.from(model.logits().subarray(0, 2)), logits);
    assert.equal(second.tapeLengths![0], lengths[0]);
  });

  it('key-padded rows change no valid output of an encoder block', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const c = validateClassifierConfig({ ...TINY, separateTapeFfn: true });
    const model = new SequenceClassifier(engine, c, 2);
    const shape = { B: 2, S: 6, C: 8, tapeStart: 3, eps: 1e-6 }, R = 12;
    const block = encoderBlockOf(model.params, c, 0), acts = allocEncoderActs(engine, shape, 16, 2);
    const valid = Uint8Array.from([1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0]);
    const x = new Rng(6).fillUniform(new Float32Array(R * 8)) as Float32Array, out1 = new Float32Array(R * 8), out2 = new Float32Array(R * 8);
    encoderBlockForward(engine.kernels, shape, block, acts, valid, x, out1);
    const x2 = Float32Array.from(x);
    for (let r = 0; r < R; r++) if (!valid[r]) for (let ch = 0; ch < 8; ch++) x2[r * 8 + ch] = 100 * Math.sin(r + ch);
    encoderBlockForward(engine.kernels, shape, block, acts, valid, x2, out2);
    for (let r = 0; r < R; r++) {
      if (valid[r]) assert.deepEqual(Array.from(out2.subarray(r * 8, r * 8 + 8)), Array.from(out1.subarray(r * 8, r * 8 + 8)), `row ${r}`);
    }
  });

  it('rejects bad configs and inputs with messages that say what is allowed', async () => {
    assert.throws(() => validateClassifierConfig({ ...TINY, readLayer: 2 }), /readLayer \(2\) must be < numLayers \(2\)/);
    assert.throws(() => validateClassifierConfig({ ...TINY, query: 'cls' }), /needs cls: true/);
    assert.throws(() => validateClassifierConfig({ ...TINY, width: 9 }), /divisible by numHeads/);
    assert.throws(() => validateClassifierConfig({ ...TINY, maxTape: 1, threshold: 2 }), /threshold \(2\) must be ≤ maxTape/);
    const engine = await createEngine({ backend: 'reference' });
    const model = new SequenceClassifier(engine, TINY, 1);
    assert.throws(() => model.forward({ batchSize: 1, values: new Int32Array(12).fill(3), labels: Int32Array.of(0) }), /symbol id 3 is outside \[0, 3\)/);
    assert.throws(() => model.forward({ batchSize: 2, values: new Int32Array(12), labels: Int32Array.of(0) }), /2 examples of length 12 need 24/);
  });
});

describe('parity (short run)', () => {
  it('AdaTape learns length-8 parity to ≥ 95% test accuracy', async () => {
    const engine = await createEngine({});
    try {
      const c = { ...CLASSIFIER_DEFAULTS, sequenceLength: 8 };
      const model = new SequenceClassifier(engine, c, 0);
      const tc = { ...PARITY_TRAIN_DEFAULTS, steps: 400, evalBatches: 8 };
      const testRng = new Rng(123);
      const test = Array.from({ length: 8 }, () => parityBatch(testRng, 128, 8));
      const trainer = new ClassifierTrainer(engine, model, tc, (rng, B) => parityBatch(rng, B, 8), test);
      while (trainer.step < tc.steps) trainer.trainStep();
      const r = trainer.evaluate();
      assert.ok(r.accuracy >= 0.95, `test accuracy ${r.accuracy} after ${tc.steps} steps`);
      assert.ok(r.tape.mean !== null && r.tape.mean >= 2 && r.tape.mean <= 10);
    } finally {
      await engine.dispose();
    }
  });
});
