// Subword text (data=subword) end to end: a byte-level BPE tokenizer.json made here, training from
// the command line with the vocabulary taken from the tokenizer, bits per token and per byte, and
// generation that prints the decoded text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadTokenizer, memoryFileSystem } from '../src/node.js';
import { streamingDecoder } from '../src/data/modalities/subword.js';
import { failsClearly, runCli } from './helpers/cli.js';
import { trainByteLevelBpe } from './helpers/tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-subword-'));
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'café', 'naïve', '—', 'über'];
let corpus = '';
for (let i = 0; i < 900; i++) corpus += `${words[(i * 7 + ((i * i) % 11)) % words.length]}${i % 13 === 12 ? '.\n' : ' '}`;
const tokenizerJson = trainByteLevelBpe(corpus, 60);
writeFileSync(join(dir, 'corpus.txt'), corpus);
writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
/** The tokenizer's ids (256 bytes and the merges it learned) + PAD/EOS/SOS. */
const vocab = Object.keys((tokenizerJson.model as { vocab: object }).vocab).length + 3;
const cli = (...args: string[]) => runCli(dir, ...args);
const tiny = ['--preset=enwik8-small', '--data=subword', '--tokenizer=tokenizer.json', '--dataPath=corpus.txt', '--contextLength=64', '--numLatents=16',
  '--maxWavelength=64', '--width=32', '--embedDim=32', '--numHeads=2', '--crossAttendHeads=2', '--numLayers=1', '--batchSize=4', '--evalEvery=0',
  '--evalBatches=2', '--validationFraction=0.1', '--crossAttendDropout=0', '--dropout=0', '--learningRate=3e-3'];

