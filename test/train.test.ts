import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { mirroredSource } from '../src/data/source.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { loadCheckpoint, saveCheckpoint } from '../src/platform/node/checkpoint.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { DATA_DEFAULTS } from '../src/data/registry.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { Trainer } from '../src/train/trainer.js';
import { mirroredBatch } from '../src/data/batches.js';
import { Rng } from '../src/tensor/rng.js';

const engine = await createEngine({ threads: 2 });
after(() => engine.dispose());
const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-test-'));

/** Scaled-down mirrored-32 (spec §9: M 32, N 16, L 1, absolute sinusoidal; C 64 instead of 1024). */
const MIRRORED_SMALL: ModelConfig = {
  ...MODEL_DEFAULTS, contextLength: 32, numLatents: 16, numLayers: 1, width: 64, embedDim: 64, numHeads: 4, crossAttendHeads: 4,
  position: 'sinusoidal', maxPosition: 33, maxWavelength: 32, dropout: 0,
};
const TRAIN: TrainConfig = { ...TRAIN_DEFAULTS, batchSize: 16, steps: 3000, learningRate: 2e-3, warmupSteps: 50, evalEvery: 100, evalBatches: 2 };

describe('training', () => {
  it('scaled-down mirrored-32 reaches 100% greedy copy accuracy', () => {
    const model = new PerceiverAR(engine, MIRRORED_SMALL, 1);
    const trainer = new Trainer(engine, model, TRAIN, mirroredSource(256));
    let accuracy = 0;
    while (trainer.step < TRAIN.steps && accuracy < 1) {
      trainer.trainStep();
      if (trainer.step % TRAIN.evalEvery === 0) accuracy = trainer.evaluate().accuracy!;
    }
    assert.equal(accuracy, 1, `accuracy ${accuracy} after ${trainer.step} steps`);
  });

  it('is deterministic and a stopped-and-resumed run matches the uninterrupted one exactly (the engine\'s own kernels)', async () => {
    // Bit-exact only without the BLAS: on a busy machine the pool's solo periods put the BLAS on
    // one thread, whose sums round differently from two (docs/engine.md, "Reproducibility").
    const engine = await createEngine({ threads: 2, blas: 'off' });
    const config = { ...MIRRORED_SMALL, dropout: 0.1, crossAttendDropout: 0.3 };
    const train = { ...TRAIN, gradAccumulation: 2, batchSize: 4, warmupSteps: 3 };
    const run = (steps: number, trainer: Trainer): number[] => Array.from({ length: steps }, () => trainer.trainStep().loss);
    const full = run(8, new Trainer(engine, new PerceiverAR(engine, config, 7), train, mirroredSource(256)));
    const again = run(8, new Trainer(engine, new PerceiverAR(engine, config, 7), train, mirroredSource(256)));
    assert.deepEqual(again, full, 'same seed and threads give the same trajectory');
    const first = new Trainer(engine, new PerceiverAR(engine, config, 7), train, mirroredSource(256));
    const head = run(4, first);
    const path = join(dir, 'resume.safetensors');
    saveCheckpoint(path, first.model, { train, data: DATA_DEFAULTS, state: first.state(), optimizer: true });
    const { info, model } = loadCheckpoint(path, engine);
    const tail = run(4, new Trainer(engine, model, info.train!, mirroredSource(256), info.state!));
    assert.deepEqual([...head, ...tail], full);
    await engine.dispose();
  });

  it('save → load gives identical logits and configs', () => {
    const model = new PerceiverAR(engine, { ...MIRRORED_SMALL, position: 'learned' }, 3);
    new Rng(1).fillUniform(model.params.get('head.w').value, 0.3);
    const batch = mirroredBatch(new Rng(2), 3, 32);
    model.forward(batch);
    const before = Float32Array.from(model.logits());
    const path = join(dir, 'model.safetensors');
    saveCheckpoint(path, model, { optimizer: false });
    const { info, model: loaded } = loadCheckpoint(path, engine);
    assert.deepEqual(info.model, model.config);
    assert.equal(info.hasOptimizer, false);
    loaded.forward(batch);
    assert.deepEqual(Array.from(loaded.logits()), Array.from(before));
  });
});

