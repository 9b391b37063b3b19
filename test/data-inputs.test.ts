// Data the user brings, checked when it is loaded rather than hours into a run: token-id files
// (PAD inside, ids out of range before they are stored), validation splits too small to use,
// absolute position tables too short for the data or the generation, and batch sizes too large
// to hold.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { mirroredSource, streamSource } from '../src/data/source.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { parseTokenIds } from '../src/data/modalities/ids.js';
import { readFileChecked } from '../src/platform/node/files.js';

const readTokenIds = (path: string, vocabSize: number): Int32Array => parseTokenIds(readFileChecked(path, 'token-id file'), path, vocabSize);
import { generate } from '../src/sample/generate.js';
import { evaluateStream } from '../src/train/evaluate.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-data-'));
const file = (name: string, content: string | Uint8Array): string => { writeFileSync(join(dir, name), content); return join(dir, name); };

describe('token-id files', () => {
  it('refuse PAD (0) inside the stream, naming the position, in every format', () => {
    assert.throws(() => readTokenIds(file('pad.txt', '2 5 6 0 7 1'), 10), /pad\.txt: id 0 \(PAD\) at token 3; PAD marks padding/);
    assert.throws(() => readTokenIds(file('pad.i32', new Uint8Array(Int32Array.of(2, 5, 0, 1).buffer)), 10), /id 0 \(PAD\) at token 2/);
    assert.throws(() => readTokenIds(file('pad.u16', new Uint8Array(Uint16Array.of(0, 5, 1).buffer)), 10), /id 0 \(PAD\) at token 0/);
  });
  it('range-check ids before storing them (no wrap modulo 2^32, no negative report of a huge id)', () => {
    assert.throws(() => readTokenIds(file('wrap.txt', '2 4294967361 1'), 300), /id 4294967361 at token 1 is outside the vocabulary \[0, 300\)/);
    assert.throws(() => readTokenIds(file('huge.txt', '2 100000000000000000000000 1'), 300), /id 1000000000\d*… at token 1 is outside the vocabulary/);
    assert.throws(() => readTokenIds(file('neg.i32', new Uint8Array(Int32Array.of(2, -4, 1).buffer)), 300), /id -4 at token 1 is outside/);
  });
  it('read valid files in every format', () => {
    assert.deepEqual(Array.from(readTokenIds(file('ok.txt', ' 2 5\n6 1 '), 10)), [2, 5, 6, 1]);
    assert.deepEqual(Array.from(readTokenIds(file('ok.u16', new Uint8Array(Uint16Array.of(2, 9, 1).buffer)), 10)), [2, 9, 1]);
    assert.throws(() => readTokenIds(file('one.txt', '2'), 10), /holds 1 id; it needs at least 2/);
  });
});

describe('validation splits', () => {
  const ids = Int32Array.from({ length: 30 }, (_, i) => (i === 0 ? 2 : 3 + (i % 7)));
  it('a split under 2 tokens is refused with what to do, not scored as NaN', () => {
    assert.throws(() => streamSource(ids, 0.02, 'tiny.txt'), /tiny\.txt: the validation part .* holds 1 token; it needs at least 2\. .*validationFraction=0/);
  });
  it('validationFraction 0 trains on everything and says it has no validation data', () => {
    const s = streamSource(ids, 0, 'all.txt');
    assert.equal(s.hasValidation, false);
    assert.throws(() => s.validationBatches(2, 8, 1), /no validation data \(validationFraction is 0\)/);
    assert.equal(streamSource(ids, 0.1, 'x').hasValidation, true);
  });
});

const ABSOLUTE: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 12, contextLength: 8, numLatents: 4, numLayers: 1, width: 8, embedDim: 8, numHeads: 2, crossAttendHeads: 2,
  mlpRatio: 2, maxWavelength: 8, maxPosition: 20, dropout: 0, position: 'sinusoidal',
};

