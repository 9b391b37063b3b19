// Damaged and mismatched media through the CLI (issue 21, item 8): damaged PNGs, sizes a header
// declares but the data cannot hold, images of another shape than the model's, outputs pointed at
// the run's own inputs, output paths that only fail after the work, and MIDI files with a tempo of
// 0, a damaged delta time, no bytes, or no piano notes. Each ends in one clear line, before any
// work, and leaves every input as it was.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { writeMidi, type MidiEvent } from 'midi-file';
import { notesToMidi } from '../src/data/midi.js';
import { checkPngLayout, decodePng, encodePng } from '../src/data/png.js';
import { IMAGE_FILES } from '../src/data/keys.js';
import { checkOutputAgainst, memoryFileSystem } from '../src/io/file-system.js';
import { Rng } from '../src/tensor/rng.js';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-media-'));
const at = (name: string): string => join(dir, name);
const cli = (...args: string[]) => runCli(dir, ...args);
const folder = (name: string): string => { mkdirSync(at(name), { recursive: true }); return at(name); };

const grey = (w: number, h: number, seed: number): Uint8Array => {
  const rng = new Rng(seed), pixels = new Uint8Array(w * h);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  return encodePng({ shape: { width: w, height: h, channels: 1 }, pixels });
};
const chunk = (type: string, data: Uint8Array): Buffer => {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]), out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
  return out;
};
/** A greyscale 8-bit PNG with the given header size and IDAT payloads (each a chunk). */
const pngWith = (w: number, h: number, idat: Uint8Array[]): Buffer => {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), ...idat.map((d) => chunk('IDAT', d)), chunk('IEND', new Uint8Array(0))]);
};
/** Rows of a w×h grey image with filter bytes (what IDAT compresses). */
const rows = (w: number, h: number): Uint8Array => Uint8Array.from({ length: (w + 1) * h }, (_, i) => (i % (w + 1) === 0 ? 0 : 7));
const idx = (count: number, side: number, magic = 2051, labels?: number[]): Uint8Array => {
  const head = magic === 2051 ? 16 : 8, body = magic === 2051 ? count * side * side : count, out = new Uint8Array(head + body), v = new DataView(out.buffer);
  v.setUint32(0, magic); v.setUint32(4, count);
  if (magic === 2051) { v.setUint32(8, side); v.setUint32(12, side); for (let i = head; i < out.length; i++) out[i] = (i * 13) % 256; }
  else labels!.forEach((y, i) => { out[head + i] = y; });
  return out;
};
const labelledIdx = (name: string, trainSide: number, testSide: number, trainLabels: number[]): string => {
  const d = folder(name);
  writeFileSync(join(d, 'train-images-idx3-ubyte'), idx(trainLabels.length, trainSide));
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx(trainLabels.length, 0, 2049, trainLabels));
  writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx(6, testSide));
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx(6, 0, 2049, [0, 1, 2, 0, 1, 2]));
  return d;
};
const pngFolder = (name: string, side: number, split = true): string => {
  const d = folder(name);
  for (const s of split ? ['train', 'test'] : ['']) for (let i = 0; i < 4; i++) writeFileSync(join(folder(join(name, s)), `${i}.png`), grey(side, side, i));
  return d;
};
/** Every file given keeps its bytes across `run`. */
function untouched(paths: string[], run: () => void): void {
  const before = paths.map((p) => readFileSync(p));
  run();
  paths.forEach((p, i) => assert.deepEqual(readFileSync(p), before[i], `${p} is unchanged`));
}

const TINY_IMAGE_MODEL = ['--preset=fashion-mnist', '--contextLength=64', '--numLatents=16', '--width=32', '--numLayers=1', '--numHeads=2',
  '--evalEvery=0', '--evalBatches=1', '--batchSize=2', '--quiet'];
const TINY_MUSIC_MODEL = ['--preset=music', '--contextLength=64', '--numLatents=16', '--width=32', '--embedDim=32', '--numLayers=1', '--numHeads=2',
  '--evalEvery=0', '--evalBatches=1', '--batchSize=2', '--quiet'];

