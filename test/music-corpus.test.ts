// Music corpora from directories, a tiny music model that learns inside the suite, sampling that
// never emits PAD/SOS, and the music CLI (generate → .mid + piano roll, eval, pianoroll, bad files).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMidi } from 'midi-file';
import { PNG } from 'pngjs';
import { createEngine } from '../src/node.js';
import { notesToMidi } from '../src/data/midi.js';
import { musicSource, type Piece } from '../src/data/music-source.js';
import { encodePiece, MUSIC_VOCAB, notesToEvents, type Note } from '../src/data/music.js';
import { memoryFileSystem, pianoRoll, pianorollTool } from '../src/node.js';
import { drawText, textSize } from '../src/data/bitmap-font.js';
import { pitchName, tickStep } from '../src/data/pianoroll.js';
import { createProgress } from '../src/io/progress.js';
import { PAD, SOS } from '../src/data/vocab.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { readMidiCorpus } from '../src/platform/node/music-files.js';
import { syntheticMusicPieces } from '../src/data/modalities/music.js';
import { continueMusic } from '../src/sample/continue-music.js';
import { generate } from '../src/sample/generate.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/tensor/rng.js';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-music-'));
/** A rising scale from `root`, `count` notes of 0.1 s. */
const scale = (root: number, count: number): Note[] => Array.from({ length: count }, (_, i) => ({ pitch: root + [0, 2, 4, 5, 7, 9, 11, 12][i % 8]!,
  velocity: 80, start: i * 0.1, end: (i + 1) * 0.1 }));
const piece = (name: string, notes: Note[]): Piece => ({ name, notes, events: notesToEvents(notes).events });
const tiny = (M: number, N: number): ModelConfig => ({ ...MODEL_DEFAULTS, vocabSize: MUSIC_VOCAB, contextLength: M, numLatents: N, numLayers: 1, width: 32,
  embedDim: 32, numHeads: 2, crossAttendHeads: 2, position: 'rotary', maxWavelength: 256, maxPosition: M + 1, dropout: 0 });