describe('length curriculum support', () => {
  it('an offset window puts mirrored pairs where they sit in the longer task', () => {
    const full = 64, M = 16, offset = (full - M) / 2;
    const batch = mirroredBatch(new Rng(4), 2, M, 256, offset);
    const K = Math.floor((M - 1) / 2);
    for (let b = 0; b < 2; b++) {
      // Input j predicts seq[j + 1]; the copy of input i (1 ≤ i ≤ K) is input 2K + 1 − i.
      for (let i = 1; i <= K; i++) {
        const j = 2 * K + 1 - i;
        assert.equal(batch.tokens[b * M + i], batch.tokens[b * M + j]);
        assert.equal(batch.positions[b * M + i]! + batch.positions[b * M + j]!, full + 1, 'pair positions sum as in the 64-token task');
      }
    }
    const whole = mirroredBatch(new Rng(4), 1, full);
    const Kf = Math.floor((full - 1) / 2);
    assert.equal(whole.positions[1]! + whole.positions[2 * Kf]!, full + 1);
  });

  it('initialise copies weights into a model of another context length and refuses other shapes', () => {
    const a = new PerceiverAR(engine, MIRRORED_SMALL, 3);
    const { initialise } = decodeCheckpoint(encodeCheckpoint(a, { optimizer: true }), 'a.safetensors');
    const b = new PerceiverAR(engine, { ...MIRRORED_SMALL, contextLength: 24, numLatents: 8 }, 4);
    initialise(b);
    assert.deepEqual(Array.from(b.params.values), Array.from(a.params.values));
    assert.ok(b.params.m.every((x) => x === 0), 'optimizer state is not taken');
    assert.throws(() => initialise(new PerceiverAR(engine, { ...MIRRORED_SMALL, numLayers: 0 }, 1)), /have no parameter in the new model/);
  });
});

describe('safetensors', () => {
  it('decodes a Node Buffer (whose slice() is a view) to the tensors that were encoded', () => {
    const data = Float32Array.from({ length: 37 }, (_, i) => i * 0.5 - 3);
    const bytes = encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [37], data }], ['b', { dtype: 'F32', shape: [2], data: Float32Array.of(7, 8) }]]), {});
    const pooled = Buffer.concat([Buffer.alloc(13), Buffer.from(bytes)]).subarray(13);
    const t = decodeSafetensors(pooled, 'buffer').tensors;
    assert.deepEqual(Array.from(t.get('a')!.data), Array.from(data));
    assert.deepEqual(Array.from(t.get('b')!.data), [7, 8]);
  });
});

describe('checkpoint errors: one clear message, no partial files', () => {
  const model = new PerceiverAR(engine, MIRRORED_SMALL, 1);
  const good = join(dir, 'good.safetensors');
  saveCheckpoint(good, model, { optimizer: false });
  const bytes = readFileSync(good);
  const expectLoadError = (name: string, content: Uint8Array | string, pattern: RegExp): void => {
    const p = join(dir, name);
    writeFileSync(p, content);
    assert.throws(() => loadCheckpoint(p, engine), pattern);
  };
  it('missing and empty files', () => {
    assert.throws(() => loadCheckpoint(join(dir, 'nope.safetensors'), engine), /checkpoint .*nope\.safetensors does not exist/);
    expectLoadError('empty.safetensors', '', /checkpoint .*empty\.safetensors is empty/);
  });
  it('a corrupt header', () => {
    const broken = Uint8Array.from(bytes);
    broken[8] = 0x78; // 'x' where the JSON object opens
    expectLoadError('corrupt.safetensors', broken, /corrupt header: not valid JSON/);
    const huge = Uint8Array.from(bytes);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expectLoadError('huge.safetensors', huge, /corrupt header: it claims \d+ bytes/);
  });
  it('truncated tensor data', () => {
    expectLoadError('truncated.safetensors', bytes.subarray(0, bytes.length - 100), /truncated tensor data: '[^']+' ends at byte \d+ but only \d+ data bytes are present/);
  });
  it('a wrong format version or a foreign file', () => {
    const other = encodeSafetensors(new Map(), { format: 'perceiver-ar-checkpoint', formatVersion: '99', model: '{}' });
    expectLoadError('version.safetensors', other, /format version 99 is not supported by this version of perceiver-ar \(it reads version 1\)/);
    expectLoadError('foreign.safetensors', encodeSafetensors(new Map(), {}), /not a perceiver-ar checkpoint/);
  });
  it('a failed save leaves neither a partial checkpoint nor a temporary file', () => {
    const target = join(dir, 'occupied');
    mkdirSync(target);
    assert.throws(() => saveCheckpoint(target, model, { optimizer: true }), /could not write .*occupied/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});