describe('subword text', () => {
  it('the tokenizer is lossless on text it has not seen, and names its vocabulary', () => {
    const fs = memoryFileSystem({ 'tok/tokenizer.json': new TextEncoder().encode(JSON.stringify(tokenizerJson)) });
    const t = loadTokenizer(fs, 'tok/tokenizer.json');
    assert.equal(t.vocabSize, vocab);
    const text = 'The über-cat sat; naïve dogs ran — 42 times!\n';
    const ids = t.encode(text);
    assert.ok(ids.every((id) => id >= 3 && id < vocab), 'ids shifted past PAD/EOS/SOS');
    assert.ok(t.encode('the cat sat').length < 'the cat sat'.length, 'merges shorten the text');
    assert.equal(t.decode(ids), text);
  });

  it('trains from the command line, evaluates bits per token and per byte, and generates decoded text', () => {
    const ckpt = join(dir, 'sw.safetensors');
    const train = cli('train', ...tiny, '--steps=300', `--checkpoint=${ckpt}`, '--json');
    assert.equal(train.code, 0, train.stderr);
    const m = JSON.parse(train.stdout.trim().split('\n').pop()!);
    assert.ok(m.bitsPerToken < Math.log2(vocab) / 2, `learned something: ${m.bitsPerToken} bits/token`);
    const info = JSON.parse(cli('info', `--checkpoint=${ckpt}`, '--json').stdout);
    assert.equal(JSON.parse(info.config).vocabSize, vocab, 'the vocabulary came from the tokenizer');
    assert.equal(info.data, 'subword');

    const ev = cli('eval', `--checkpoint=${ckpt}`, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout.trim());
    assert.equal(e.part, 'validation split');
    const validation = new TextEncoder().encode(corpus).length * 0.1;
    assert.ok(e.bytes > 0.5 * validation && e.bytes < 1.5 * validation, `${e.bytes} bytes scored`);
    assert.ok(Math.abs(e.bitsPerByte * e.bytes - e.bitsPerToken * e.tokens) < 1e-6 * e.bitsPerToken * e.tokens, 'the same total, per byte and per token');
    assert.ok(e.bitsPerByte < e.bitsPerToken, 'a token holds more than one byte');
    const whole = JSON.parse(cli('eval', `--checkpoint=${ckpt}`, '--dataPath=corpus.txt', '--maxTargets=100', '--json').stdout.trim());
    assert.deepEqual([whole.part, whole.tokens], ['whole file', 100]);

    const asJson = JSON.parse(cli('generate', `--checkpoint=${ckpt}`, '--prompt=the cat', '--maxNewTokens=24', '--seed=3', '--json').stdout.trim());
    const shown = cli('generate', `--checkpoint=${ckpt}`, '--prompt=the cat', '--maxNewTokens=24', '--seed=3');
    assert.equal(shown.code, 0, shown.stderr);
    const ids = (asJson.ids as string).split(' ').map(Number);
    assert.ok(ids.length > 0 && ids.every((id) => id >= 0 && id < vocab));
    const t = loadTokenizer(memoryFileSystem({ 't.json': readFileSync(join(dir, 'tokenizer.json')) }), 't.json');
    assert.equal(shown.stdout, `${t.decode(ids)}\n`, 'the streamed text is the decoded ids');

    // From another directory the stored relative paths do not resolve; --tokenizer and --dataPath give them again.
    const elsewhere = mkdtempSync(join(tmpdir(), 'perceiver-ar-elsewhere-'));
    failsClearly(runCli(elsewhere, 'eval', `--checkpoint=${ckpt}`), /tokenizer tokenizer\.json does not exist/);
    const moved = runCli(elsewhere, 'eval', `--checkpoint=${ckpt}`, `--tokenizer=${join(dir, 'tokenizer.json')}`, `--dataPath=${join(dir, 'corpus.txt')}`,
      '--maxTargets=100', '--json');
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(JSON.parse(moved.stdout.trim()).bitsPerToken, whole.bitsPerToken);
    assert.equal(runCli(elsewhere, 'generate', `--checkpoint=${ckpt}`, `--tokenizer=${join(dir, 'tokenizer.json')}`, '--maxNewTokens=3').code, 0);
    failsClearly(cli('generate', `--checkpoint=${ckpt}`, '--dataPath=corpus.txt'), /--dataPath does not apply to generate for subword text/);
  });

  it('streams WordPiece and Metaspace text with the context before each token (continuation pieces, leading spaces)', () => {
    const wordPiece = { version: '1.0', added_tokens: [], normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null,
      lowercase: true }, pre_tokenizer: { type: 'BertPreTokenizer' }, post_processor: null, decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
      vocab: { '[UNK]': 0, the: 1, walk: 2, '##ing': 3, '##ed': 4, dog: 5, '.': 6, ',': 7 } } };
    const metaspace = { version: '1.0', added_tokens: [], normalizer: null, post_processor: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
        vocab: { '▁': 0, t: 1, h: 2, e: 3, c: 4, a: 5, '▁t': 6, '▁th': 7, '▁the': 8, '▁c': 9, '▁ca': 10, '▁cat': 11, s: 12, '▁s': 13, '▁sa': 14, '▁sat': 15 },
        merges: ['▁ t', '▁t h', '▁th e', '▁ c', '▁c a', '▁ca t', '▁ s', '▁s a', '▁sa t'] } };
    for (const [json, promptText, whole] of [[wordPiece, 'the walk', 'the walking dog, walked.'], [metaspace, 'the cat', 'the cat sat the cat']] as const) {
      const t = loadTokenizer(memoryFileSystem({ 't.json': new TextEncoder().encode(JSON.stringify(json)) }), 't.json');
      const prompt = [2, ...t.encode(promptText)], all = t.encode(whole), gen = all.slice(prompt.length - 1);
      assert.deepEqual(all.slice(0, prompt.length - 1), prompt.slice(1), 'the prompt is a prefix of the text');
      const decode = streamingDecoder(t, prompt), streamed = gen.map((id) => decode(id)).join('');
      const expected = t.decode(all, { cleanUp: false }).slice(t.decode(prompt, { cleanUp: false }).length);
      assert.equal(streamed, expected);
      assert.notEqual(t.decode(gen), expected, 'decoding the new ids alone would print something else');
    }
  });

  it('refuses a missing tokenizer, a broken one and a vocabulary too small, in one line each', () => {
    failsClearly(cli('train', '--preset=enwik8-small', '--data=subword', '--dataPath=corpus.txt', '--steps=1'), /tokenizer is required when data is 'subword'/);
    writeFileSync(join(dir, 'broken.json'), '{"model": 3');
    failsClearly(cli('train', ...tiny.map((a) => a.replace('tokenizer.json', 'broken.json')), '--steps=1'), /tokenizer broken\.json: not a tokenizer file/);
    failsClearly(cli('train', ...tiny, '--vocabSize=100', '--steps=1'), new RegExp(`subword data with tokenizer tokenizer\\.json needs vocabSize ≥ ${vocab}`));
    failsClearly(cli('train', ...tiny.map((a) => a.replace('tokenizer.json', 'none.json')), '--steps=1'), /tokenizer none\.json does not exist/);
  });
});
