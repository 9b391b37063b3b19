// Text models of the PyTorch port (data=port-text): a folder as the hub holds one — config.json,
// pytorch_model.bin, tokenizer.json — generates text from a text prompt whose ids are the
// tokenizer's + 1 (no start token), scores a text file, and import stores the tokenizer as its data.
// The model is tiny and random (the port's clm-base cannot be downloaded here); the tokenizer is a
// byte-level BPE trained in the test, in the tokenizer.json format.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { createEngine } from '../src/node.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { readPortConfig } from '../src/models/perceiver-ar/port-config.js';
import { modelConfigFromPort } from '../src/models/perceiver-ar/port-weights.js';
import { exportPortFiles } from '../src/train/port-checkpoint.js';
import { readCheckpointInfo } from '../src/platform/node/checkpoint.js';
import { failsClearly, runCli } from './helpers/cli.js';
import { trainByteLevelBpe } from './helpers/tokenizer.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat by the log. '.repeat(20);

describe('data=port-text: a text model of the port with its tokenizer.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'par-port-text-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(dir, ...args);

  it('generates from a text prompt (the tokenizer\'s ids + 1), scores a text file, and import stores the tokenizer', async () => {
    const tokenizerJson = trainByteLevelBpe(TEXT, 40), tokenizer = new Tokenizer(tokenizerJson, {});
    const vocab = 256 + 40;
    const pc = readPortConfig({ model_config: { vocab_size: vocab, max_seq_len: 64, max_latents: 16, num_channels: 16, num_heads: 2, num_self_attention_layers: 1,
      output_norm: true, output_bias: false, abs_pos_emb: false } }, 'clm-tiny.json');
    const engine = await createEngine({ backend: 'reference' }), model = new PerceiverAR(engine, modelConfigFromPort(pc).config, 7);
    const files = exportPortFiles(model.config, model.params);
    mkdirSync(join(dir, 'clm'));
    writeFileSync(join(dir, 'clm', 'config.json'), files['config.json']);
    writeFileSync(join(dir, 'clm', 'pytorch_model.bin'), files['pytorch_model.bin']);
    writeFileSync(join(dir, 'clm', 'tokenizer.json'), JSON.stringify(tokenizerJson));
    writeFileSync(join(dir, 'text.txt'), TEXT);
    assert.equal(readCheckpointInfo(join(dir, 'clm')).data?.data, 'port-text', 'a folder with tokenizer.json is text');

    const prompt = 'the cat sat';
    const ids = (tokenizer.encode(prompt, { add_special_tokens: false }).ids as number[]).map((t) => t + 1).join(' ');
    const common = ['--checkpoint=clm', '--maxNewTokens=12', '--temperature=0', '--blas=off', '--threads=1'];
    const byText = cli('generate', ...common, `--prompt=${prompt}`, '--json'), byIds = cli('generate', ...common, `--promptIds=${ids}`, '--json');
    assert.equal(byText.code, 0, byText.stderr);
    assert.equal((JSON.parse(byText.stdout) as { ids: string }).ids, (JSON.parse(byIds.stdout) as { ids: string }).ids, 'the prompt is the tokenizer\'s ids + 1');
    const shown = cli('generate', ...common, `--prompt=${prompt}`);
    assert.equal(shown.code, 0, shown.stderr);
    const sampled = (JSON.parse(byText.stdout) as { ids: string }).ids.split(' ').map((t) => Number(t) - 1);
    // (Streaming holds back a character whose bytes have not all arrived: a random model's text may end inside one.)
    const decoded = (tokenizer.decode(sampled, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) as string).replace(/\uFFFD+$/, '');
    assert.equal(shown.stdout.replace(/\n$/, ''), decoded, 'the printed text is the tokenizer\'s decoding of the sampled ids − 1');
    failsClearly(cli('generate', '--checkpoint=clm', '--maxNewTokens=4'), /this model has no start token: give a prompt/);

    const ev = cli('eval', '--checkpoint=clm', '--dataPath=text.txt', '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout) as { nats: number; bitsPerByte: number; tokens: number };
    assert.ok(e.tokens > 100 && Math.abs(e.nats - Math.log(vocab)) < 1.5 && e.bitsPerByte > 0, ev.stdout);

    const imp = cli('import', '--from=clm', '--out=clm.safetensors');
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /data: port-text/);
    assert.equal(readCheckpointInfo(join(dir, 'clm.safetensors')).data?.tokenizer, join(dir, 'clm', 'tokenizer.json'));
    // Naming the kind keeps the tokenizer that came with the model.
    assert.equal(cli('import', '--from=clm', '--data=port-text', '--out=clm2.safetensors').code, 0);
    assert.equal(readCheckpointInfo(join(dir, 'clm2.safetensors')).data?.tokenizer, join(dir, 'clm', 'tokenizer.json'));
  });
});
