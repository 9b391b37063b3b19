// Cross-attend dropout (spec §5): which inputs each row keeps as keys, in both modes, and that
// evaluation sees every key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { crossAttendKeys } from '../src/models/perceiver-ar/cross-attend-keys.js';
import { layoutLatents, type Batch } from '../src/models/perceiver-ar/layout.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { Rng } from '../src/tensor/rng.js';

/** Rows of the given lengths (right-padded to M) at positions 1…len. */
function batchOf(lengths: number[], M: number): Batch {
  const B = lengths.length, tokens = new Int32Array(B * M), positions = new Int32Array(B * M), targets = new Int32Array(B * M);
  lengths.forEach((len, b) => { for (let j = 0; j < len; j++) { tokens[b * M + j] = 3 + (j % 5); positions[b * M + j] = j + 1; targets[b * M + j] = 4; } });
  return { batchSize: B, length: M, tokens, positions, targets };
}

const rowKeys = (list: ReturnType<typeof crossAttendKeys>, b: number, M: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < list.count; i++) {
    const r = b * list.count + i;
    if (list.valid[r]) { out.push(list.index[r]! - b * M); assert.equal(list.positions[r], list.index[r]! - b * M + 1, 'key position'); }
  }
  return out;
};

describe('cross-attend dropout: the keys each row keeps', () => {
  const M = 20, N = 4, lengths = [20, 13, 5, 3];
  const layout = layoutLatents(batchOf(lengths, M), N);

  it("'subsample' keeps exactly round((1 − rate)·prefix) prefix inputs per row and every latent's own input, in order", () => {
    for (const rate of [0.1, 0.5, 0.9]) {
      const list = crossAttendKeys(layout, rate, 'subsample', new Rng(3));
      assert.equal(list.gathered, true);
      lengths.forEach((len, b) => {
        const first = Math.max(0, len - N), keys = rowKeys(list, b, M);
        const prefixKept = keys.filter((j) => j < first);
        assert.equal(prefixKept.length, Math.round((1 - rate) * first), `rate ${rate}, row ${b}: prefix kept`);
        assert.deepEqual(keys.filter((j) => j >= first), Array.from({ length: len - first }, (_, i) => first + i), `row ${b}: own inputs`);
        assert.deepEqual(keys, [...keys].sort((x, y) => x - y), 'keys in order');
      });
    }
  });

  it("'subsample' draws the kept prefix uniformly (every prefix input kept with probability 1 − rate over many draws)", () => {
    const rng = new Rng(7), draws = 4000, first = 16, counts = new Array<number>(first).fill(0);
    for (let d = 0; d < draws; d++) for (const j of rowKeys(crossAttendKeys(layout, 0.5, 'subsample', rng), 0, M)) if (j < first) counts[j]!++;
    // Each count is Binomial-like with mean 2000 and sd ≈ 32: ±150 is far outside chance.
    for (const [j, n] of counts.entries()) assert.ok(Math.abs(n - draws / 2) < 150, `prefix input ${j} kept ${n} of ${draws} times`);
  });

  it("'mask' hides prefix inputs with probability rate and never a latent's own input", () => {
    const rng = new Rng(9), draws = 2000, first = 16;
    let hidden = 0;
    for (let d = 0; d < draws; d++) {
      const list = crossAttendKeys(layout, 0.3, 'mask', rng);
      assert.equal(list.gathered, false);
      for (let j = first; j < M; j++) assert.equal(list.valid[j], 1, 'own input kept');
      for (let j = 0; j < first; j++) hidden += 1 - list.valid[j]!;
      assert.equal(list.valid[M + 13], 0, 'padding stays invalid');
    }
    assert.ok(Math.abs(hidden / (draws * first) - 0.3) < 0.01, `hidden fraction ${hidden / (draws * first)}`);
  });

  it('at evaluation (rate 0, no rng) every valid input is a key', () => {
    const list = crossAttendKeys(layout, 0, 'subsample', null);
    assert.equal(list.count, M);
    lengths.forEach((len, b) => assert.deepEqual(rowKeys(list, b, M), Array.from({ length: len }, (_, j) => j)));
    assert.throws(() => crossAttendKeys(layout, 0.5, 'subsample', null), /dropout needs an rng/);
  });

  it('a model with cross-attend dropout gives, without training, the logits of the same weights without dropout', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const c: ModelConfig = { ...MODEL_DEFAULTS, vocabSize: 9, contextLength: M, numLatents: N, numLayers: 1, width: 8, embedDim: 8, numHeads: 2,
      crossAttendHeads: 2, mlpRatio: 2, maxWavelength: 32, maxPosition: 32, dropout: 0 };
    const batch = batchOf(lengths, M);
    const plain = new PerceiverAR(engine, c, 2);
    new Rng(1).fillUniform(plain.params.get('head.w').value, 0.5);
    plain.forward(batch);
    const want = Float32Array.from(plain.logits());
    for (const mode of ['subsample', 'mask'] as const) {
      const dropped = new PerceiverAR(engine, { ...c, crossAttendDropout: 0.5, crossAttendDropoutMode: mode }, 2);
      dropped.params.get('head.w').value.set(plain.params.get('head.w').value);
      dropped.forward(batch);
      assert.deepEqual(Array.from(dropped.logits()), Array.from(want), mode);
      const trained = dropped.forward(batch, { training: true, rng: new Rng(5) });
      assert.ok(trained.loss !== plain.forward(batch).loss, `${mode}: training does drop keys`);
    }
  });
});
