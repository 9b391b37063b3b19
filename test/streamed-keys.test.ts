// The streamed cross-attend (keys in chunks, recomputed in the backward) must equal holding every
// key: same loss, logits and gradients, for every position mode and cross-attend dropout mode,
// on both backends, with odd chunk sizes; and priming a decoding cache through it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, type Engine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import type { Batch } from '../src/models/perceiver-ar/layout.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { planWorkspace } from '../src/models/perceiver-ar/workspace.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose } from './helpers/compare.js';

const SMALL: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 13, contextLength: 37, numLatents: 6, numLayers: 1, width: 16, embedDim: 12, numHeads: 2,
  crossAttendHeads: 2, mlpRatio: 2, maxWavelength: 64, maxPosition: 40, dropout: 0,
};

/** Three rows: full, right-padded to 20, and shorter than N (invalid latents). */
function batchOf(M: number): Batch {
  const rng = new Rng(5), B = 3;
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    const len = [M, 20, 4][b]!;
    for (let j = 0; j < len; j++) {
      tokens[b * M + j] = 3 + rng.int(10);
      positions[b * M + j] = j + 1;
      targets[b * M + j] = 3 + rng.int(10);
    }
  }
  return { batchSize: B, length: M, tokens, positions, targets };
}

function run(e: Engine, config: ModelConfig, keyChunk: number | 'auto', training: boolean, keyStoreBytes?: number): { loss: number; logits: Float32Array; grads: Float32Array[] } {
  const model = new PerceiverAR(e, config, 2);
  new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
  model.keyChunk = keyChunk;
  if (keyStoreBytes !== undefined) model.keyStoreBytes = keyStoreBytes;
  const batch = batchOf(config.contextLength);
  const r = model.forward(batch, training ? { training: true, rng: new Rng(11) } : {});
  model.params.zeroGrads();
  if (training) model.backward();
  return { loss: r.loss, logits: model.logits().slice(), grads: model.params.list.map((p) => p.grad.slice()) };
}

const CASES: readonly [string, ModelConfig][] = [
  ['rotary', SMALL],
  ['learned positions', { ...SMALL, position: 'learned' }],
  ['sinusoidal, residual dropout', { ...SMALL, position: 'sinusoidal', dropout: 0.2 }],
  ['subsample cross-attend dropout', { ...SMALL, crossAttendDropout: 0.5 }],
  ['mask cross-attend dropout', { ...SMALL, crossAttendDropout: 0.5, crossAttendDropoutMode: 'mask' }],
];

describe('streamed cross-attend = held keys', async () => {
  const engines = [await createEngine({ backend: 'reference' }), await createEngine({ threads: 2 })];
  for (const e of engines) {
    for (const [name, config] of CASES) {
      it(`${name}, ${e.info.backend}`, () => {
        const held = run(e, config, 'auto', true);
        // k|v kept outside the engine memory for every chunk (default budget), for none (0: all
        // recomputed), or for some (a budget of two chunks' worth: the rest recomputed).
        for (const [chunk, store] of [[5, undefined], [16, undefined], [5, 0], [5, 2 * 3 * 5 * 2 * 16 * 4]] as const) {
          const what = `${name} chunk ${chunk} store ${store ?? 'default'}`;
          const streamed = run(e, config, chunk, true, store);
          assert.ok(Math.abs(streamed.loss - held.loss) <= 1e-5 * Math.max(1, Math.abs(held.loss)), `${what}: loss ${streamed.loss} vs ${held.loss}`);
          assertClose(streamed.logits, held.logits, `${what} logits`, 2e-5, 1e-4);
          held.grads.forEach((g, i) => assertClose(streamed.grads[i]!, g, `${what} gradient ${i}`, 2e-5, 2e-4));
        }
      });
    }
  }

  it('keyChunk rejects bad values', () => {
    const model = new PerceiverAR(engines[0]!, SMALL, 1);
    assert.throws(() => { model.keyChunk = 0; }, /keyChunk must be 'auto' or a positive integer/);
    assert.throws(() => { model.keyChunk = 2.5; }, /keyChunk/);
  });
});

describe('memory: a workspace that cannot fit fails before allocating', () => {
  it('names the largest buffer and the longest context that fits; nothing is left allocated', async () => {
    const e = await createEngine({ threads: 1 });
    const M = 400_000;
    // The decoder-only Transformer (N = M): every layer holds M rows of activations.
    const model = new PerceiverAR(e, { ...SMALL, contextLength: M, numLatents: M, width: 64, embedDim: 64, maxPosition: M + 1, maxWavelength: M }, 1);
    model.keyChunk = 4096;
    const before = e.bytesInUse();
    const tokens = new Int32Array(M).fill(5), positions = Int32Array.from({ length: M }, (_, i) => i + 1);
    const batch: Batch = { batchSize: 1, length: M, tokens, positions, targets: tokens };
    let message = '';
    try { model.forward(batch, { training: true, rng: new Rng(1) }); } catch (err) { message = (err as Error).message; }
    assert.match(message, /needs \d+ MiB of engine memory but \d+ MiB are free \(limit 4096 MiB\); the largest buffer is '[^']+' \(\d+ MiB\)/);
    const longest = Number(/longest context that fits with this batch and latents is (\d+)/.exec(message)?.[1]);
    assert.ok(longest > 1000 && longest < M, `longest fitting context ${longest}`);
    assert.equal(e.bytesInUse(), before, 'nothing allocated by the failed forward');
    // The context it names is the longest whose workspace fits in what is free.
    const free = e.memoryLimitBytes - e.bytesInUse();
    assert.ok(planWorkspace(model.config, 1, longest, longest, true, 4096).bytes <= free);
    assert.ok(planWorkspace(model.config, 1, longest + 1, longest + 1, true, 4096).bytes > free);
    await e.dispose();
  });

  it('a decoding cache that cannot fit fails before allocating, naming its largest buffer', async () => {
    const e = await createEngine({ threads: 1 });
    const M = 4_000_000;
    const model = new PerceiverAR(e, { ...SMALL, contextLength: M, width: 256, embedDim: 64, maxPosition: M + 1, maxWavelength: M }, 1);
    const before = e.bytesInUse();
    assert.throws(() => model.decodeCache(8),
      /decoding cache for context 4000000 with 8 latents needs \d+ MiB of engine memory but \d+ MiB are free \(limit 4096 MiB\); the largest buffer is 'kv cache'/);
    assert.equal(e.bytesInUse(), before, 'nothing allocated');
    assert.throws(() => model.decodeCache(0), /numLatents must be an integer in \[1, 4000000\]/);
    await e.dispose();
  });
});
