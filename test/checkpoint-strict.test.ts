// Strict checkpoint decoding: malformed safetensors headers, data that the tensors do not tile,
// metadata alignment, and checkpoints whose contents disagree with their config or hold damaged
// values — each a one-line error naming the file and tensor.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { readChunked } from '../src/platform/node/files.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { DATA_DEFAULTS } from '../src/data/registry.js';
import { architectureNamed, type ArchitectureEntry } from '../src/models/registry.js';

const te = new TextEncoder();

/** A safetensors file from a raw header object and data bytes; headerDelta shifts the stated header length. */
function rawFile(header: unknown, data: Uint8Array, headerDelta = 0): Uint8Array {
  const json = te.encode(JSON.stringify(header));
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  const out = new Uint8Array(8 + padded.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded.length + headerDelta), true);
  out.set(padded, 8);
  out.set(data, 8 + padded.length);
  return out;
}

const f32 = (...x: number[]): Uint8Array => new Uint8Array(Float32Array.from(x).buffer);
const entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('safetensors decoding is strict', () => {
  const data = f32(1, 2, 3, 4);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a null tensor entry', rawFile({ a: null }, new Uint8Array(0)), /tensor 'a': its header entry is null, not an object/],
    ['a number as tensor entry', rawFile({ a: 7 }, new Uint8Array(0)), /tensor 'a': its header entry is 7, not an object/],
    ['an array as tensor entry', rawFile({ a: [1] }, new Uint8Array(0)), /tensor 'a': its header entry is \[1\], not an object/],
    ['an entry without data_offsets', rawFile({ a: { dtype: 'F32', shape: [4] } }, data), /tensor 'a': its header entry has no data_offsets/],
    ['metadata that is an array', rawFile({ __metadata__: ['x'], a: entry(0, 16) }, data), /__metadata__ must be an object of strings/],
    ['metadata with a number', rawFile({ __metadata__: { k: 1 }, a: entry(0, 16) }, data), /metadata 'k' is not a string/],
    ['a hole between tensors', rawFile({ a: entry(0, 4), b: entry(8, 16) }, data), /4 data bytes before tensor 'b' belong to no tensor/],
    ['a hole before the first tensor', rawFile({ a: entry(4, 16) }, data), /4 data bytes before tensor 'a' belong to no tensor/],
    ['trailing bytes', rawFile({ a: entry(0, 12) }, data), /4 bytes after the last tensor belong to no tensor/],
    ['overlapping tensors', rawFile({ a: entry(0, 8), b: entry(4, 12), c: entry(12, 16) }, data), /tensor 'b' overlaps the tensor before it/],
    // The header is space-padded, so one byte short still parses; the data then starts a byte early.
    ['a header length one byte short', rawFile({ a: entry(0, 16) }, data, -1), /1 bytes after the last tensor belong to no tensor/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what}`, () => assert.throws(() => decodeSafetensors(bytes, 'f.safetensors'), (e: Error) => {
      assert.match(e.message, /^f\.safetensors: /);
      assert.match(e.message, message);
      assert.equal(e.constructor.name, 'SafetensorsError');
      return true;
    }));
  }

  it('accepts the well-formed file these were made from', () => {
    const t = decodeSafetensors(rawFile({ a: entry(0, 8), b: entry(8, 16) }, data), 'f').tensors;
    assert.deepEqual(Array.from(t.get('b')!.data), [3, 4]);
  });

  it('pads the header on its UTF-8 byte length: the data section is 8-byte aligned with non-ASCII metadata', () => {
    for (const path of ['corpus-é.txt', 'données/ü/日本語.txt', 'a']) {
      const tensors = new Map<string, Tensor>([['w', { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }]]);
      const bytes = encodeSafetensors(tensors, { dataPath: path });
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.equal((8 + headerLength) % 8, 0, `data offset for ${path}`);
      const back = decodeSafetensors(bytes, 'f');
      assert.equal(back.metadata.dataPath, path);
      assert.deepEqual(Array.from(back.tensors.get('w')!.data), [1, 2, 3]);
    }
  });

  it('reads a file in chunks exactly (the path that loads files past 2 GiB)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-chunks-'));
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 251);
    writeFileSync(join(dir, 'f'), bytes);
    assert.deepEqual(readChunked(join(dir, 'f'), 'file', 7), bytes);
    assert.deepEqual(readChunked(join(dir, 'f'), 'file', 4096), bytes);
  });
});

const TINY: ModelConfig = {
  ...MODEL_DEFAULTS, vocabSize: 11, contextLength: 8, numLatents: 4, numLayers: 1, width: 8, embedDim: 8, numHeads: 2, crossAttendHeads: 2,
  mlpRatio: 2, maxWavelength: 8, maxPosition: 9, dropout: 0,
};

describe('checkpoints are checked against their config and for damaged values', async () => {
  const engine = await createEngine({ backend: 'reference' });
  const model = new PerceiverAR(engine, TINY, 1);
  // Optimizer moments as a trained model's (not zero): loading must restore them too.
  model.params.m.forEach((_, i, m) => { m[i] = Math.sin(i) / 10; });
  model.params.v.forEach((_, i, v) => { v[i] = (1 + Math.cos(i)) / 100; });
  const state = { step: 3, modelRng: 5, dataRng: 7, tokens: 96, elapsedSeconds: 1.5 };
  const good = encodeCheckpoint(model, { train: TRAIN_DEFAULTS, data: DATA_DEFAULTS, state, optimizer: true });
  const { metadata, tensors } = decodeSafetensors(good, 'good');
  /** The good checkpoint with tensors or metadata edited. */
  const edited = (edit: (t: Map<string, Tensor>, md: Record<string, string>) => void): Uint8Array => {
    const t = new Map(tensors), md = { ...metadata };
    edit(t, md);
    return encodeSafetensors(t, md);
  };
  const fails = (bytes: Uint8Array, message: RegExp): void => {
    assert.throws(() => decodeCheckpoint(bytes, 'ck.safetensors').build(engine), (e: Error) => {
      assert.equal(e.constructor.name, 'CheckpointError');
      assert.match(e.message, /^checkpoint ck\.safetensors/);
      assert.match(e.message, message);
      return true;
    });
  };

  it('builds the unedited checkpoint: every value and optimizer moment loaded into a model that was not initialised', () => {
    assert.ok(new PerceiverAR(engine, TINY, null).params.values.every((x) => x === 0), 'seed null: parameters left zero for loading');
    // The checkpoint builds its model with seed null (no initialisation: every parameter is loaded next).
    const entry = architectureNamed('perceiver-ar')! as { -readonly [K in keyof ArchitectureEntry]: ArchitectureEntry[K] };
    const build = entry.build, seeds: (number | null | undefined)[] = [];
    entry.build = (e, c, seed) => { seeds.push(seed); return build(e, c, seed); };
    let built: PerceiverAR;
    try { built = decodeCheckpoint(good, 'good').build(engine) as PerceiverAR; } finally { entry.build = build; }
    assert.deepEqual(seeds, [null]);
    assert.deepEqual(built.params.values, model.params.values);
    assert.deepEqual(built.params.m, model.params.m);
    assert.deepEqual(built.params.v, model.params.v);
  });

  it('refuses a tensor whose shape does not match the config', () => {
    fails(edited((t) => t.set('head.w', { dtype: 'F32', shape: [4, 22], data: new Float32Array(88) })),
      /tensor 'head\.w' has shape \[4,22\] F32, the config needs \[8,11\] F32/);
  });

  it('refuses tensors that no parameter of the config takes (a header edited to fewer layers)', () => {
    fails(edited((_, md) => { md.model = JSON.stringify({ ...TINY, numLayers: 0 }); }), /tensor\(s\) self\.0\.[^ ]* .*have no parameter in the model its config describes/);
  });

  it('refuses NaN and infinite weights and a negative AdamW second moment, naming the tensor', () => {
    const w = tensors.get('head.w')!;
    const bad = (x: number, name = 'head.w') => edited((t) => {
      const data = Float32Array.from(t.get(name)!.data);
      data[5] = x;
      t.set(name, { ...w, shape: t.get(name)!.shape, data });
    });
    fails(bad(NaN), /tensor 'head\.w' holds 1 non-finite value \(the first, NaN, at index 5\)/);
    fails(bad(-Infinity), /tensor 'head\.w' holds 1 non-finite value \(the first, -Infinity, at index 5\)/);
    fails(bad(-1, 'optimizer.v.head.w'), /tensor 'optimizer\.v\.head\.w' holds 1 non-finite or negative value/);
    fails(bad(NaN, 'optimizer.m.head.w'), /tensor 'optimizer\.m\.head\.w' holds 1 non-finite value/);
  });

  it('refuses a trainer state that is not a valid state, naming the file', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /the trainer state in its header has no 'step'/],
      ['x', /the trainer state in its header is "x", not an object/],
      [{ ...state, step: 'abc' }, /has step "abc"; it must be an integer ≥ 0/],
      [{ ...state, step: 1e300 }, /has step 1e\+300; it must be an integer ≥ 0/],
      [{ ...state, step: -5 }, /has step -5; it must be an integer ≥ 0/],
      [{ ...state, modelRng: -1 }, /has modelRng -1; it must be a 32-bit generator state/],
      [{ ...state, elapsedSeconds: null }, /has elapsedSeconds null; it must be a number of seconds ≥ 0/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => decodeCheckpoint(edited((_, md) => { md.state = JSON.stringify(value); }), 'ck.safetensors'), (e: Error) => {
        assert.match(e.message, /^checkpoint ck\.safetensors: /);
        assert.match(e.message, message);
        return true;
      }, JSON.stringify(value));
    }
  });
});
