// Weights written by other tools: safetensors with F16/BF16 tensors (widened exactly), and PyTorch
// checkpoint files read without PyTorch (src/io/torch-checkpoint.ts, torch-pickle.ts):
// files written by torch.save itself (test/fixtures/torch, made by
// scripts/interop/make-state-dict-fixtures.py) give exactly what torch.load gives; a pickle that
// would run code, other storage types, the legacy format and damaged archives are refused with one
// line — and nothing is executed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { readTorchStateDict } from '../src/io/torch-checkpoint.js';
import { halfToFloat } from '../src/io/float16.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { readTorchPickle } from '../src/io/torch-pickle.js';

const FIXTURES = new URL('../../test/fixtures/torch/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
type Expected = Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as Record<string, Expected | string>;
const number = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

describe('PyTorch state dicts (torch.save files)', () => {
  for (const file of ['float32.bin', 'half.bin', 'lightning.ckpt']) {
    it(`${file}: every tensor as torch.load reads it (names, dtypes, shapes, values bit for bit)`, () => {
      const got = readTorchStateDict(fixture(file), file), want = expected[file] as Expected;
      assert.deepEqual([...got.keys()], Object.keys(want));
      for (const [name, t] of got) {
        const w = want[name]!;
        assert.equal(t.dtype, w.dtype, name);
        assert.deepEqual(t.shape, w.shape, name);
        assert.equal(t.data.length, w.values.length, name);
        t.data.forEach((v, i) => assert.ok(Object.is(v, Math.fround(number(w.values[i]!))), `${name}[${i}]: ${v} vs ${w.values[i]}`));
      }
    });
  }

  it('refuses a pickle that would run code, int64 storages and the legacy format, each in one line, running nothing', () => {
    assert.throws(() => readTorchStateDict(fixture('runs-code.bin'), 'runs-code.bin'),
      /^TorchPickleError: runs-code\.bin \(.*data\.pkl\): its pickle uses (posix|os|nt)\.system, which this reader does not accept/);
    assert.throws(() => readTorchStateDict(fixture('int64.bin'), 'int64.bin'), /int64\.bin .*it holds a tensor of storage type torch\.LongStorage \(supported: torch\.FloatStorage, torch\.HalfStorage, torch\.BFloat16Storage\)/);
    assert.throws(() => readTorchStateDict(fixture('legacy.bin'), 'legacy.bin'), /legacy\.bin: a legacy \(pre-1\.6\) torch\.save file/);
  });

  it('refuses damaged archives, missing storages and views beyond their storage, naming the tensor', () => {
    const good = fixture('float32.bin');
    assert.throws(() => readTorchStateDict(good.subarray(0, good.length - 100), 'cut.bin'), /cut\.bin: the zip archive is damaged or truncated/);
    assert.throws(() => readTorchStateDict(new Uint8Array([1, 2, 3, 4]), 'junk.bin'), /junk\.bin: not a PyTorch checkpoint/);
    // A hand-made archive: a tensor whose storage entry is missing, and one whose view reaches past its storage.
    const pickle = (numel: number, shape: number): Uint8Array => Uint8Array.from([
      0x80, 2, 0x63, ...ascii('collections\nOrderedDict\n'), 0x29, 0x52, 0x58, 1, 0, 0, 0, 0x77,
      0x63, ...ascii('torch._utils\n_rebuild_tensor_v2\n'), 0x28, 0x28,
      0x58, 7, 0, 0, 0, ...ascii('storage'), 0x63, ...ascii('torch\nFloatStorage\n'), 0x58, 1, 0, 0, 0, ...ascii('0'), 0x58, 3, 0, 0, 0, ...ascii('cpu'), 0x4b, numel, 0x74, 0x51,
      0x4b, 0, 0x4b, shape, 0x85, 0x4b, 1, 0x85, 0x89, 0x29, 0x74, 0x52, 0x73, 0x2e]);
    const zip = (files: Record<string, Uint8Array>): Uint8Array => zipSync(files, { level: 0 });
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': pickle(2, 2) }), 'nostorage.bin'), /nostorage\.bin: tensor 'w': its storage a\/data\/0 is missing/);
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': pickle(2, 3), 'a/data/0': new Uint8Array(8) }), 'more.bin'), /more\.bin: tensor 'w': its view \(shape \[3\], stride \[1\]\) has 3 elements, more than its storage's 2/);
    const ok = readTorchStateDict(zip({ 'a/data.pkl': pickle(2, 2), 'a/data/0': new Uint8Array(new Float32Array([1.5, -2]).buffer) }), 'ok.bin');
    assert.deepEqual(Array.from(ok.get('w')!.data), [1.5, -2]);
  });

  it('crafted pickles and archives are refused in one line, without hanging or allocating what they claim', () => {
    const zip = (files: Record<string, Uint8Array>): Uint8Array => zipSync(files, { level: 0 });
    // A negative BINSTRING length (it used to move the reader backwards forever).
    assert.throws(() => readTorchPickle(Uint8Array.from([0x80, 2, 0x54, 0xfb, 0xff, 0xff, 0xff, 0x2e]), 'neg.pkl'), /neg\.pkl: a length of -5 at byte 7/);
    // A value built from itself 40 times over (2^40 leaves if serialised): the message names its kind only.
    const doubling = [0x80, 2, 0x4e, 0x71, 0, 0x30];
    for (let i = 0; i < 40; i++) doubling.push(0x68, 0, 0x68, 0, 0x86, 0x71, 0, 0x30);
    doubling.push(0x68, 0, 0x2e);
    const top = readTorchPickle(Uint8Array.from(doubling), 'doubling.pkl');
    assert.ok(Array.isArray(top) && top.length === 2);
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': Uint8Array.from(doubling) }), 'doubling.bin'), /doubling\.bin: its pickle holds no state dict/);
    // A tensor of 2^31 − 1 elements over a one-value storage (stride 0), and a negative offset, and a NaN element count.
    const tensor = (numel: number[], offset: number[], shape: number[], stride: number[]): Uint8Array => Uint8Array.from([
      0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x77, 0x63, ...ascii('torch._utils\n_rebuild_tensor_v2\n'), 0x28, 0x28,
      0x58, 7, 0, 0, 0, ...ascii('storage'), 0x63, ...ascii('torch\nFloatStorage\n'), 0x58, 1, 0, 0, 0, ...ascii('0'), 0x58, 3, 0, 0, 0, ...ascii('cpu'), ...numel, 0x74, 0x51,
      ...offset, ...shape, 0x85, ...stride, 0x85, 0x89, 0x29, 0x74, 0x52, 0x73, 0x2e]);
    const storage1 = new Uint8Array(4);
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': tensor([0x4b, 1], [0x4b, 0], [0x4a, 0xff, 0xff, 0xff, 0x7f], [0x4b, 0]), 'a/data/0': storage1 }), 'huge.bin'),
      /huge\.bin: its tensors claim 2147483647 values by 'w', more than a file of \d+ bytes holds/);
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': tensor([0x4b, 1], [0x4a, 0xff, 0xff, 0xff, 0xff], [0x4b, 1], [0x4b, 1]), 'a/data/0': storage1 }), 'negoff.bin'),
      /negoff\.bin \(a\/data\.pkl\): a tensor rebuilt from arguments that are not \(storage, offset, shape, stride\)/);
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': tensor([0x47, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], [0x4b, 0], [0x4b, 1], [0x4b, 1]), 'a/data/0': storage1 }), 'nan.bin'),
      /nan\.bin \(a\/data\.pkl\): a persistent id that is not a tensor storage/);
    // A view starting inside its storage and running past its end.
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': tensor([0x4b, 2], [0x4b, 1], [0x4b, 2], [0x4b, 1]), 'a/data/0': new Uint8Array(8) }), 'past.bin'),
      /past\.bin: tensor 'w': its view \(offset 1, shape \[2\], stride \[1\]\) reaches past its storage of 2 values/);
    // A protocol-4 global (STACK_GLOBAL) is held to the same three names.
    const stackGlobal = (module: string, name: string): Uint8Array =>
      Uint8Array.from([0x80, 4, 0x8c, module.length, ...ascii(module), 0x8c, name.length, ...ascii(name), 0x93, 0x29, 0x52, 0x2e]);
    assert.equal((readTorchPickle(stackGlobal('collections', 'OrderedDict'), 'p4.pkl') as { kind: string }).kind, 'dict');
    assert.throws(() => readTorchPickle(stackGlobal('os', 'system'), 'p4evil.pkl'), /p4evil\.pkl: its pickle uses os\.system, which this reader does not accept/);
    // A big-endian archive (PyTorch ≥ 2.1 writes byteorder).
    assert.throws(() => readTorchStateDict(zip({ 'a/data.pkl': tensor([0x4b, 1], [0x4b, 0], [0x4b, 1], [0x4b, 1]), 'a/data/0': storage1, 'a/byteorder': ascii2('big') }), 'be.bin'),
      /be\.bin: its tensors are stored big-endian/);
  });

  it('the pickle reader accepts only its three globals and calls nothing', () => {
    // c builtins\neval\n (x) R: what a malicious pickle does; refused when the GLOBAL is read, before any call.
    const evil = Uint8Array.from([0x80, 2, 0x63, ...ascii('builtins\neval\n'), 0x58, 1, 0, 0, 0, 0x31, 0x85, 0x52, 0x2e]);
    assert.throws(() => readTorchPickle(evil, 'evil.pkl'), /evil\.pkl: its pickle uses builtins\.eval, which this reader does not accept/);
    assert.throws(() => readTorchPickle(Uint8Array.from([0x80, 2, 0x69]), 'inst.pkl'), /pickle opcode 0x69 at byte 2 is not read here/);
    assert.throws(() => readTorchPickle(Uint8Array.from([0x80, 2, 0x58, 9, 0, 0, 0]), 'short.pkl'), /short\.pkl: the pickle ends early/);
  });

  it('widens float16 exactly (subnormals, infinities, NaN)', () => {
    assert.deepEqual([0x0000, 0x8000, 0x3c00, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00].map(halfToFloat), [0, -0, 1, 2 ** -24, 1023 * 2 ** -24, 65504, Infinity, -Infinity]);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });
});

