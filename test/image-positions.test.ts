// Positions for multi-dimensional data (spec images §2): the event index orders the inputs (masks,
// latent placement, rotary, decoding caches); coordinates (x, y, channel) feed only the absolute
// embeddings, one learned table each, summed. The leak the issue measured: with the x coordinate
// used as the order, a latent saw future subpixels, its own target included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, type Engine } from '../src/node.js';
import { MODEL_DEFAULTS, validateModelConfig, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { crossAttendMask, layoutLatents, type Batch } from '../src/models/perceiver-ar/layout.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { imageCoordinates } from '../src/data/images.js';
import { windowBatch } from '../src/sample/generate.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';

/** The codec's coordinates of event e of a W-wide image with Ch channels (the map itself is checked against a hand-written table in images.test.ts). */
const coordinatesOf = (W: number, Ch: number) => (e: number): number[] => imageCoordinates({ width: W, height: 64, channels: Ch as 1 | 3 })(e);

/** One row: [SOS, subpixels…] as inputs (all but the last event) with event indices and coordinates. */
function imageBatch(subpixels: readonly number[], W: number, Ch: number): Batch {
  const seq = [2, ...subpixels.map((v) => v + 3)], M = seq.length - 1, at = coordinatesOf(W, Ch);
  const coordinates = new Int32Array(M * 3);
  for (let j = 0; j < M; j++) coordinates.set(at(j + 1), j * 3);
  return {
    batchSize: 1, length: M, tokens: Int32Array.from(seq.slice(0, M)), positions: Int32Array.from({ length: M }, (_, j) => j + 1),
    coordinates, coordinateDims: 3, targets: Int32Array.from(seq.slice(1)),
  };
}

const IMAGE: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 259, contextLength: 8, numLatents: 8, numLayers: 1, width: 16, embedDim: 16, numHeads: 2, crossAttendHeads: 2,
  mlpRatio: 2, position: 'learned', positionDims: 3, maxPosition: 8, dropout: 0,
};

function randomModel(e: Engine, c: ModelConfig, seed = 1): PerceiverAR {
  const m = new PerceiverAR(e, c, seed);
  new Rng(seed + 10).fillUniform(m.params.get('head.w').value, 0.5);
  for (let p = 0; p < c.positionDims; p++) new Rng(seed + 20 + p).fillUniform(m.params.get(`embed.position.${p}`).value, 1);
  return m;
}

describe('image positions: the event index orders, coordinates embed', async () => {
  const engines = [await createEngine({ backend: 'reference' }), await createEngine({ threads: 2, blas: 'off' })];
  // A 2×2 image with 2 channels: 8 subpixels, 9 events with SOS; 8 inputs.
  const pixels = [10, 200, 37, 99, 250, 0, 128, 64];

  it('the cross-attend mask of a 2×2×2 image is causal in the event index and blind to the coordinates (the latent on event 4 no longer sees events 5…8)', () => {
    const b = imageBatch(pixels, 2, 2), reversed = Int32Array.from({ length: 8 * 3 }, (_, i) => b.coordinates![(7 - Math.floor(i / 3)) * 3 + (i % 3)]!);
    const causal = ['10000000', '11000000', '11100000', '11110000', '11111000', '11111100', '11111110', '11111111'];
    for (const coordinates of [b.coordinates!, reversed]) {
      const mask = crossAttendMask(layoutLatents({ ...b, coordinates }, 8))[0]!;
      assert.deepEqual(mask.map((row) => row.join('')), causal);
    }
  });

  for (const e of engines) {
    const label = e.info.backend === 'reference' ? 'reference' : 'wasm';
    it(`changing subpixel t leaves every logit predicting a subpixel ≤ t unchanged (${label}, uncached)`, () => {
      const model = randomModel(e, IMAGE), V = IMAGE.vocabSize;
      model.forward(imageBatch(pixels, 2, 2));
      const before = Float32Array.from(model.logits());
      for (let t = 1; t <= 7; t++) {
        // Subpixel t is input t (input 0 is SOS; subpixel 8 is only a target); the latent on input j predicts subpixel j + 1.
        const changed = pixels.slice();
        changed[t - 1] = (changed[t - 1]! + 77) % 256;
        model.forward(imageBatch(changed, 2, 2));
        const after = model.logits();
        for (let j = 0; j < 8; j++) {
          const same = Array.from(after.subarray(j * V, (j + 1) * V)).every((x, i) => x === before[j * V + i]);
          if (j + 1 <= t) assert.ok(same, `t ${t}: the logits predicting subpixel ${j + 1} changed`);
        }
        assert.notDeepEqual(Array.from(after.subarray(t * V, 8 * V)), Array.from(before.subarray(t * V, 8 * V)), `t ${t} reaches later logits`);
      }
    });

    it(`cached decoding equals uncached forwards for an image (${label})`, () => {
      const c = { ...IMAGE, contextLength: 16, numLatents: 4, maxPosition: 12 }, model = randomModel(e, c, 3), V = c.vocabSize;
      const at = coordinatesOf(3, 3), rng = new Rng(5);
      const seq = [2, ...Array.from({ length: 4 }, () => 3 + rng.int(256))];
      const uncached = (latents: number): Float32Array => {
        model.forward(windowBatch(seq, c.contextLength, at), { numLatents: latents });
        return Float32Array.from(model.logits().subarray((latents - 1) * V, latents * V));
      };
      const cache = model.decodeCache(4);
      model.forward(windowBatch(seq, c.contextLength, at), { numLatents: 1, cache });
      assertClose(Float32Array.from(model.logits()), uncached(1), 'primed');
      for (let step = 1; step <= 3; step++) {
        const token = 3 + rng.int(256);
        seq.push(token);
        const got = Float32Array.from(model.decodeStep(cache, token, seq.length, at(seq.length)));
        assertClose(got, uncached(step + 1), `step ${step}`, 2e-5, 2e-4);
      }
    });
  }

  it('swapping x and y changes the embedding (one table per coordinate, not one shared table)', () => {
    const model = randomModel(engines[0]!, IMAGE), V = IMAGE.vocabSize;
    const one = (x: number, y: number): number[] => {
      model.forward({ batchSize: 1, length: 1, tokens: Int32Array.of(50), positions: Int32Array.of(1), coordinates: Int32Array.of(x, y, 2),
        coordinateDims: 3, targets: Int32Array.of(51) });
      return Array.from(model.logits().subarray(0, V));
    };
    assert.notDeepEqual(one(2, 3), one(3, 2));
  });

  it('refuses a batch whose positions are not an event index, a model without its coordinates, and sinusoidal coordinates', () => {
    const model = randomModel(engines[0]!, IMAGE), b = imageBatch(pixels, 2, 2);
    // Positions that repeat and go back down, as the x coordinate does.
    assert.throws(() => model.forward({ ...b, positions: Int32Array.of(1, 2, 2, 3, 3, 2, 2, 3) }), /row 0, input 2 has event index 2 after 2; positions must be the 1-based event index/);
    const { coordinates: _c, coordinateDims: _d, ...plain } = b;
    assert.throws(() => model.forward(plain), /embeds 3 coordinates per input .* the batch carries none/);
    assert.throws(() => validateModelConfig({ ...IMAGE, position: 'sinusoidal' }), /sinusoidal positions embed the event index only .* use position=learned/);
  });
});
