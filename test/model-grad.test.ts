import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import type { Batch } from '../src/models/perceiver-ar/layout.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { Rng } from '../src/tensor/rng.js';
import { checkParamGradients } from './helpers/gradcheck.js';

const TINY: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 11, contextLength: 7, numLatents: 4, numLayers: 2, width: 8, embedDim: 6, numHeads: 2,
  crossAttendHeads: 2, mlpRatio: 2, maxWavelength: 16, maxPosition: 9, dropout: 0,
};

/** Two rows: one full, one right-padded to 5 tokens (so one latent row is partly invalid). */
function tinyBatch(): Batch {
  const rng = new Rng(3), B = 2, M = 7;
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    const len = b === 0 ? M : 5;
    for (let j = 0; j < len; j++) {
      tokens[b * M + j] = 3 + rng.int(8);
      positions[b * M + j] = j + 1;
      targets[b * M + j] = 3 + rng.int(8);
    }
  }
  return { batchSize: B, length: M, tokens, positions, targets };
}

async function checkGradients(config: ModelConfig, label: string): Promise<void> {
  const engine = await createEngine({ backend: 'reference' });
  const model = new PerceiverAR(engine, config, 1);
  // The head starts at zero, which would hide every other gradient: give it random values.
  new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
  const batch = tinyBatch();
  const loss = (): number => model.forward(batch, { training: true, rng: new Rng(42) }).loss;
  loss();
  model.params.zeroGrads();
  model.backward();
  const { checked } = checkParamGradients(model.params, loss, label, 1e-2);
  assert.ok(checked > 60);
}

describe('Perceiver AR gradients vs finite differences (tiny config, reference backend)', () => {
  it('rotary positions, N < M', () => checkGradients(TINY, 'rotary'));
  it('learned absolute positions', () => checkGradients({ ...TINY, position: 'learned' }, 'learned'));
  it('sinusoidal positions with residual dropout', () => checkGradients({ ...TINY, position: 'sinusoidal', dropout: 0.2 }, 'dropout'));
  it('cross-attend dropout, subsample mode (gathered keys)', () => checkGradients({ ...TINY, crossAttendDropout: 0.5 }, 'subsample'));
  it('cross-attend dropout, mask mode', () => checkGradients({ ...TINY, crossAttendDropout: 0.5, crossAttendDropoutMode: 'mask' }, 'mask'));
  it('N = M: the decoder-only Transformer', () => checkGradients({ ...TINY, numLatents: 7 }, 'N=M'));
});