describe('MIDI corpora', () => {
  it('reads a directory recursively, skips unreadable and empty files with one warning each, and summarises', () => {
    const corpus = join(dir, 'corpus');
    mkdirSync(join(corpus, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(corpus, 'a.mid'), notesToMidi(scale(60, 16)));
    writeFileSync(join(corpus, 'sub', 'deeper', 'b.MIDI'), notesToMidi(scale(50, 8)));
    writeFileSync(join(corpus, 'sub', 'broken.mid'), new Uint8Array([0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0]));
    writeFileSync(join(corpus, 'silent.mid'), notesToMidi([]));
    writeFileSync(join(corpus, 'notes.txt'), 'not music');
    const c = readMidiCorpus(corpus);
    assert.deepEqual(c.pieces.map((p) => p.name), ['a.mid', join('sub', 'deeper', 'b.MIDI')]);
    assert.equal(c.warnings.length, 2);
    assert.match(c.warnings.join('\n'), /skipped MIDI file silent\.mid: no notes/);
    assert.match(c.warnings.join('\n'), /skipped MIDI file sub\/broken\.mid: not a standard MIDI file/);
    assert.match(c.summary, /2 pieces, \d+ events, .* 2 of 4 files skipped/);
    const none = join(dir, 'none');
    mkdirSync(none);
    writeFileSync(join(none, 'x.mid'), 'garbage');
    assert.throws(() => readMidiCorpus(none), /none of the 1 files could be used/);
    assert.throws(() => readMidiCorpus(join(dir, 'missing')), /does not exist/);
  });

  it('training crops stay inside one piece (SOS first when the prefix fits) and augmentation transposes within range', () => {
    const pieces = [piece('p0', scale(60, 8)), piece('p1', scale(40, 8))];
    const src = musicSource(pieces, [piece('v', scale(62, 8))], 'test', true);
    const b = src.trainBatch(new Rng(1), 16, 64, 0);
    for (let r = 0; r < 16; r++) {
      assert.equal(b.tokens[r * 64], SOS, 'a short piece is cropped from SOS');
      for (let j = 0; j < 64; j++) if (b.tokens[r * 64 + j] !== PAD) assert.equal(b.positions[r * 64 + j], j + 1);
    }
    assert.equal(src.validationBatches(2, 64, 1)[0]!.tokens[0], SOS);
    // Each row starts at SOS, then its first note-on: the piece's root (60 or 40) moved by the row's transposition.
    // (A crop may end before its first note-on: such rows say nothing.)
    const shifts = Array.from({ length: 16 }, (_, r) => Array.from(b.tokens.subarray(r * 64 + 1, r * 64 + 64)).find((id) => id >= 3 && id < 3 + 88))
      .filter((id): id is number => id !== undefined).map((id) => {
        const pitch = id - 3 + 21;
        return Math.abs(pitch - 60) <= 3 ? pitch - 60 : pitch - 40;
      });
    assert.ok(shifts.length >= 8, `${shifts.length} rows with a note`);
    assert.ok(shifts.every((x) => Math.abs(x) <= 3), `shifts ${shifts}`);
    assert.ok(shifts.some((x) => x !== 0), `some row is transposed: ${shifts}`);
    const plainRows = musicSource(pieces, [], 'test', false).trainBatch(new Rng(1), 16, 64, 0);
    for (let r = 0; r < 16; r++) {
      const first = Array.from(plainRows.tokens.subarray(r * 64 + 1, r * 64 + 64)).find((id) => id >= 3 && id < 3 + 88);
      if (first !== undefined) assert.ok(first - 3 + 21 === 60 || first - 3 + 21 === 40, 'without augmentation no row is transposed');
    }
  });
});

describe('music data edges', () => {
  it('with augmentation the largest position is the longest piece over every time stretch (a middle stretch can be the longest)', () => {
    const lengths = (notes: Note[]): number[] => [0.95, 0.975, 1, 1.025, 1.05]
      .map((st) => encodePiece(notesToEvents(notes.map((n) => ({ ...n, start: n.start * st, end: n.end * st }))).events).length);
    // Gaps of 0.98 s take one time shift each; ×1.05 makes them 1.029 s: two each.
    const gaps = Array.from({ length: 20 }, (_, i) => ({ pitch: 60, velocity: 80, start: i * 1.03, end: i * 1.03 + 0.05 }));
    assert.ok(lengths(gaps)[4]! > lengths(gaps)[2]!);
    assert.equal(musicSource([piece('gaps', gaps)], [], 'gaps', true).maxPosition(4096), Math.max(...lengths(gaps)));
    assert.equal(musicSource([piece('gaps', gaps)], [], 'gaps', false).maxPosition(4096), lengths(gaps)[2]);
    // Dense random pieces: find one whose longest stretch is neither ×1 nor ×1.05 (close marks merge or split at quantisation).
    const rng = new Rng(7);
    let found: Note[] | null = null;
    for (let t = 0; t < 200 && !found; t++) {
      let time = 0;
      const notes = Array.from({ length: 300 }, () => { time += rng.int(4) * 0.007; return { pitch: 40 + rng.int(40), velocity: 1 + rng.int(127), start: time, end: time + 0.01 + rng.int(30) * 0.01 }; });
      const l = lengths(notes);
      if (Math.max(l[0]!, l[1]!, l[3]!) > Math.max(l[2]!, l[4]!)) found = notes;
    }
    assert.ok(found, 'a piece whose longest stretch is a middle one');
    assert.equal(musicSource([piece('dense', found!)], [], 'dense', true).maxPosition(4096), Math.max(...lengths(found!)));
  });

  it('the piano roll shows notes outside the 88 keys (which training drops) in grey on grey rows; pianoroll counts them', () => {
    const notes = [{ pitch: 15, velocity: 127, start: 0, end: 1 }, { pitch: 60, velocity: 127, start: 0, end: 1 }];
    const img = pianoRoll(notes, { pixelsPerSecond: 10, pixelsPerPitch: 4 });
    const lo = 13, hi = 74, at = (pitch: number, x: number): number[] => {
      const i = (((hi - pitch) * 4 + 1) * img.shape.width + img.plot.left + x) * 3;
      return Array.from(img.pixels.subarray(i, i + 3));
    };
    assert.equal(img.plot.height, (hi - lo + 1) * 4);
    assert.deepEqual(at(15, 5), [150, 150, 150], 'the dropped note is grey');
    assert.deepEqual(at(60, 5), [31, 119, 180], 'a kept note is blue');
    assert.deepEqual(at(18, 5), [236, 236, 236], 'a row below A0 is shaded');
    assert.deepEqual(at(30, 5), [255, 255, 255], 'a row on the keyboard is white');
    const logs: string[] = [];
    const fs = memoryFileSystem({ 'low.mid': notesToMidi(notes) });
    const r = pianorollTool('low.mid', { out: 'low.png', keepDrums: false },
      { fs, json: true, inputs: [], log: (l) => logs.push(l), write: () => undefined, progress: (t, l) => createProgress(t, l, { tty: false, quiet: true, every: 1, write: () => undefined }) });
    assert.equal(r.offPiano, 1);
    assert.match(logs.join('\n'), /low\.mid: 1 note outside the piano's 88 keys \(pitches 21–108\), drawn grey: training drops them/);
  });
});

describe('piano roll axes', () => {
  it('names the pitch of every C at its row and marks seconds along the bottom, in the bitmap font', () => {
    // Pitches 48–72 drawn: the Cs 48 (C3), 60 (C4), 72 (C5) are labelled; 10 s at 20 px/s: ticks every 5 s.
    const notes = [{ pitch: 48, velocity: 100, start: 0, end: 10 }, { pitch: 72, velocity: 100, start: 2, end: 3 }];
    const img = pianoRoll(notes, { pixelsPerSecond: 20, pixelsPerPitch: 4 }), { left, height: plotH } = img.plot, W = img.shape.width;
    const dark = (x: number, y: number): boolean => img.pixels[(y * W + x) * 3]! < 128;
    const inkIn = (x0: number, y0: number, w: number, h: number): number => {
      let n = 0;
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < Math.min(W, x0 + w); x++) if (dark(x, y)) n++;
      return n;
    };
    // The label at the C4 row: the ink in the margin within 6 rows of the row's middle is exactly
    // 'C4' in the font (drawn on its own at the origin), centred on the row, clear of the axis.
    const hi = 74, mid = (hi - 60) * 4 + 2, ink: [number, number][] = [];
    for (let y = mid - 6; y <= mid + 6; y++) for (let x = 0; x < left - 3; x++) if (dark(x, y)) ink.push([x, y]);
    const x0 = Math.min(...ink.map((p) => p[0])), y0 = Math.min(...ink.map((p) => p[1])), y1 = Math.max(...ink.map((p) => p[1]));
    const want: string[] = [];
    drawText((x, y) => want.push(`${x},${y}`), 'C4', 0, 0);
    assert.deepEqual(ink.map(([x, y]) => `${x - x0},${y - y0}`).sort(), want.sort(), 'the C4 label');
    assert.ok(Math.abs((y0 + y1) / 2 - mid) <= 1, `label rows ${y0}–${y1}, the C4 row's middle ${mid}`);
    assert.ok(x0 + textSize('C4').width <= left - 3, 'the label ends before the axis ticks');
    assert.ok(inkIn(0, 0, left - 3, plotH) >= 3 * 15, 'three pitch labels in the left margin');
    assert.equal(inkIn(0, (hi - 66) * 4, left - 3, 4), 0, 'no label at F#4');
    // Time labels 0s, 5s, 10s under the plot: ink in the bottom margin at x = 0, 100 and 200 px of the plot.
    for (const t of [0, 5, 10]) assert.ok(inkIn(Math.max(0, left + t * 20 - 8), plotH + 3, 16, 8) > 10, `a label at ${t} s`);
    assert.equal(inkIn(left + 50 - 4, plotH + 3, 8, 8), 0, 'nothing at 2.5 s');
    assert.deepEqual([tickStep(50), tickStep(20), tickStep(1), tickStep(0.01)], [1, 5, 60, 7200]);
    assert.equal(pitchName(60), 'C4');
    assert.equal(pitchName(0), 'C-1');
    assert.throws(() => drawText(() => undefined, 'C#', 0, 0), /no glyph for '#'/);
  });
});

describe('a tiny music model', () => {
  it('learns rising scales (validation loss far below uniform) and never samples PAD or SOS', async () => {
    const engine = await createEngine({ backend: 'wasm', threads: 1 });
    const rng = new Rng(3), make = (n: number, tag: string): Piece[] => Array.from({ length: n }, (_, i) => piece(`${tag}${i}`, scale(48 + rng.int(24), 16)));
    const src = musicSource(make(64, 't'), make(8, 'v'), 'scales', false);
    const model = new PerceiverAR(engine, tiny(64, 16), 1);
    const trainer = new Trainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 16, learningRate: 3e-3, warmupSteps: 20, evalBatches: 2 }, src);
    const before = trainer.evaluate().nats;
    for (let i = 0; i < 250; i++) trainer.trainStep();
    const after = trainer.evaluate().nats;
    assert.ok(after < 1.0 && after < before / 4, `validation nats/event ${before.toFixed(3)} → ${after.toFixed(3)}`);
    // A continuation at a high temperature: only event ids and EOS.
    const m = continueMusic(model, scale(60, 4), { maxNewTokens: 200, seconds: 0, temperature: 3, topK: 0, topP: 1, seed: 5, cached: true });
    assert.ok(m.newEvents > 0);
    // On the sampled ids themselves (decoding would skip a PAD or SOS silently).
    assert.equal(m.newIds.length, m.newEvents);
    assert.ok(m.newIds.every((id) => id !== PAD && id !== SOS), `sampled ${Array.from(m.newIds).filter((id) => id === PAD || id === SOS).length} PAD/SOS ids`);
    assert.ok(m.notes.length >= 4);
    // The control: with PAD and SOS made by far the likeliest ids, a sampler without the restriction
    // draws them nearly every time; the continuation still never does.
    const bias = model.params.get('head.b').value;
    bias[PAD] = 30; bias[SOS] = 30;
    const prompt = Array.from(encodePiece(notesToEvents(scale(60, 4)).events)).slice(0, -1);
    const plain = generate(model, prompt, { maxNewTokens: 20, temperature: 1, topK: 0, topP: 1, seed: 5, stopAtEos: false, cached: true });
    assert.ok(Array.from(plain.tokens).filter((id) => id === PAD || id === SOS).length > 15, 'unrestricted sampling draws PAD/SOS');
    const biased = continueMusic(model, scale(60, 4), { maxNewTokens: 20, seconds: 0, temperature: 1, topK: 0, topP: 1, seed: 5, cached: true });
    assert.ok(biased.newIds.length > 0 && biased.newIds.every((id) => id !== PAD && id !== SOS));
    await engine.dispose();
  });
});

