// The scale-out route (docs/scale-out.md) as far as this machine allows, from fixtures made with the
// PyTorch port's own code (scripts/interop/port-roundtrip.py): a model trained here on the port's
// architecture (preset port-mirrored-32, narrowed) and exported (`perceiver-ar export`) loaded into
// the port's model class with strict load_state_dict; its logits there are ours; one AdamW step in
// PyTorch, saved in the hub's layout, comes back through `perceiver-ar import` with the port's
// logits after the step (and they moved). And the command line: import, export, generate/eval/info
// straight from a port folder, and clear one-line refusals.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/node.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { exportPortFiles, portCheckpoint } from '../src/train/port-checkpoint.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { encodeCheckpoint } from '../src/train/checkpoint.js';
import { readPortConfig } from '../src/models/perceiver-ar/port-config.js';
import { modelConfigFromPort } from '../src/models/perceiver-ar/port-weights.js';
import { DATA_DEFAULTS } from '../src/data/registry.js';
import type { DataConfig } from '../src/data/modality.js';
import { decodePortTokens, encodePortMidi } from '../src/data/port-music.js';
import { midiToNotes } from '../src/data/midi.js';
import { failsClearly, runCli } from './helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/port-roundtrip/', import.meta.url));
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, p)));
const folder = (name: string) => ({ config: read(`${name}/config.json`), configName: `${name}/config.json`, weights: read(`${name}/pytorch_model.bin`),
  weightsName: `${name}/pytorch_model.bin` });
const trip = JSON.parse(readFileSync(join(FIXTURES, 'stepped/roundtrip.json'), 'utf8')) as
  { ids: number[][]; prefixLength: number; loss: number; logitsBefore: number[][][]; logitsAfter: number[][][] };

/** Our logits for the fixture's rows (port ids + 1) against the port's: the largest difference. */
function largestDifference(model: PerceiverAR, want: number[][][]): number {
  const V = model.config.vocabSize;
  let worst = 0;
  trip.ids.forEach((ids, b) => {
    const N = ids.length - trip.prefixLength;
    model.forward({ batchSize: 1, length: ids.length, tokens: Int32Array.from(ids, (t) => t + 1), positions: Int32Array.from(ids, (_, j) => j + 1),
      targets: new Int32Array(ids.length) }, { numLatents: N });
    const logits = model.logits();
    for (let i = 0; i < N; i++) for (let t = 0; t < V - 1; t++) worst = Math.max(worst, Math.abs(logits[i * V + t + 1]! - want[b]![i]![t]!));
  });
  return worst;
}

describe('export → the port (one PyTorch step) → import', () => {
  it('the port loads our export strictly and computes our logits; its step comes back with its logits, which moved', async () => {
    const engine = await createEngine({ backend: 'wasm', threads: 2 });
    const exported = decodeCheckpoint(portCheckpoint(folder('exported')).bytes, 'exported').build(engine) as PerceiverAR;
    assert.ok(largestDifference(exported, trip.logitsBefore) < 1e-4, 'before the step');
    // Exporting what was imported writes the same file byte for byte (the writer is deterministic and lossless).
    assert.deepEqual(exportPortFiles(exported.config, exported.params)['pytorch_model.bin'], read('exported/pytorch_model.bin'));
    const stepped = decodeCheckpoint(portCheckpoint(folder('stepped')).bytes, 'stepped').build(engine) as PerceiverAR;
    assert.ok(largestDifference(stepped, trip.logitsAfter) < 1e-4, 'after the step');
    assert.ok(largestDifference(stepped, trip.logitsBefore) > 1e-3, 'the step changed the logits');
  });
});

