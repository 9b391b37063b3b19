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

/** The PyTorch port's architecture (spec krasserm-interop §4) on the tiny shape: every switch set. */
const PORT_TINY: ModelConfig = {
  ...TINY, embedDim: 8, position: 'learned+rotary', rotaryFraction: 0.5, rotarySpacing: 'roformer', maxWavelength: 10000, rotaryLayers: 1,
  latentInput: 'embedding', latentKeyNorm: 'query', linearBiases: 'cross-output', activation: 'gelu-erf', outputNorm: false, outputHead: 'tied+bias', zLoss: 0,
  padLogit: 'excluded', positionOrigin: 'window',
};

async function checkGradients(config: ModelConfig, label: string, keyChunk?: number): Promise<void> {
  const engine = await createEngine({ backend: 'reference' });
  const model = new PerceiverAR(engine, config, 1);
  if (keyChunk) model.keyChunk = keyChunk;
  // The head starts at zero, which would hide every other gradient: give it random values.
  if (model.params.has('head.w')) new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
  // So do the norms' unit gains and zero biases when the query norm also normalises the latents' keys.
  ['cross.ln_q.g', 'cross.ln_q.b', 'cross.ln_kv.g', 'cross.out.b'].forEach((name, i) => new Rng(20 + i).fillUniform(model.params.get(name).value, 0.5));
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
  it('the port\'s architecture: raw-embedding latents, their keys through the query norm, exact GELU, tied head with bias, table + rotary',
    () => checkGradients(PORT_TINY, 'port'));
  it('the port\'s architecture with an output norm, no head bias, rotary everywhere, no table, subsampled keys',
    () => checkGradients({ ...PORT_TINY, position: 'rotary', rotaryFraction: 1, rotaryLayers: -1, outputNorm: true, outputHead: 'tied', crossAttendDropout: 0.5 }, 'port-2'));
  it('the port\'s architecture with streamed keys (chunks of 3)', () => checkGradients(PORT_TINY, 'port-streamed', 3));
});
