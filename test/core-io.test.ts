// The platform-neutral core's I/O seams: readers over a FileSystem give the same data from memory
// as from disk, options are parsed once against declared specs, and checkpoint headers are read
// without their tensors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEngine, encodePng, memoryFileSystem, nodeFileSystem, notesToMidi, readCheckpointInfo, readImageDataset, readMidiCorpus,
  loadAnyCheckpoint, PerceiverAR, MODEL_DEFAULTS, saveCheckpoint, TRAIN_DEFAULTS, DATA_DEFAULTS, decodeSafetensors, readCheckpointHeader } from '../src/node.js';
import { intOption, flagOption, parseOptions, pathOption, stringOption } from '../src/options.js';
import { createProgress, progressWhenTotalKnown } from '../src/io/progress.js';

describe('FileSystem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-fs-'));
  const files: Record<string, Uint8Array> = {};
  const put = (path: string, bytes: Uint8Array): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    files[`data/${path}`] = bytes;
  };
  for (const split of ['train', 'test']) {
    for (let i = 0; i < 3; i++) put(`images/${split}/${i}.png`, encodePng({ shape: { width: 3, height: 2, channels: 3 }, pixels: Uint8Array.from({ length: 18 }, (_, k) => k * 13 + i) }));
  }
  put('midi/a.mid', notesToMidi([{ pitch: 60, velocity: 80, start: 0, end: 0.5 }, { pitch: 64, velocity: 70, start: 0.5, end: 1 }]));
  put('midi/sub/b.midi', notesToMidi([{ pitch: 67, velocity: 90, start: 0, end: 0.25 }]));
  const memory = memoryFileSystem(files);

  it('reads an image dataset and a MIDI corpus from memory exactly as from disk', () => {
    const a = readImageDataset(memory, 'data/images', 0.1), b = readImageDataset(nodeFileSystem, join(dir, 'images'), 0.1);
    assert.deepEqual(a.train.map((x) => x.pixels), b.train.map((x) => x.pixels));
    assert.deepEqual(a.test.map((x) => x.pixels), b.test.map((x) => x.pixels));
    const m = readMidiCorpus(memory, 'data/midi'), n = readMidiCorpus(nodeFileSystem, join(dir, 'midi'));
    assert.deepEqual(m.pieces.map((p) => [p.name, Array.from(p.events)]), n.pieces.map((p) => [p.name.replaceAll('\\', '/'), Array.from(p.events)]));
    assert.deepEqual(m.pieces.map((p) => p.name), ['a.mid', 'sub/b.midi']);
  });

  it('in memory: missing, empty and directory paths are refused like on disk; writes land in the map', () => {
    assert.throws(() => memory.readBytes('data/none.txt', 'data file'), /data file data\/none\.txt does not exist/);
    assert.throws(() => memoryFileSystem({ 'e.txt': new Uint8Array(0) }).readBytes('e.txt', 'data file'), /data file e\.txt is empty/);
    assert.throws(() => memory.readBytes('data/images', 'data file'), /is not a file/);
    assert.deepEqual(memory.list('data/images'), ['test', 'train']);
    memory.writeAtomic('out/x.bin', Uint8Array.of(1, 2));
    assert.deepEqual(Array.from(memory.readBytes('out/x.bin', 'x')), [1, 2]);
    assert.throws(() => memory.checkOutput('data/images', 'output'), /is a directory/);
    assert.throws(() => memory.readBytes('', 'data file'), /data file: the path is empty/);
    assert.deepEqual(Array.from(memory.readBytes('/data/images/../midi/./a.mid', 'm').subarray(0, 4)), [0x4d, 0x54, 0x68, 0x64], '.. and . resolve');
    assert.throws(() => memory.list('data/none'), /data\/none is not a directory/);
    assert.throws(() => memoryFileSystem({ a: Uint8Array.of(1), 'a/b': Uint8Array.of(2) }), /'a' is a file and also a directory of 'a\/b'/);
    assert.throws(() => memory.writeAtomic('out/x.bin/y', Uint8Array.of(1)), /out\/x\.bin is a file/);
  });
});

