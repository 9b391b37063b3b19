// The PyTorch port's config.json and state-dict layout (src/models/perceiver-ar/port-config.ts),
// checked against the published figures of spec krasserm-interop: the giant-midi model's
// parameter count (134,840,832) and shapes, the port's defaults, and one line per problem.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { readTorchStateDict } from '../src/io/torch-checkpoint.js';
import { portForward, erf } from './helpers/port-forward.js';
import { checkPortStateDict, portParameterCount, portStateDictShapes, readPortConfig } from '../src/models/perceiver-ar/port-config.js';

/** Tiny models built by the port's own code (scripts/interop/make-port-fixtures.py), with the parameter counts it printed. */
const PORT_FIXTURES = { 'rotary-1': 12_992, 'rotary-all': 12_992, 'abs-bias': 13_367, 'abs-norm-bias': 13_399 };
const portFile = (model: string, name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../test/fixtures/port/${model}/${name}`, import.meta.url)));

const GIANT_MIDI = {
  model_config: {
    vocab_size: 389, max_seq_len: 6144, max_latents: 2048, num_channels: 768, num_heads: 8, max_heads_parallel: null, num_self_attention_layers: 18,
    num_self_attention_rotary_layers: 1, self_attention_widening_factor: 4, cross_attention_widening_factor: 4, cross_attention_dropout: 0.5,
    post_attention_dropout: 0, residual_dropout: 0, output_norm: true, output_bias: false, abs_pos_emb: false, init_scale: 0.02, activation_checkpointing: false,
  },
};

describe('the PyTorch port\'s config and state-dict layout', () => {
  it('giant-midi: 134,840,832 parameters, the shapes of spec §3, no position table and no output bias', () => {
    const c = readPortConfig(GIANT_MIDI, 'config.json'), shapes = portStateDictShapes(c);
    assert.equal(portParameterCount(c), 134_840_832);
    assert.deepEqual(shapes.get('input_adapter.txt_embedding.weight')!.shape, [389, 768]);
    assert.deepEqual(shapes.get('cross_attention.1.module.1.weight')!.shape, [3072, 768]);
    assert.deepEqual(shapes.get('self_attention.17.1.module.3.weight')!.shape, [768, 3072]);
    assert.deepEqual(shapes.get('input_adapter.frq_pos_encoding.inv_freq'), { shape: [48], buffer: true }, 'rotary on all 96 channels of a head: 48 frequencies');
    assert.ok(shapes.has('out_norm.weight') && !shapes.has('output_adapter.bias') && !shapes.has('input_adapter.pos_embedding.weight'));
    assert.ok(!shapes.has('self_attention.18.0.module.norm.weight'));
  });

  it('missing fields take the port\'s defaults; every problem is named on its own line', () => {
    const d = readPortConfig({ model_config: {} }, 'empty.json');
    assert.deepEqual([d.vocabSize, d.maxSeqLen, d.maxLatents, d.channels, d.heads, d.selfAttentionLayers, d.selfAttentionRotaryLayers, d.outputNorm, d.outputBias, d.absPosEmb],
      [262, 4096, 512, 512, 8, 8, 1, false, true, true]);
    // With the absolute table, rotary takes half of a head's 64 channels: 16 frequencies; the bias and table are there.
    const shapes = portStateDictShapes(d);
    assert.deepEqual([shapes.get('input_adapter.frq_pos_encoding.inv_freq')!.shape, shapes.get('input_adapter.pos_embedding.weight')!.shape, shapes.get('output_adapter.bias')!.shape],
      [[16], [4096, 512], [262]]);
    assert.throws(() => readPortConfig({ model_config: { num_heads: 0, output_norm: 'yes', colour: 'blue' } }, 'bad.json'),
      (e: Error) => /^bad\.json: \n {2}unknown field colour .*\n {2}num_heads is 0: must be an integer ≥ 1\n {2}output_norm is "yes": must be true or false$/.test(e.message));
    assert.throws(() => readPortConfig({ num_channels: 100, num_heads: 8 }, 'odd.json'), /odd\.json: num_channels \(100\) must be a multiple of num_heads \(8\)/);
    assert.throws(() => readPortConfig({ num_channels: 48, num_heads: 8 }, 'rot.json'), /rot\.json: the rotary dimensions per head \(3: .* \/ 2 with abs_pos_emb\) must be even/);
    assert.throws(() => readPortConfig([1], 'array.json'), /array\.json: not a JSON object/);
  });

  it('a state dict is checked tensor by tensor, with the hub\'s or Lightning\'s prefix removed', () => {
    const c = readPortConfig({ model_config: { vocab_size: 11, num_channels: 8, num_heads: 2, num_self_attention_layers: 2, max_seq_len: 16, max_latents: 8, output_norm: true } }, 'tiny.json');
    const full = new Map([...portStateDictShapes(c)].map(([n, s]) => [`backend_model.${n}`, { shape: s.shape }]));
    assert.equal(checkPortStateDict(full, c, 'tiny.bin').size, full.size);
    const lightning = new Map([...full].map(([n, t]) => [n.replace('backend_model.', 'model.'), t]).filter(([n]) => !String(n).endsWith('inv_freq')) as [string, { shape: number[] }][]);
    assert.equal(checkPortStateDict(lightning, c, 'tiny.ckpt').size, full.size - 1, 'the rotary buffer may be left out');
    const broken = new Map(full);
    broken.delete('backend_model.self_attention.1.0.module.attention.q_proj.weight');
    broken.set('backend_model.extra.weight', { shape: [1] });
    broken.set('backend_model.out_norm.weight', { shape: [9] });
    broken.set('backend_model.input_adapter.txt_embedding.weight', { shape: [8, 11] });
    assert.throws(() => checkPortStateDict(broken, c, 'broken.bin'), (e: Error) => e.message === 'broken.bin: \n' +
      '  missing tensor self_attention.1.0.module.attention.q_proj.weight\n  unknown tensor extra.weight\n' +
      '  input_adapter.txt_embedding.weight is [8, 11], the config needs [11, 8]\n  out_norm.weight is [9], the config needs [8]');
  });

  it('erf (for the exact GELU) to 1e-12', () => {
    // Values from the series of erf computed with 50 digits.
    for (const [x, want] of [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2.5, 0.999593047982555], [3.5, 0.9999992569016276], [-1.2, -0.9103139782296353]] as const) {
      assert.ok(Math.abs(erf(x) - want) < 1e-12, `erf(${x}) = ${erf(x)}`);
    }
  });

  for (const [model, count] of Object.entries(PORT_FIXTURES)) {
    it(`${model}: the port's own config.json and pytorch_model.bin read and checked tensor by tensor (${count} parameters)`, () => {
      const c = readPortConfig(JSON.parse(new TextDecoder().decode(portFile(model, 'config.json'))), `${model}/config.json`);
      const tensors = checkPortStateDict(readTorchStateDict(portFile(model, 'pytorch_model.bin'), `${model}/pytorch_model.bin`), c, model);
      assert.equal(portParameterCount(c), count);
      assert.equal([...tensors].filter(([n]) => !n.endsWith('inv_freq')).reduce((a, [, t]) => a + t.data.length, 0), count);
      assert.equal(tensors.size, portStateDictShapes(c).size, 'every tensor of the layout, the rotary buffer too');
      // The forward pass as the spec writes it (a float64 oracle) gives the port's logits.
      const { cases } = JSON.parse(new TextDecoder().decode(portFile(model, 'logits.json'))) as { cases: { ids: number[][]; prefixLength: number; logits: number[][][] }[] };
      let worst = 0;
      for (const k of cases) {
        k.ids.forEach((ids, b) => {
          const ours = portForward(tensors, c, ids, k.prefixLength);
          assert.equal(ours.length, ids.length - k.prefixLength);
          ours.forEach((row, i) => row.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - k.logits[b]![i]![j]!)); }));
        });
      }
      // float32 (the port) against float64 (the oracle): 7.2e-7 at most today on logits within ±1.4.
      assert.ok(worst < 2e-6, `largest logit difference ${worst}`);
    });
  }
});
