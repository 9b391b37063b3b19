import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { flopsPerToken, MODEL_DEFAULTS, parameterCount, validateModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { validateXLConfig } from '../src/models/transformer-xl/config.js';
import { PRESETS, perceiverPresetNamed } from '../src/presets.js';
import { validateTrainConfig, TRAIN_DEFAULTS } from '../src/train/config.js';

describe('model config', () => {
  it('parameterCount matches the allocated parameter arena for every position mode', async () => {
    const engine = await createEngine({ backend: 'reference' });
    for (const position of ['rotary', 'sinusoidal', 'learned'] as const) {
      const c = { ...MODEL_DEFAULTS, contextLength: 16, numLatents: 4, numLayers: 2, width: 8, embedDim: 6, numHeads: 2, crossAttendHeads: 2,
        position, maxPosition: 20, maxWavelength: 16, positionDims: position === 'learned' ? 2 : 1 };
      assert.equal(new PerceiverAR(engine, c).params.count, parameterCount(c), position);
    }
  });
  it('every preset is a valid configuration', () => {
    for (const [name, p] of Object.entries(PRESETS)) {
      if (p.architecture === 'transformer-xl') assert.doesNotThrow(() => validateXLConfig(p.model), name);
      else assert.doesNotThrow(() => validateModelConfig(p.model), name);
      assert.doesNotThrow(() => validateTrainConfig(p.train), name);
    }
  });
  it('FLOPs per token grow with the context for the cross-attend only', () => {
    const c = perceiverPresetNamed('enwik8-small').model;
    const a = flopsPerToken(c), b = flopsPerToken(c, c.numLatents, 2 * c.contextLength);
    assert.ok(b > a && b < 2 * a);
  });
  it('reports every problem at once, saying what is allowed', () => {
    assert.throws(() => validateModelConfig({ ...MODEL_DEFAULTS, width: 30, numHeads: 4, dropout: 1.5, maxWavelength: 10 }), (e: Error) => {
      assert.match(e.message, /width \(30\) must be divisible by numHeads \(4\)/);
      assert.match(e.message, /dropout must be in \[0, 1\), got 1\.5/);
      assert.match(e.message, /maxWavelength \(10\) must be ≥ contextLength \(1024\) with rotary positions/);
      return true;
    });
    assert.throws(() => validateModelConfig({ ...MODEL_DEFAULTS, extra: 1 } as never), /unknown model key 'extra'/);
    assert.throws(() => validateTrainConfig({ ...TRAIN_DEFAULTS, schedule: 'linear' as never }), /schedule must be 'constant' or 'cosine'/);
  });
});