describe('progress lines without a terminal', () => {
  const logged = (): { lines: string[]; write: (t: string) => void } => {
    const lines: string[] = [];
    return { lines, write: (t) => lines.push(...t.split('\n').filter((l) => l !== '')) };
  };

  it('never show a negative ETA, even past the announced total', () => {
    let clock = 0;
    const out = logged(), p = createProgress(4, 'step', { tty: false, quiet: false, every: 1, write: out.write, now: () => clock });
    for (let done = 1; done <= 6; done++) { clock += 10_000; p.update(done, { loss: '1.0' }); }
    assert.equal(out.lines.length, 6);
    assert.match(out.lines[0]!, /^step 1\/4  loss 1\.0  ETA 30s$/, '10 s a step, 3 to go');
    assert.match(out.lines[5]!, /^step 6\/4  loss 1\.0  ETA 0s$/, 'past the total: 0, not −20 s');
    assert.ok(out.lines.every((l) => !/ETA -/.test(l)), out.lines.join('\n'));
  });

  it('an evaluation whose total is known only once it starts logs about 20 lines of done/total, the last one complete', () => {
    const out = logged();
    const p = progressWhenTotalKnown((total, every) => createProgress(total, 'eval', { tty: false, quiet: false, every, write: out.write }));
    for (let done = 4; done <= 1188; done += 4) p.update(done, 1188);
    p.finish();
    assert.ok(out.lines.length >= 15 && out.lines.length <= 21, `${out.lines.length} lines`);
    for (const l of out.lines) {
      const m = /^eval (\d+)\/1188  ETA (\d+)s$/.exec(l);
      assert.ok(m && Number(m[1]) <= 1188, l);
    }
    assert.match(out.lines[out.lines.length - 1]!, /^eval 1188\/1188  ETA 0s$/);
  });
});

describe('options', () => {
  const specs = [intOption('count', 1, 8), flagOption('fast'), pathOption('out'), stringOption('mode', ['a', 'b'])];
  it('parses typed values once, with messages naming the option and what is allowed', () => {
    const o = parseOptions(new Map([['count', '3'], ['fast', 'true'], ['out', 'x.png'], ['mode', 'b']]), specs);
    assert.deepEqual([o.number('count'), o.flag('fast'), o.string('out'), o.string('mode')], [3, true, 'x.png', 'b']);
    assert.equal(parseOptions(new Map(), specs).flagOr('fast', true), true);
    assert.throws(() => parseOptions(new Map([['count', '9']]), specs), /--count=9 is invalid: an integer in \[1, 8\]/);
    assert.throws(() => parseOptions(new Map([['count', '2.5']]), specs), /--count=2\.5 is invalid/);
    assert.throws(() => parseOptions(new Map([['fast', 'yes']]), specs), /--fast is a flag; write --fast or --fast=false/);
    assert.throws(() => parseOptions(new Map([['out', ' ']]), specs), /--out is empty; give a file path/);
    assert.throws(() => parseOptions(new Map([['mode', 'c']]), specs), /--mode=c is invalid: a or b/);
    assert.throws(() => parseOptions(new Map([['colour', 'red']]), specs, 'for a test'), /unknown option --colour for a test; allowed: --count --fast --out --mode/);
  });
});

describe('checkpoint headers', () => {
  it('info reads the header alone: damaged tensor values do not stop it, while loading names them', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new PerceiverAR(engine, { ...MODEL_DEFAULTS, contextLength: 16, numLatents: 4, numLayers: 1, width: 16, embedDim: 16, numHeads: 1,
      crossAttendHeads: 1, maxWavelength: 16, maxPosition: 17 });
    const path = join(mkdtempSync(join(tmpdir(), 'perceiver-ar-header-')), 'm.safetensors');
    saveCheckpoint(path, model, { train: TRAIN_DEFAULTS, data: DATA_DEFAULTS, optimizer: false });
    const bytes = readFileSync(path);
    // The data config names its kind and that kind's keys only (the rest come back as defaults).
    const stored = JSON.parse(decodeSafetensors(new Uint8Array(bytes)).metadata.data!) as Record<string, unknown>;
    assert.deepEqual(stored, { data: 'mirrored', alphabet: 256, positionOffset: 0 });
    bytes.fill(0xff, bytes.length - 64);
    writeFileSync(path, bytes);
    const info = readCheckpointInfo(path);
    assert.deepEqual([info.architecture, info.data?.data, info.hasOptimizer], ['perceiver-ar', 'mirrored', false]);
    // Only the header's bytes are read: a file system that counts what it serves.
    const memory = memoryFileSystem({ 'm.safetensors': new Uint8Array(bytes) });
    let served = 0;
    const counting = { ...memory, readBytes: (): never => { throw new Error('the whole file was read'); },
      readPrefix: (p: string, n: number, what: string) => { const r = memory.readPrefix(p, n, what); served += r.bytes.length; return r; } };
    assert.equal(readCheckpointHeader(counting, 'm.safetensors').architecture, 'perceiver-ar');
    const header = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    assert.equal(served, 8 + header);
    assert.ok(header < bytes.length / 4, 'most of the file is tensors');
    assert.throws(() => loadAnyCheckpoint(path, engine), /tensor 'head\.b' holds 16 non-finite values/);
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    assert.throws(() => readCheckpointInfo(path), /truncated tensor data: 'head\.b'/);
  });
});