describe('music CLI', () => {
  const ckpt = join(dir, 'music.safetensors'), prompt = join(dir, 'prompt.mid');
  writeFileSync(prompt, notesToMidi(scale(60, 12)));

  it('trains on synthetic music, writes a sample .mid with its piano roll, continues a MIDI prompt, and evaluates NLL per event', () => {
    const train = runCli(dir, 'train', '--preset=synthetic-music', '--steps=2', '--evalEvery=0', '--batchSize=2', '--contextLength=128', '--numLatents=32',
      '--numLayers=1', '--width=32', '--embedDim=32', `--checkpoint=${ckpt}`, '--sample', '--quiet');
    assert.equal(train.code, 0, train.stderr);
    assert.ok(existsSync(join(dir, 'music-sample.mid')) && existsSync(join(dir, 'music-sample.png')));
    const out = join(dir, 'cont.mid');
    const gen = runCli(dir, 'generate', `--checkpoint=${ckpt}`, `--prompt=${prompt}`, '--promptSeconds=0.6', '--seconds=2', `--out=${out}`, '--seed=3');
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stdout, /wrote .*cont\.mid \(format 0, 500 ticks per quarter at 120 bpm\) and .*cont\.png/);
    const midi = parseMidi(readFileSync(out));
    assert.equal(midi.header.format, 0);
    const png = PNG.sync.read(readFileSync(join(dir, 'cont.png')));
    assert.ok(png.width > 10 && png.height > 10);
    const ev = runCli(dir, 'eval', `--checkpoint=${ckpt}`, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const m = JSON.parse(ev.stdout.trim().split('\n').pop()!);
    // Every event of the 64 validation pieces and their EOS is scored (SOS is only context), and a
    // model trained 2 steps is still near the uniform ln 311 ≈ 5.74 nats per event.
    const events = syntheticMusicPieces('validation').reduce((n, p) => n + p.events.length + 1, 0);
    assert.deepEqual([m.pieces, m.events], [64, events], ev.stdout);
    assert.ok(m.nats > 5 && m.nats < 6.5, `nats per event ${m.nats}`);
  });

  it('pianoroll draws any MIDI file; bad MIDI files and options fail with one line', () => {
    const r = runCli(dir, 'pianoroll', prompt, `--out=${join(dir, 'roll.png')}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*roll\.png: 12 notes, 1\.2 s/);
    const cut = runCli(dir, 'pianoroll', prompt, `--out=${join(dir, 'roll2.png')}`, '--seconds=0.55');
    assert.match(cut.stdout, /roll2\.png: 6 notes, 0\.6 s/);
    const bad = join(dir, 'bad.mid');
    writeFileSync(bad, notesToMidi(scale(60, 4)).subarray(0, 30));
    failsClearly(runCli(dir, 'pianoroll', bad), /MIDI file .*bad\.mid: truncated: chunk 1 \('MTrk'\)/);
    failsClearly(runCli(dir, 'pianoroll'), /usage: perceiver-ar pianoroll FILE\.mid/);
    failsClearly(runCli(dir, 'generate', `--checkpoint=${ckpt}`, `--prompt=${bad}`), /truncated/);
    failsClearly(runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--promptSeconds=2'), /--promptSeconds cuts a --prompt=FILE\.mid/);
    failsClearly(runCli(dir, 'train', '--preset=music', `--dataPath=${join(dir, 'nowhere')}`), /MIDI data .*nowhere does not exist/);
  });
});