describe('safetensors from elsewhere', () => {
  it('widens F16 and BF16 tensors to float32 exactly and checks their byte counts', () => {
    const file = (header: Record<string, unknown>, data: number[]): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(header)), out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    };
    // F16 [1, -2, 65504] and BF16 [1, -0.5] (0x3f80, 0xbf00), little-endian.
    const bytes = file({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] } },
      [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x80, 0x3f, 0x00, 0xbf]);
    const { tensors } = decodeSafetensors(bytes, 'hub.safetensors');
    assert.deepEqual([...tensors.get('h')!.data, ...tensors.get('b')!.data], [1, -2, 65504, 1, -0.5]);
    assert.deepEqual([tensors.get('h')!.dtype, tensors.get('h')!.storedAs, tensors.get('b')!.storedAs], ['F32', 'F16', 'BF16']);
    assert.throws(() => decodeSafetensors(file({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 12] } }, new Array(12).fill(0)), 'x.safetensors'),
      /tensor 'h': 12 bytes for shape \[3\] of F16 \(expected 6\)/);
    assert.throws(() => decodeSafetensors(file({ h: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)), 'x.safetensors'),
      /tensor 'h': unsupported dtype "F64" \(supported: F32, I32, F16, BF16\)/);
  });
});

function ascii(s: string): number[] { return Array.from(s, (c) => c.charCodeAt(0)); }
function ascii2(s: string): Uint8Array { return Uint8Array.from(ascii(s)); }
