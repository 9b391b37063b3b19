// Transformer-XL: gradients against finite differences within a segment, the segment recurrence
// (two segments with a one-segment memory = one causal segment of both, in the forward), memory
// that really carries information across segments, and training through the Trainer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { mirroredSource } from '../src/data/source.js';
import type { Batch } from '../src/models/perceiver-ar/layout.js';
import { XL_DEFAULTS, validateXLConfig, type XLConfig } from '../src/models/transformer-xl/config.js';
import { TransformerXL } from '../src/models/transformer-xl/model.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';
import { checkParamGradients } from './helpers/gradcheck.js';

const TINY: XLConfig = {
  ...XL_DEFAULTS, vocabSize: 11, contextLength: 12, segmentLength: 6, memoryLength: 6, numLayers: 2, width: 8, numHeads: 2, mlpRatio: 2,
  maxWavelength: 16, dropout: 0,
};

function batchOf(B: number, M: number, seed: number, padLast = 0): Batch {
  const rng = new Rng(seed);
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    const len = b === B - 1 ? M - padLast : M;
    for (let j = 0; j < len; j++) {
      tokens[b * M + j] = 3 + rng.int(8);
      positions[b * M + j] = j + 1;
      targets[b * M + j] = 3 + rng.int(8);
    }
  }
  return { batchSize: B, length: M, tokens, positions, targets };
}

describe('Transformer-XL', async () => {
  const ref = await createEngine({ backend: 'reference' });
  const wasm = await createEngine({ threads: 2 });

  it('gradients match finite differences within one segment (reference backend)', () => {
    const config = { ...TINY, contextLength: 6 };
    const model = new TransformerXL(ref, config, 1);
    new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
    const batch = batchOf(2, 6, 3, 2);
    const loss = (): number => model.forward(batch, { training: false }).loss;
    model.params.zeroGrads();
    model.forward(batch, { training: true, rng: new Rng(1) });
    const { checked } = checkParamGradients(model.params, loss, 'Transformer-XL', 1e-2);
    assert.ok(checked > 50);
  });

  for (const e of [ref, wasm]) {
    it(`two segments with a one-segment memory give the loss of one causal segment over both (${e.info.backend})`, () => {
      const xl = new TransformerXL(e, TINY, 4), whole = new TransformerXL(e, { ...TINY, segmentLength: 12, memoryLength: 0 }, 5);
      new Rng(9).fillUniform(xl.params.get('head.w').value, 0.5);
      whole.params.values.set(xl.params.values);
      const batch = batchOf(3, 12, 8, 3);
      const a = xl.forward(batch), b = whole.forward(batch);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `${a.loss} vs ${b.loss}`);
      assertClose(xl.logits(), whole.logits(), 'logits of every position', 2e-5, 1e-4);
      // Without memory the second segment sees less, so the loss differs: the memory is used.
      const local = new TransformerXL(e, { ...TINY, memoryLength: 0 }, 6);
      local.params.values.set(xl.params.values);
      assert.ok(Math.abs(local.forward(batch).loss - a.loss) > 1e-4);
    });
  }

  it('trains through the Trainer (gradient accumulation, loss goes down) and rejects bad configs', () => {
    const config = { ...TINY, vocabSize: 259, contextLength: 16, segmentLength: 4, memoryLength: 8, width: 32, numHeads: 4, maxWavelength: 16 };
    const trainer = new Trainer(wasm, new TransformerXL(wasm, config, 2),
      { ...TRAIN_DEFAULTS, batchSize: 4, gradAccumulation: 2, learningRate: 3e-3, warmupSteps: 5 }, mirroredSource(4));
    const losses = Array.from({ length: 60 }, () => trainer.trainStep().loss);
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(mean(losses.slice(-10)) < mean(losses.slice(0, 10)) - 0.5, `loss ${mean(losses.slice(0, 10))} → ${mean(losses.slice(-10))}`);
    assert.throws(() => validateXLConfig({ ...TINY, maxWavelength: 4 }), /maxWavelength \(4\) must be ≥ segmentLength \+ memoryLength \(12\)/);
    assert.throws(() => validateXLConfig({ ...TINY, segment: 3 } as never), /unknown key 'segment'; allowed: vocabSize/);
  });
});
