// What a page's session runs through the data's modality (src/platform/browser/session-commands.ts),
// run here in Node on the same code path the session worker takes: generate, classify and eval over
// an in-memory file system give the same files and figures as the command line, stream their text,
// notices and progress, and refuse what the command line refuses. The browser tests run the same
// through the playground.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import type { Engine } from '../src/engine.js';
import { syntheticMusicPieces } from '../src/data/modalities/music.js';
import { notesToMidi } from '../src/data/midi.js';
import { encodePng } from '../src/data/png.js';
import type { CheckpointModel } from '../src/models/registry.js';
import { commandForms, runCommand } from '../src/platform/browser/session-commands.js';
import type { RunEvent, RunRequest, RunResult } from '../src/platform/browser/session-protocol.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { Rng } from '../src/tensor/rng.js';
import { runCli } from './helpers/cli.js';
import { rightBar, writeBarImages } from './helpers/bar-images.js';
import { trainByteLevelBpe } from './helpers/tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'session-commands-'));
const buffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

describe('session commands (the modality path a page runs)', () => {
  let engine: Engine;
  const load = (path: string): { model: CheckpointModel; info: ReturnType<typeof decodeCheckpoint>['info'] } => {
    const d = decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
    return { model: d.build(engine), info: d.info };
  };
  const run = (path: string, request: RunRequest): { result: RunResult; events: RunEvent[] } => {
    const { model, info } = load(path), events: RunEvent[] = [];
    const stored = { ...(info.data ? { data: info.data } : {}), ...(info.train ? { train: info.train } : {}) };
    const result = runCommand(model, stored, request, (format) => { model.params.setWeightFormat(engine, format); return model; }, (e) => events.push(e));
    return { result, events };
  };
  const cliJson = (...args: string[]): Record<string, unknown> => {
    const r = runCli(dir, ...args, '--json', '--blas=off');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };
  const music = join(dir, 'music.safetensors'), text = join(dir, 'text.safetensors'), ada = join(dir, 'ada.safetensors');

  before(async () => {
    // One thread and the engine's own kernels, as the command lines below (sums round alike).
    engine = await createEngine({ backend: 'wasm', threads: 1, blas: 'off' });
    const quick = ['--numLayers=1', '--width=32', '--embedDim=32', '--evalBatches=1', '--evalEvery=0', '--quiet'];
    assert.equal(runCli(dir, 'train', '--preset=synthetic-music', ...quick, '--steps=3', `--checkpoint=${music}`).code, 0);
    writeFileSync(join(dir, 'corpus.txt'), 'the quick brown fox jumps over the lazy dog. '.repeat(200));
    assert.equal(runCli(dir, 'train', '--data=text', `--dataPath=${join(dir, 'corpus.txt')}`, '--contextLength=64', '--numLatents=16', '--vocabSize=259',
      '--position=rotary', ...quick, '--steps=3', `--checkpoint=${text}`).code, 0);
    // Labelled 8×8 images: a bright bar on the left (class 0) or the right (class 1).
    const rng = new Rng(4);
    writeBarImages(dir, 'train', 64, rng);
    writeBarImages(dir, 't10k', 16, rng);
    assert.equal(runCli(dir, 'train', '--task=images', `--dataPath=${dir}`, '--patchSize=4', '--bankPatchSize=2', '--width=16', '--numLayers=1', '--steps=3',
      '--batchSize=8', '--evalBatches=1', '--quiet', `--checkpoint=${ada}`).code, 0);
  });
  after(async () => { await engine?.dispose(); });

  it('music: the same .mid and piano roll as perceiver-ar generate, from a prompt file, with its text and progress streamed', () => {
    const piece = notesToMidi(syntheticMusicPieces('validation')[0]!.notes);
    writeFileSync(join(dir, 'piece.mid'), piece);
    const { result, events } = run(music, { command: 'generate', options: { seconds: 3, promptSeconds: 2, seed: 3 }, files: { prompt: { name: 'piece.mid', bytes: buffer(piece) } } });
    const cli = cliJson('generate', `--checkpoint=${music}`, `--prompt=${join(dir, 'piece.mid')}`, '--promptSeconds=2', '--seconds=3', '--seed=3', `--out=${join(dir, 'cli.mid')}`);
    const files = new Map(result.files.map((f) => [f.name, f.bytes]));
    assert.deepEqual([...files.keys()].sort(), ['generated.mid', 'generated.png']);
    assert.deepEqual(files.get('generated.mid'), new Uint8Array(readFileSync(join(dir, 'cli.mid'))));
    assert.deepEqual(files.get('generated.png'), new Uint8Array(readFileSync(join(dir, 'cli.png'))));
    assert.equal(result.metrics.newEvents, cli.newEvents);
    assert.equal(result.metrics.weights, 'bf16');
    assert.ok(events.some((e) => e.type === 'text' && /^wrote generated\.mid .* \(\d+ from the prompt\)/.test(e.text)), JSON.stringify(events));
    // Its output given back as the prompt, under the output's own name: read as input/generated.mid, written beside it.
    const again = run(music, { command: 'generate', options: { seconds: 1 }, files: { prompt: { name: 'generated.mid', bytes: buffer(files.get('generated.mid')!) } } });
    assert.deepEqual(again.result.files.map((f) => f.name).sort(), ['generated.mid', 'generated.png']);
  });

  it('classify: the same class and probabilities as perceiver-ar classify, the heatmap written; eval of a text file as perceiver-ar eval', () => {
    const png = encodePng({ shape: { width: 8, height: 8, channels: 1 }, pixels: rightBar() });
    writeFileSync(join(dir, 'bar.png'), png);
    const { result } = run(ada, { command: 'classify', options: { heatmap: 'heatmap.png' }, files: { image: { name: 'bar.png', bytes: buffer(png) } } });
    const cli = cliJson('classify', `--checkpoint=${ada}`, `--image=${join(dir, 'bar.png')}`);
    assert.deepEqual([result.metrics.predicted, result.metrics.probabilities], [cli.predicted, cli.probabilities]);
    assert.deepEqual(result.files.map((f) => f.name), ['heatmap.png']);
    const corpus = new Uint8Array(readFileSync(join(dir, 'corpus.txt')));
    const e = run(text, { command: 'eval', options: { maxTargets: 256, numLatents: 8, stride: 8 }, files: { dataPath: { name: 'corpus.txt', bytes: buffer(corpus) } } });
    const cliEval = cliJson('eval', `--checkpoint=${text}`, `--dataPath=${join(dir, 'corpus.txt')}`, '--maxTargets=256', '--numLatents=8', '--stride=8');
    assert.equal(e.result.metrics.bitsPerToken, cliEval.bitsPerToken);
    assert.equal(e.result.metrics.part, 'whole file');
    assert.ok(e.events.some((x) => x.type === 'progress' && x.label === 'eval' && x.done === x.total), 'progress reached its total');
  });

  it('subword text: the tokenizer given as a file, the text streamed as the command line prints it', () => {
    const corpus = 'a subword model reads its tokenizer from the page. '.repeat(100);
    writeFileSync(join(dir, 'sub.txt'), corpus);
    const tokenizer = new TextEncoder().encode(JSON.stringify(trainByteLevelBpe(corpus, 40)));
    writeFileSync(join(dir, 'tokenizer.json'), tokenizer);
    const ckpt = join(dir, 'sub.safetensors');
    const t = runCli(dir, 'train', '--preset=enwik8-small', '--data=subword', '--tokenizer=tokenizer.json', '--dataPath=sub.txt', '--contextLength=64', '--numLatents=16',
      '--numLayers=1', '--width=32', '--embedDim=32', '--numHeads=2', '--crossAttendHeads=2', '--steps=3', '--evalBatches=1', '--evalEvery=0', '--quiet', `--checkpoint=${ckpt}`);
    assert.equal(t.code, 0, t.stderr);
    const request: RunRequest = { command: 'generate', options: { prompt: 'a subword', maxNewTokens: 10, seed: 2 }, files: { tokenizer: { name: 'tokenizer.json', bytes: buffer(tokenizer) } } };
    const { events } = run(ckpt, request);
    const cli = runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--prompt=a subword', '--maxNewTokens=10', '--seed=2', '--blas=off');
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join(''), cli.stdout);
    // Without the file the stored path (relative to where training ran) is not in the page's files: one line naming it.
    assert.throws(() => run(ckpt, { command: 'generate', options: { prompt: 'a' } }), /tokenizer\.json/);
  });

  it('text generation streams its text; options are parsed as the command line parses them; each model runs only its own commands', () => {
    const { result, events } = run(text, { command: 'generate', options: { prompt: 'the quick', maxNewTokens: 12, seed: 1, stopAtEos: false } });
    const streamed = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
    assert.equal(result.metrics.tokens, 12);
    const cli = runCli(dir, 'generate', `--checkpoint=${text}`, '--prompt=the quick', '--maxNewTokens=12', '--seed=1', '--stopAtEos=false', '--blas=off');
    assert.equal(streamed, cli.stdout);
    assert.throws(() => run(text, { command: 'generate', options: { bogus: 1 } }), /unknown option --bogus for text data generation; allowed: --weights --prompt/);
    assert.throws(() => run(text, { command: 'generate', options: { temperature: -1 } }), /--temperature=-1 is invalid: a number ≥ 0/);
    assert.throws(() => run(text, { command: 'classify', options: {} }), /classify needs a classifier checkpoint/);
    assert.throws(() => run(ada, { command: 'generate', options: {} }), /generate needs a sequence model; this checkpoint holds a classifier/);
    assert.throws(() => run(ada, { command: 'classify', options: {} }), /classify needs --image=FILE\.png/);
    // The forms a page builds: each command's options as declared, without functions (they cross a postMessage).
    const forms = commandForms(load(text).model, load(text).info.data!);
    assert.deepEqual(Object.keys(forms).sort(), ['eval', 'generate']);
    assert.ok(forms.generate!.options.some((o) => o.name === 'prompt' && o.type === 'string'));
    assert.deepEqual(forms.eval!.files, [{ name: 'dataPath' }]);
    assert.doesNotThrow(() => structuredClone(forms));
    const classifier = commandForms(load(ada).model, load(ada).info.data!);
    assert.deepEqual(classifier.classify!.options, [{ name: 'image', type: 'path', accept: '.png' }, { name: 'heatmap', type: 'path', output: true }]);
  });
});