describe('absolute position tables are checked against the data and the generation up front', async () => {
  const engine = await createEngine({ backend: 'reference' });
  const stream = Int32Array.from({ length: 40 }, (_, i) => (i === 0 ? 2 : 3 + (i % 9)));
  for (const position of ['sinusoidal', 'learned'] as const) {
    it(`${position}: training on a stream longer than maxPosition is refused before the first step`, () => {
      const model = new PerceiverAR(engine, { ...ABSOLUTE, position }, 1);
      assert.throws(() => new Trainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 2 }, streamSource(stream, 0.1, 'long.txt')),
        new RegExp(`long\\.txt.*reaches position 35, beyond maxPosition 20 of the model's ${position} position table; raise maxPosition to at least 35, or use position=rotary`));
      // The same data fits a table that holds it, and rotary positions take any length.
      assert.doesNotThrow(() => new Trainer(engine, new PerceiverAR(engine, { ...ABSOLUTE, position, maxPosition: 35 }), TRAIN_DEFAULTS, streamSource(stream, 0.1, 'x')));
      assert.doesNotThrow(() => new Trainer(engine, new PerceiverAR(engine, { ...ABSOLUTE, position: 'rotary' }), TRAIN_DEFAULTS, streamSource(stream, 0.1, 'x')));
    });
  }
  it('the mirrored task at an offset is checked the same way', () => {
    const model = new PerceiverAR(engine, ABSOLUTE, 1);
    assert.throws(() => new Trainer(engine, model, TRAIN_DEFAULTS, mirroredSource(9, 13)), /reaches position 21, beyond maxPosition 20/);
  });
  it('generation past maxPosition is refused before any token is produced', () => {
    const model = new PerceiverAR(engine, ABSOLUTE, 1);
    const produced: number[] = [];
    const opts = { maxNewTokens: 18, temperature: 0, topK: 0, topP: 1, seed: 0, stopAtEos: false, cached: true };
    assert.throws(() => generate(model, [2, 3, 4, 5], opts, (t) => produced.push(t)),
      /generating 18 tokens after a 4-token prompt reaches position 21, beyond maxPosition 20/);
    assert.equal(produced.length, 0);
    assert.equal(generate(model, [2, 3, 4, 5], { ...opts, maxNewTokens: 17 }).tokens.length, 17, 'the last fed token sits at position 20');
  });
  it('evaluation over a stream past maxPosition is refused before the first window', () => {
    const model = new PerceiverAR(engine, ABSOLUTE, 1);
    assert.throws(() => evaluateStream(model, stream, { stride: 4, batchSize: 2, maxTargets: 0 }), /evaluating 39 targets of a stream reaches position 39/);
    assert.ok(Number.isFinite(evaluateStream(model, stream, { stride: 4, batchSize: 2, maxTargets: 20 }).nats));
  });
});

describe('sizes are planned before anything is built', async () => {
  const engine = await createEngine({ backend: 'reference' });
  const model = new PerceiverAR(engine, { ...ABSOLUTE, position: 'rotary' }, 1);
  const data = mirroredSource(9);
  it('a batch too large to hold is refused with the limiting size', () => {
    assert.throws(() => new Trainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 1e8 }, data),
      /batches of 100000000 × 8 tokens take 8\.9 GiB each; .* lower batchSize, evalBatches or contextLength/);
  });
  it('a validation set too large to hold is refused', () => {
    assert.throws(() => new Trainer(engine, model, { ...TRAIN_DEFAULTS, evalBatches: 1e8 }, data), /with 100000000 validation batches that is .* GiB/);
  });
  it("a batch whose workspace cannot fit the engine's memory is refused before allocating", async () => {
    const wasm = await createEngine({ backend: 'wasm', threads: 1 });
    const m = new PerceiverAR(wasm, { ...ABSOLUTE, position: 'rotary' }, 1);
    assert.throws(() => new Trainer(wasm, m, { ...TRAIN_DEFAULTS, batchSize: 2e6, evalBatches: 1 }, data),
      /a training workspace for batch 2000000 × context 8 with 4 latents needs \d+ MiB of engine memory/);
    await wasm.dispose();
  });
});