describe('perceiver-ar import / export and port folders as checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'par-port-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(dir, ...args);

  it('import writes a checkpoint; generate, eval and info read it and the port folder alike; export gives back the same file', () => {
    const r = cli('import', `--from=${join(FIXTURES, 'stepped')}`, '--out=imported.safetensors', '--data=mirrored');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote imported\.safetensors: 34,336 parameters from .*pytorch_model\.bin .*data: mirrored/);
    const info = JSON.parse(cli('info', `--checkpoint=${join(FIXTURES, 'stepped')}`, '--json').stdout) as { parameters: number; config: string };
    assert.equal(info.parameters, 34_336);
    assert.equal(JSON.parse(info.config).latentKeyNorm, 'query');
    const fromFile = cli('generate', '--checkpoint=imported.safetensors', '--maxNewTokens=8', '--temperature=0', '--json', '--blas=off');
    const fromFolder = cli('generate', `--checkpoint=${join(FIXTURES, 'stepped')}`, '--maxNewTokens=8', '--temperature=0', '--json', '--blas=off');
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal((JSON.parse(fromFile.stdout) as { ids: string }).ids, (JSON.parse(fromFolder.stdout) as { ids: string }).ids);
    const ev = cli('eval', '--checkpoint=imported.safetensors', '--json');
    assert.equal(ev.code, 0, ev.stderr);
    assert.ok(Number.isFinite((JSON.parse(ev.stdout) as { nats: number }).nats));
    const ex = cli('export', '--checkpoint=imported.safetensors', '--out=back');
    assert.equal(ex.code, 0, ex.stderr);
    // The exported folder holds the imported tensors, value for value.
    const back = decodeSafetensors(portCheckpoint({ config: new Uint8Array(readFileSync(join(dir, 'back', 'config.json'))), configName: 'back/config.json',
      weights: new Uint8Array(readFileSync(join(dir, 'back', 'pytorch_model.bin'))), weightsName: 'back/pytorch_model.bin' }).bytes).tensors;
    const imported = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'imported.safetensors')))).tensors;
    assert.deepEqual([...back.keys()], [...imported.keys()]);
    for (const [k, t] of back) assert.deepEqual(t.data, imported.get(k)!.data, k);
  });

  it('refuses with one line: a folder without config.json, weights without config beside them, a wrong shape, our own model for export', () => {
    mkdirSync(join(dir, 'bare'));
    copyFileSync(join(FIXTURES, 'stepped/pytorch_model.bin'), join(dir, 'bare', 'pytorch_model.bin'));
    failsClearly(cli('info', '--checkpoint=bare'), /bare is a folder without config\.json/);
    failsClearly(cli('import', '--from=bare/pytorch_model.bin', '--out=x.safetensors'), /holds PyTorch weights; .*config\.json, which is not beside it/);
    const config = JSON.parse(readFileSync(join(FIXTURES, 'stepped/config.json'), 'utf8')) as { model_config: Record<string, unknown> };
    writeFileSync(join(dir, 'bare', 'config.json'), JSON.stringify({ model_config: { ...config.model_config, self_attention_widening_factor: 2, cross_attention_widening_factor: 2 } }));
    failsClearly(cli('import', '--from=bare', '--out=x.safetensors'), /self_attention\.0\.1\.module\.1\.weight is \[128, 32\], the config needs \[64, 32\]/, 8);
    const own = cli('train', '--preset=mirrored-32-small', '--steps=1', '--checkpoint=own.safetensors');
    assert.equal(own.code, 0, own.stderr);
    failsClearly(cli('export', '--checkpoint=own.safetensors', '--out=own'), /not of the port's architecture:/, 30);
    assert.ok(!existsSync(join(dir, 'own')), 'a refused export makes no folder');
    // A port folder exported onto itself would overwrite what it reads.
    mkdirSync(join(dir, 'self'));
    for (const f of ['config.json', 'pytorch_model.bin']) copyFileSync(join(FIXTURES, 'stepped', f), join(dir, 'self', f));
    failsClearly(cli('export', '--checkpoint=self', '--out=self'), /export self\/(config\.json|pytorch_model\.bin).*input/);
    failsClearly(cli('import', '--from=own.safetensors', '--out=y.safetensors'), /one of this library's checkpoints already/);
    // Safetensors weights from elsewhere need the port's config: beside them, or named.
    mkdirSync(join(dir, 'st'));
    writeFileSync(join(dir, 'st', 'model.safetensors'), encodeSafetensors(new Map([['backend_model.x', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]]), {}));
    failsClearly(cli('import', '--from=st/model.safetensors', '--out=y.safetensors'), /holds weights from elsewhere, and the port's config\.json is not beside it/);
    failsClearly(cli('info', '--checkpoint=st/model.safetensors'), /not a perceiver-ar checkpoint/);
    failsClearly(cli('import', '--from=st/model.safetensors', `--config=${join(FIXTURES, 'stepped/config.json')}`, '--out=y.safetensors'),
      /missing tensors input_adapter\.txt_embedding\.weight, .*\n {2}unknown tensor x/, 3);
  });
});

describe('a port-architecture model trained here with a longer context exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'par-port-ctx-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('--contextLength=64 (the command line then widens the table to 65 rows): the port gets its 64', () => {
    const t = runCli(dir, 'train', '--preset=port-mirrored-32', '--contextLength=64', '--steps=1', '--checkpoint=long.safetensors');
    assert.equal(t.code, 0, t.stderr);
    const e = runCli(dir, 'export', '--checkpoint=long.safetensors', '--out=long');
    assert.equal(e.code, 0, e.stderr);
    assert.equal(JSON.parse(readFileSync(join(dir, 'long', 'config.json'), 'utf8')).model_config.max_seq_len, 64);
    assert.equal(runCli(dir, 'generate', '--checkpoint=long', '--maxNewTokens=3').code, 0, 'and reads back');
  });
});

