// The port-compatible configuration of our Perceiver AR (src/models/perceiver-ar/port-weights.ts):
// models built and saved by the PyTorch port itself (test/fixtures/port, made by
// scripts/interop/make-port-fixtures.py) imported into ours give the port's logits within 1e-4 on
// the port's inputs (float32, the engine's kernels); the mapping is lossless both ways; what is not
// the port's architecture cannot be exported.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createEngine, type Engine } from '../src/node.js';
import { readTorchStateDict } from '../src/io/torch-checkpoint.js';
import { MODEL_DEFAULTS } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { checkPortStateDict, readPortConfig } from '../src/models/perceiver-ar/port-config.js';
import { loadPortWeights, modelConfigFromPort, portConfigFromModel, tensorsToPort } from '../src/models/perceiver-ar/port-weights.js';
import { generate } from '../src/sample/generate.js';

const MODELS = ['rotary-1', 'rotary-all', 'abs-bias', 'abs-norm-bias'];
const portFile = (model: string, name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../test/fixtures/port/${model}/${name}`, import.meta.url)));
interface Case { ids: number[][]; prefixLength: number; logits: number[][][] }
interface Generation { prompt: number[]; numLatents: number; tokens: number[]; logits: number[][] }

function importFixture(engine: Engine, model: string) {
  const pc = readPortConfig(JSON.parse(new TextDecoder().decode(portFile(model, 'config.json'))), `${model}/config.json`);
  const tensors = readTorchStateDict(portFile(model, 'pytorch_model.bin'), `${model}/pytorch_model.bin`);
  const { config } = modelConfigFromPort(pc), m = new PerceiverAR(engine, config, 0);
  loadPortWeights(m.params, config, pc, tensors, model);
  const { cases, generation } = JSON.parse(new TextDecoder().decode(portFile(model, 'logits.json'))) as { cases: Case[]; generation: Generation };
  return { pc, tensors, m, cases, generation };
}

/** A batch of the port's ids (shifted by one: our 0 is PAD), one row, 1-based event index. */
const row = (ids: readonly number[]) => ({
  batchSize: 1, length: ids.length, tokens: Int32Array.from(ids, (t) => t + 1), positions: Int32Array.from(ids, (_, j) => j + 1), targets: new Int32Array(ids.length),
});

describe('the port-compatible Perceiver AR', () => {
  for (const model of MODELS) {
    it(`${model}: the port's logits within 1e-4 (float32, wasm kernels) on its own inputs and prefix lengths`, async () => {
      const engine = await createEngine({ backend: 'wasm', threads: 2 });
      const { pc, m, cases } = importFixture(engine, model);
      const V = pc.vocabSize;
      let worst = 0;
      for (const k of cases) {
        for (const [b, ids] of k.ids.entries()) {
          const N = ids.length - k.prefixLength;
          m.forward(row(ids), { numLatents: N });
          const logits = m.logits();
          for (let i = 0; i < N; i++) {
            assert.ok(logits[i * (V + 1)]! < -1e29, 'PAD (our id 0) takes no probability');
            for (let t = 0; t < V; t++) worst = Math.max(worst, Math.abs(logits[i * (V + 1) + t + 1]! - k.logits[b]![i]![t]!));
          }
        }
      }
      assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
      engine.dispose?.();
    });
  }

  for (const model of MODELS) {
    it(`${model}: cached decoding gives the port's cached generation (its kv_cache, prefix fixed) up to max_latents`, async () => {
      const engine = await createEngine({ backend: 'wasm', threads: 2 });
      const { pc, m, generation: g } = importFixture(engine, model);
      const V = pc.vocabSize, last = (l: Float32Array): number[] => Array.from(l.subarray(1, V + 1));
      let worst = 0;
      const compare = (ours: number[], step: number): void => ours.forEach((v, t) => { worst = Math.max(worst, Math.abs(v - g.logits[step]![t]!)); });
      // Step by step, fed the port's tokens: prime with one latent (as its generate's num_latents = 1), then single-token steps.
      const cache = m.decodeCache(pc.maxLatents);
      m.forward(row(g.prompt), { numLatents: 1, cache });
      compare(last(m.logits()), 0);
      for (let s = 1; s < g.tokens.length; s++) compare(last(m.decodeStep(cache, g.tokens[s - 1]! + 1, g.prompt.length + s)), s);
      assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
      // generate (greedy, cached, a latent cache of max_latents) picks the same tokens.
      const out = generate(m, Int32Array.from(g.prompt, (t) => t + 1), { maxNewTokens: g.tokens.length, seed: 1, stopAtEos: false, cached: true,
        numLatents: pc.maxLatents, temperature: 0, topK: 0, topP: 1 });
      assert.deepEqual(Array.from(out.tokens, (t) => t - 1), g.tokens);
      assert.equal(out.resets, 0, 'no re-encode before max_latents');
    });
  }

  it('a model with an absolute table (abs-bias, context 24) generates past its context: positions restart at each window, which is re-encoded once full', async () => {
    const engine = await createEngine({ backend: 'wasm', threads: 1 });
    const { m } = importFixture(engine, 'abs-bias');
    // A latent cache of 24 never fills here (1 latent at the prime, one more per step up to 15): every re-encode is the table's.
    const opts = { maxNewTokens: 40, seed: 3, stopAtEos: false, numLatents: 24, temperature: 1, topK: 0, topP: 1, cached: true };
    const prompt = Int32Array.of(5, 9, 2, 14, 7, 7, 1, 20, 11, 3);
    const r = generate(m, prompt, opts);
    assert.equal(r.tokens.length, 40);
    // The window fills at 24 inputs (after 14 new tokens); from then on each of the 25 next tokens re-encodes it.
    assert.equal(r.resets, 25);
    // A single step past the primed window's table is refused, not computed at a wrong position.
    const cache = m.decodeCache(24);
    m.forward(row(Array.from({ length: 24 }, (_, j) => j % 20)), { numLatents: 1, cache });
    assert.throws(() => m.decodeStep(cache, 3, 25), /position 25 of the primed window passes the absolute table \(24\); re-encode/);
    // The window's positions restart at 1: shifting a whole batch's event index changes nothing.
    const ids = [4, 8, 15, 16, 23, 2, 9], at = (start: number) => ({ batchSize: 1, length: ids.length, tokens: Int32Array.from(ids),
      positions: Int32Array.from(ids, (_, j) => start + j), targets: new Int32Array(ids.length) });
    m.forward(at(1), { numLatents: 3 });
    const first = Array.from(m.logits());
    m.forward(at(1000), { numLatents: 3 });
    assert.deepEqual(Array.from(m.logits()), first);
  });

  it('port → ours → port gives back every tensor bit for bit (the rotary buffer recomputed)', async () => {
    const engine = await createEngine({ backend: 'reference' });
    for (const model of MODELS) {
      const { pc, tensors, m } = importFixture(engine, model);
      const back = tensorsToPort(m.config, (name) => m.params.get(name).value as Float32Array);
      const want = checkPortStateDict(tensors, pc, model);
      assert.deepEqual([...back.keys()].sort(), [...want.keys()].sort(), model);
      for (const [name, t] of back) {
        if (name.endsWith('inv_freq')) {
          // Computed as the port computes it (float32 powers): within an ulp of the file's.
          t.data.forEach((v, j) => assert.ok(Math.abs(v - want.get(name)!.data[j]!) <= 1e-7 * v, `${model} inv_freq[${j}] ${v} vs ${want.get(name)!.data[j]}`));
          continue;
        }
        assert.deepEqual(t.shape, want.get(name)!.shape, name);
        assert.deepEqual(t.data, want.get(name)!.data, name);
      }
      assert.deepEqual({ ...portConfigFromModel(m.config), initScale: pc.initScale }, pc, `${model}: the config maps back (init_scale is only the port's initialisation)`);
    }
  });

  it('a model of our own architecture is refused for export, with every switch that differs', () => {
    assert.throws(() => portConfigFromModel(MODEL_DEFAULTS), (e: Error) => /not of the port's architecture:\n {2}/.test(e.message) &&
      /latentInput is "projection", the port needs "embedding"/.test(e.message) && /activation is "squared-relu", the port needs "gelu-erf"/.test(e.message) &&
      /padLogit is "learned", the port needs "excluded"/.test(e.message));
  });
});
