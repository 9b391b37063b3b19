import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, parameterCount, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import type { Batch } from '../src/models/perceiver-ar/layout.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { generate } from '../src/sample/generate.js';
import { Rng } from '../src/tensor/rng.js';
import { checkCachedEqualsUncached } from './helpers/decoding.js';
import { checkParamGradients } from './helpers/gradcheck.js';

const TAPE: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 11, contextLength: 12, numLatents: 4, numLayers: 1, width: 8, embedDim: 8, numHeads: 2,
  crossAttendHeads: 2, mlpRatio: 2, maxWavelength: 16, maxPosition: 13, dropout: 0, tapeLength: 3, tapeThreshold: 1.5, tapePonderWeight: 0.2,
};

/** Row 0 full; row 1 right-padded to 9 tokens (a shorter prefix); row 2 only 3 tokens (no prefix, so no tape). */
function batchOf(lengths: number[], seed = 3, M = 12): Batch {
  const rng = new Rng(seed), B = lengths.length;
  const tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  lengths.forEach((len, b) => {
    for (let j = 0; j < len; j++) { tokens[b * M + j] = 3 + rng.int(8); positions[b * M + j] = j + 1; targets[b * M + j] = 3 + rng.int(8); }
  });
  return { batchSize: B, length: M, tokens, positions, targets };
}

describe('Perceiver AR with a causal prefix tape (spec adatape §8)', () => {
  it('gradients match finite differences (reference backend), including the tape parameters', async () => {
    const engine = await createEngine({ backend: 'reference' });
    for (const position of ['rotary', 'learned'] as const) {
      const model = new PerceiverAR(engine, { ...TAPE, position }, 1);
      assert.equal(model.params.count, parameterCount(model.config));
      new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
      const batch = batchOf([12, 9, 3]);
      const loss = (): number => model.forward(batch, { training: true, rng: new Rng(42) }).loss;
      const r = model.forward(batch, { training: true, rng: new Rng(42) });
      assert.ok(r.tapeLengths![0]! >= 2 && r.tapeLengths![2] === 0, `tape lengths ${r.tapeLengths}`);
      model.params.zeroGrads();
      model.backward();
      checkParamGradients(model.params, loss, position, 1e-3);
      assert.ok(model.params.get('tape.mlp1.w').grad.some((g) => g !== 0), 'the tape parameters get gradients');
    }
  });

  it('changing tokens after position t leaves the logits at positions ≤ t unchanged; the prefix does reach the tape', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new PerceiverAR(engine, { ...TAPE, numLatents: 5 }, 2);
    new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
    const M = 12, N = 5, V = 11, base = batchOf([12], 5);
    model.forward(base);
    const before = Float32Array.from(model.logits());
    for (let t = 0; t < M; t++) {
      const changed = { ...base, tokens: Int32Array.from(base.tokens) };
      for (let j = t + 1; j < M; j++) changed.tokens[j] = 3 + ((changed.tokens[j]! - 3 + 1 + j) % 8);
      model.forward(changed);
      const after = model.logits();
      for (let i = 0; i < N; i++) {
        const input = M - N + i;
        if (input > t) continue;
        assert.deepEqual(Array.from(after.subarray(i * V, (i + 1) * V)), Array.from(before.subarray(i * V, (i + 1) * V)), `t ${t}, latent at input ${input}`);
      }
    }
    // A change inside the prefix does move the latents' logits (through the tape and the cross-attend).
    const prefixChanged = { ...base, tokens: Int32Array.from(base.tokens) };
    prefixChanged.tokens[0] = 3 + ((prefixChanged.tokens[0]! - 3 + 4) % 8);
    model.forward(prefixChanged);
    assert.notDeepEqual(Array.from(model.logits()), Array.from(before));
  });

  it('with rotary positions the logits do not depend on where the crop starts (shift every position), with and without a tape', async () => {
    const engine = await createEngine({ backend: 'reference' });
    for (const tapeLength of [0, 3]) {
      const model = new PerceiverAR(engine, { ...TAPE, tapeLength }, 4);
      new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
      const base = batchOf([12, 9, 3]);
      const r = model.forward(base);
      if (tapeLength) assert.ok(r.tapeLengths![0]! >= 2 && r.tapeLengths![1]! >= 2, `tape lengths ${r.tapeLengths}`);
      const before = Float32Array.from(model.logits());
      for (const shift of [7, 1000, 123456]) {
        const positions = base.positions.map((p) => (p ? p + shift : 0));
        model.forward({ ...base, positions });
        const after = model.logits();
        let worst = 0;
        for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(after[i]! - before[i]!));
        assert.ok(worst < 2e-5, `tape ${tapeLength}, shift ${shift}: logits moved by ${worst}`);
      }
    }
  });

  it('cached decoding (the tape kept from prefill) equals uncached forwards through steps and resets', async () => {
    const engine = await createEngine({ backend: 'reference' });
    for (const position of ['rotary', 'learned'] as const) {
      const model = new PerceiverAR(engine, { ...TAPE, position, contextLength: 16, maxPosition: 40 }, 3);
      new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
      const r = model.forward(batchOf([7], 4, 7), { numLatents: 1 });
      assert.ok(r.tapeLengths![0]! >= 2, `the prompt's prefix gives a tape (${r.tapeLengths![0]})`);
      assert.ok(checkCachedEqualsUncached(model, 7) <= 16, 'inside one window');
      // Past the window (where cached latents are, by design, those of the last reset) decoding goes on.
      const out = generate(model, [2, 5, 9, 4, 7, 3, 8], { maxNewTokens: 30, temperature: 0, topK: 0, topP: 1, seed: 1, stopAtEos: false, cached: true });
      assert.equal(out.tokens.length, 30);
      assert.ok(out.resets >= 2);
    }
  });

  it('refuses streamed keys and a bad threshold with a clear message', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new PerceiverAR(engine, TAPE, 1);
    model.keyChunk = 4;
    assert.throws(() => model.forward(batchOf([12])), /the prefix tape reads held input embeddings/);
    assert.throws(() => new PerceiverAR(engine, { ...TAPE, tapeThreshold: 4 }), /tapeThreshold \(4\) must be ≤ tapeLength \(3\)/);
  });

  it("the tape's buffers are in the workspace plan, so a context too long fails before allocating", async () => {
    const { planWorkspace } = await import('../src/models/perceiver-ar/workspace.js');
    const plain = planWorkspace({ ...TAPE, tapeLength: 0 }, 2, 12, 4, true).bytes, tape = planWorkspace(TAPE, 2, 12, 4, true).bytes;
    // The bank's LN and its gradient, and the embeddings' gradient: 3 × B·M·Ci floats at least.
    assert.ok(tape - plain >= 3 * 2 * 12 * 8 * 4, `plan ${plain} → ${tape} bytes`);
    assert.ok(planWorkspace(TAPE, 2, 12, 4, false).bytes < tape, 'no gradient buffers for a forward-only workspace');
  });
});