describe("data=port-music: the port's music tokens as a kind of data", () => {
  const dir = mkdtempSync(join(tmpdir(), 'par-port-music-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(dir, ...args);
  const MUSIC = fileURLToPath(new URL('../../test/fixtures/port-music/', import.meta.url));

  it('a port music model (random weights, the giant-midi pattern, tiny) continues a .mid for N seconds, scores MIDI files, and trains on them', async () => {
    // The giant-midi configuration scaled down, built as an import would build it.
    const pc = readPortConfig({ model_config: { vocab_size: 389, max_seq_len: 96, max_latents: 16, num_channels: 16, num_heads: 2, num_self_attention_layers: 1,
      output_norm: true, output_bias: false, abs_pos_emb: false } }, 'tiny.json');
    const engine = await createEngine({ backend: 'reference' });
    const model = new PerceiverAR(engine, modelConfigFromPort(pc).config, 5);
    writeFileSync(join(dir, 'music.safetensors'), encodeCheckpoint(model, { data: { ...DATA_DEFAULTS, data: 'port-music' } as DataConfig, optimizer: false }));
    const prompt = join(MUSIC, 'melody.mid');
    const r = cli('generate', '--checkpoint=music.safetensors', `--prompt=${prompt}`, '--seconds=2', '--out=cont.mid', '--json');
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { newTokens: number; musicSeconds: number; promptTokens: number; notes: number };
    assert.ok(m.musicSeconds >= 2 && m.newTokens > 0, r.stdout);
    assert.equal(m.promptTokens, encodePortMidi(new Uint8Array(readFileSync(prompt)), 'melody.mid').length);
    // The written piece begins with the prompt: the port decoder's notes of the prompt's tokens.
    const written = midiToNotes(new Uint8Array(readFileSync(join(dir, 'cont.mid'))), 'cont.mid').notes;
    const promptNotes = decodePortTokens(encodePortMidi(new Uint8Array(readFileSync(prompt)), 'melody.mid'));
    assert.ok(written.length >= promptNotes.length);
    promptNotes.forEach((n, i) => { assert.equal(written[i]!.pitch, n.pitch); assert.ok(Math.abs(written[i]!.start - n.start) < 0.01); });
    assert.ok(readFileSync(join(dir, 'cont.png')).length > 100, 'the piano roll beside it');
    // Scores a folder of MIDI files (every file, as the port's tokens).
    const ev = cli('eval', '--checkpoint=music.safetensors', `--dataPath=${MUSIC}`, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout) as { nats: number; tokens: number };
    assert.ok(e.tokens > 100 && Math.abs(e.nats - Math.log(388)) < 1, `a random model scores about ln 388 nats: ${ev.stdout}`);
    // A file that is not MIDI is skipped with a line; the rest is scored.
    mkdirSync(join(dir, 'mixed'));
    copyFileSync(join(MUSIC, 'melody.mid'), join(dir, 'mixed', 'melody.mid'));
    writeFileSync(join(dir, 'mixed', 'broken.mid'), 'not midi');
    const mixed = cli('eval', '--checkpoint=music.safetensors', '--dataPath=mixed');
    assert.equal(mixed.code, 0, mixed.stderr);
    assert.match(mixed.stderr, /skipped mixed\/broken\.mid: MIDI file .*not a standard MIDI file/);
    // Trains on them (the port's architecture, from the preset) and saves a checkpoint that exports.
    const t = cli('train', '--preset=port-mirrored-32', '--data=port-music', `--dataPath=${MUSIC}`, '--validationFraction=0.2', '--steps=3', '--targetAccuracy=0',
      '--checkpoint=trained.safetensors');
    assert.equal(t.code, 0, t.stderr);
    assert.equal(cli('export', '--checkpoint=trained.safetensors', '--out=trained').code, 0);
    assert.equal(JSON.parse(readFileSync(join(dir, 'trained', 'config.json'), 'utf8')).model_config.vocab_size, 389);
  });
});