describe('damaged PNGs are refused naming the file and the damage, before anything large is allocated', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['bad zlib data in IDAT', pngWith(8, 8, [Buffer.from('this is not zlib data at all')]), /compressed image data \(IDAT\) is damaged/],
    ['an IDAT that inflates to half the rows', pngWith(8, 8, [deflateSync(rows(8, 4))]), /ends early or is damaged/],
    ['no IDAT', pngWith(8, 8, []), /no image data \(no IDAT chunk\)/],
    ['0×8 pixels', pngWith(0, 8, [deflateSync(Buffer.alloc(0))]), /declares 0×8 pixels; both sides must be at least 1/],
    ['20000×20000 pixels', pngWith(20000, 20000, [deflateSync(rows(1, 1))]), /declares 20000×20000 pixels; at most 67,108,864/],
    ['5000×5000 pixels in 20 compressed bytes', pngWith(5000, 5000, [deflateSync(rows(1, 1))]), /too few to hold them: the file is truncated or damaged/],
    ['a damaged checksum', (() => { const b = Buffer.from(grey(8, 8, 1)); b[b.length - 20]! ^= 0xff; return b; })(), /chunk IDAT is damaged \(its checksum does not match\)/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => assert.throws(() => decodePng(bytes, 'image x.png'), (e: Error) => e.message.startsWith('image x.png: ') && message.test(e.message)));
  }
  it('a huge declared size is refused by the layout walk, which inflates nothing', () => {
    assert.throws(() => checkPngLayout(pngWith(20000, 20000, [new Uint8Array(3)]), 'x'), /20000×20000/);
    assert.equal(checkPngLayout(grey(5, 3, 2), 'x').width, 5);
  });
  it('through train: one line naming the file; a single PNG as --dataPath and train/ without test/ say what to give', () => {
    const d = pngFolder('damaged', 8, false);
    writeFileSync(join(d, '9.png'), cases[1]![1]);
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${d}`, '--steps=1'), /image .*9\.png: its image data ends early/);
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${join(d, '0.png')}`, '--steps=1'), /is one PNG file; give the folder/);
    const onlyTrain = folder('only-train/train');
    writeFileSync(join(onlyTrain, '0.png'), grey(8, 8, 0));
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${at('only-train')}`, '--steps=1'), /has a train\/ folder but no test\/ folder/);
  });
});

describe("a model's image shape is stored and other shapes are refused", () => {
  const png8 = pngFolder('png8', 8), png6 = pngFolder('png6', 6), model = at('img8.safetensors');
  assert.equal(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=2', `--checkpoint=${model}`).code, 0);

  it('the checkpoint names the shape it was trained on', () => {
    const r = cli('info', `--checkpoint=${model}`);
    assert.match(r.stdout, /imageShape\s+8x8x1/);
  });
  it('eval, generate --complete and a resumed run on 6×6 images fail naming both shapes', () => {
    const both = /image data .*png6 holds 6×6 grey images, but the model was trained on 8×8 grey images \(imageShape 8x8x1\)/;
    untouched([model], () => {
      failsClearly(cli('eval', `--checkpoint=${model}`, `--dataPath=${png6}`), both);
      failsClearly(cli('generate', `--checkpoint=${model}`, `--dataPath=${png6}`, '--complete=2', '--count=1', `--out=${at('c.png')}`), both);
      failsClearly(cli('train', `--resume=${model}`, `--dataPath=${png6}`, '--steps=3', `--checkpoint=${model}`), both);
    });
    assert.equal(existsSync(at('c.png')), false);
  });
  it('--imageShape given for a new run is checked against the data', () => {
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', '--imageShape=28x28x1'), /holds 8×8 grey images, but the model was trained on 28×28 grey/);
  });
  it('labelled IDX sets of two shapes are refused; labels with empty classes are reported', () => {
    failsClearly(cli('train', '--task=images', `--dataPath=${labelledIdx('idx-28-32', 28, 32, [0, 1, 2, 0])}`, '--steps=1', '--evalBatches=1', '--batchSize=4'),
      /training images .* are 28×28 grey but the test images .* are 32×32 grey/);
    const r = cli('train', '--task=images', `--dataPath=${labelledIdx('idx-255', 8, 8, [0, 1, 2, 0, 1, 255])}`, '--steps=1', '--evalBatches=1', '--batchSize=4',
      '--patchSize=4', '--bankPatchSize=2', '--width=16', '--numLayers=1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /256 classes \(labels 0–255\), 252 of them with no training image \(3, 4, 5, 6, 7, 8, 9, 10, …\): check the label files/);
  });
});

describe('outputs that are inputs, or that cannot be written, are refused before any work', () => {
  const png8 = pngFolder('out-png8', 8), image = at('out-img.safetensors');
  assert.equal(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', `--checkpoint=${image}`).code, 0);
  const idx8 = labelledIdx('out-idx8', 8, 8, [0, 1, 2, 0, 1, 2]), classifier = at('cls.safetensors');
  assert.equal(cli('train', '--task=images', `--dataPath=${idx8}`, '--model=adatape', '--bank=input', '--patchSize=4', '--bankPatchSize=2', '--width=16',
    '--numLayers=1', '--steps=1', '--evalBatches=1', '--batchSize=4', '--quiet', `--checkpoint=${classifier}`).code, 0);
  const midi = folder('midi');
  const notes = (low: number) => Array.from({ length: 24 }, (_, i) => ({ pitch: low + (i % 12), velocity: 80, start: i * 0.25, end: i * 0.25 + 0.2 }));
  for (let i = 0; i < 4; i++) writeFileSync(join(midi, `${i}.mid`), notesToMidi(notes(50 + i)));
  const music = at('music.safetensors'), prompt = at('prompt.mid');
  writeFileSync(prompt, notesToMidi(notes(60)));
  assert.equal(cli('train', ...TINY_MUSIC_MODEL, `--dataPath=${midi}`, '--steps=1', `--checkpoint=${music}`).code, 0);
  const overwrite = /is the run's input file .*; writing it would overwrite it/, inFolder = /is a data file inside the run's input folder .*; writing it would overwrite data/;

  it('generate --out onto the checkpoint, a test image or the prompt', () => untouched([image, join(png8, 'test', '0.png'), prompt, music], () => {
    failsClearly(cli('generate', `--checkpoint=${image}`, '--count=1', `--out=${image}`), overwrite);
    failsClearly(cli('generate', `--checkpoint=${image}`, '--count=1', `--out=${join(png8, 'test', '0.png')}`), inFolder);
    failsClearly(cli('generate', `--checkpoint=${music}`, `--prompt=${prompt}`, '--maxNewTokens=4', `--out=${prompt}`), overwrite);
    failsClearly(cli('generate', `--checkpoint=${music}`, '--maxNewTokens=4', `--out=${join(midi, '1.mid')}`), inFolder);
  }));
  it('train --checkpoint onto a training image, also through a symbolic link to the data folder', () => untouched([join(png8, 'train', '1.png')], () => {
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', `--checkpoint=${join(png8, 'train', '1.png')}`), inFolder);
    symlinkSync(png8, at('png8-link'));
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${at('png8-link')}`, '--steps=1', `--checkpoint=${join(png8, 'train', '1.png')}`), inFolder);
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', `--checkpoint=${join(at('png8-link'), 'train', '1.png')}`), inFolder);
  }));
  it('eval --heatmap onto the checkpoint or the test images, into a folder or a missing one', () => untouched([classifier, join(idx8, 't10k-images-idx3-ubyte')], () => {
    failsClearly(cli('eval', `--checkpoint=${classifier}`, `--heatmap=${classifier}`), overwrite);
    failsClearly(cli('eval', `--checkpoint=${classifier}`, `--heatmap=${join(idx8, 't10k-images-idx3-ubyte')}`), inFolder);
    failsClearly(cli('eval', `--checkpoint=${classifier}`, `--heatmap=${dir}`), /is a directory/);
    failsClearly(cli('eval', `--checkpoint=${classifier}`, `--heatmap=${at('missing/h.png')}`), /directory .*missing does not exist/);
  }));
  it('pianoroll --out onto its own MIDI file', () => untouched([prompt], () => {
    failsClearly(cli('pianoroll', prompt, `--out=${prompt}`), overwrite);
  }));
  it('train --sample whose NAME-samples.png is a folder fails before training, saving nothing', () => {
    mkdirSync(at('late-samples.png'));
    failsClearly(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', '--sample', `--checkpoint=${at('late.safetensors')}`), /sample .*late-samples\.png: is a directory/);
    assert.equal(existsSync(at('late.safetensors')), false, 'no checkpoint: the run stopped before training');
    mkdirSync(at('late-music-sample.png'));
    failsClearly(cli('train', ...TINY_MUSIC_MODEL, `--dataPath=${midi}`, '--steps=1', '--sample', `--checkpoint=${at('late-music.safetensors')}`),
      /sample .*late-music-sample\.png: is a directory/);
    assert.equal(existsSync(at('late-music.safetensors')), false);
  });
  it('a resumed run may still save over the checkpoint it resumed, also inside the data folder; other files there may be written, new data files not', () => {
    const r = cli('train', `--resume=${image}`, '--steps=2', `--checkpoint=${image}`);
    assert.equal(r.code, 0, r.stderr);
    const inside = join(png8, 'model.safetensors');
    assert.equal(cli('train', ...TINY_IMAGE_MODEL, `--dataPath=${png8}`, '--steps=1', `--checkpoint=${inside}`).code, 0);
    const again = cli('train', `--resume=${inside}`, '--steps=2', `--checkpoint=${inside}`);
    assert.equal(again.code, 0, again.stderr);
    failsClearly(cli('generate', `--checkpoint=${inside}`, '--count=1', `--out=${join(png8, 'train', 'new.png')}`),
      /would be a new data file inside the run's input folder .*, read with the data from then on/);
    assert.equal(existsSync(join(png8, 'train', 'new.png')), false);
    // A music checkpoint's generate reads no data: its stored corpus folder is no input then.
    const out = join(midi, 'generated.mid');
    const g = cli('generate', `--checkpoint=${music}`, '--maxNewTokens=4', `--out=${out}`);
    assert.equal(g.code, 0, g.stderr);
  });
  it('the in-memory file system (pages) decides what lies inside a folder by path, not by a relative path it cannot form', () => {
    const fs = memoryFileSystem({ 'data/a.png': grey(2, 2, 1), 'out/x.png': grey(2, 2, 2) });
    checkOutputAgainst(fs, 'out/x.png', 'output', ['data'], IMAGE_FILES);
    checkOutputAgainst(fs, 'data/notes.txt', 'output', ['data'], IMAGE_FILES);
    assert.throws(() => checkOutputAgainst(fs, 'data/b.png', 'output', ['data'], IMAGE_FILES), /data file inside the run's input folder data/);
    assert.throws(() => checkOutputAgainst(fs, 'data/a.png', 'output', ['data/a.png']), /is the run's input file data\/a\.png/);
  });
});

describe('MIDI files that cannot be a piece', () => {
  const file = (name: string, events: MidiEvent[], ticksPerBeat = 480): string => {
    writeFileSync(at(name), Uint8Array.from(writeMidi({ header: { format: 0, numTracks: 1, ticksPerBeat }, tracks: [[...events, { deltaTime: 0, type: 'endOfTrack' } as MidiEvent]] })));
    return at(name);
  };
  const note = (deltaOn: number, pitch: number, length: number): MidiEvent[] => [
    { deltaTime: deltaOn, type: 'noteOn', channel: 0, noteNumber: pitch, velocity: 80 } as MidiEvent,
    { deltaTime: length, type: 'noteOff', channel: 0, noteNumber: pitch, velocity: 0 } as MidiEvent,
  ];
  it('a tempo of 0 is refused, not read as a piece without notes', () => {
    const f = file('tempo0.mid', [{ deltaTime: 0, type: 'setTempo', microsecondsPerBeat: 0 } as MidiEvent, ...note(0, 60, 480)]);
    failsClearly(cli('pianoroll', f, `--out=${at('t0.png')}`), /tempo event at tick 0 sets 0 microseconds per beat; a tempo must be positive/);
  });
  it('a delta time of 0x0FFFFFFF at the slowest tempo (a piece of centuries) is refused, not a crash', () => {
    const f = file('long.mid', [{ deltaTime: 0, type: 'setTempo', microsecondsPerBeat: 0xffffff } as MidiEvent, ...note(0, 60, 10), ...note(0x0fffffff, 62, 10)], 1);
    failsClearly(cli('pianoroll', f, `--out=${at('long.png')}`), /a note ends at 1250999\.9 hours; pieces of at most 24 hours are read/);
    const model = at('m.safetensors');
    const midi = folder('long-corpus');
    writeFileSync(join(midi, 'long.mid'), readFileSync(f));
    failsClearly(cli('train', ...TINY_MUSIC_MODEL, `--dataPath=${midi}`, '--steps=1', `--checkpoint=${model}`), /none of the 1 files could be used .*24 hours/);
  });
  it('a zero-byte file is skipped like any unreadable file of a corpus', () => {
    const midi = folder('with-empty');
    for (let i = 0; i < 3; i++) writeFileSync(join(midi, `${i}.mid`), notesToMidi(Array.from({ length: 20 }, (_, j) => ({ pitch: 60 + i, velocity: 80, start: j, end: j + 0.5 }))));
    writeFileSync(join(midi, 'empty.mid'), new Uint8Array(0));
    const r = cli('train', ...TINY_MUSIC_MODEL.filter((a) => a !== '--quiet'), `--dataPath=${midi}`, '--steps=1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped MIDI file .*empty\.mid is empty/);
    assert.match(r.stderr, /1 of 4 files skipped/);
  });
  it('a prompt with no note on the 88 keys is refused instead of continuing from nothing', () => {
    const midi = folder('prompt-corpus');
    for (let i = 0; i < 3; i++) writeFileSync(join(midi, `${i}.mid`), notesToMidi(Array.from({ length: 20 }, (_, j) => ({ pitch: 60 + i, velocity: 80, start: j, end: j + 0.5 }))));
    const model = at('p.safetensors');
    assert.equal(cli('train', ...TINY_MUSIC_MODEL, `--dataPath=${midi}`, '--steps=1', `--checkpoint=${model}`).code, 0);
    const low = at('low.mid');
    writeFileSync(low, notesToMidi([{ pitch: 5, velocity: 80, start: 0, end: 1 }, { pitch: 120, velocity: 80, start: 1, end: 2 }]));
    failsClearly(cli('generate', `--checkpoint=${model}`, `--prompt=${low}`, '--maxNewTokens=4', `--out=${at('low-out.mid')}`),
      /none of its 2 notes lies on the piano's 88 keys \(pitches 21–108\)/);
    assert.equal(existsSync(at('low-out.mid')), false);
  });
});
