// Writes a state dict of float32 tensors as `torch.save` writes one (its zip format, which
// `torch.load` reads): `<archive>/data.pkl` — a protocol-2 pickle of an OrderedDict whose values are
// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` with each
// storage a persistent id ('storage', torch.FloatStorage, key, 'cpu', numel) — the raw
// little-endian storages as `<archive>/data/<key>`, `<archive>/byteorder` and `<archive>/version`.
// Entries are stored (not compressed), as torch writes them, with a fixed time, so that the same
// tensors always give the same bytes. Only the opcodes the restricted
// reader (torch-pickle.ts) accepts are written, so our own files read back through it.
import { zipSync, type Zippable } from 'fflate';

export interface FloatTensor { readonly shape: readonly number[]; readonly data: Float32Array }

/** Pickle opcodes written here (protocol 2). */
const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_TUPLE: 0x29, TUPLE: 0x74, GLOBAL: 0x63, REDUCE: 0x52, SETITEMS: 0x75, BINPERSID: 0x51,
  BININT: 0x4a, LONG1: 0x8a, BINUNICODE: 0x58, NEWFALSE: 0x89,
} as const;

class PickleWriter {
  private readonly parts: number[] = [];
  op(code: number): this { this.parts.push(code); return this; }
  global(module: string, name: string): this { this.op(OP.GLOBAL); for (const b of new TextEncoder().encode(`${module}\n${name}\n`)) this.parts.push(b); return this; }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.op(OP.BINUNICODE).u32(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  /** An integer ≥ 0: BININT below 2^31, LONG1 (little-endian two's complement) above. */
  int(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`pickle: ${n} is not a non-negative integer`);
    if (n < 2 ** 31) return this.op(OP.BININT).u32(n);
    const bytes: number[] = [];
    for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
    if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
    this.op(OP.LONG1).op(bytes.length);
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  tuple(items: readonly number[]): this { this.op(OP.MARK); for (const n of items) this.int(n); return this.op(OP.TUPLE); }
  private u32(n: number): this { this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff); return this; }
  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

/** Row-major strides of a shape. */
const strides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** The bytes of a torch.save file holding `tensors` in order (`archive`: the zip's top folder, as torch names it after the file). */
/** Zip entry options: stored, at a fixed time (zip times are local: noon keeps the date in every time zone). */
const STORED = { level: 0, mtime: new Date(2000, 0, 1, 12) } as const;

/** The zip format without its ZIP64 extension (which the writer does not use) ends at 4 GiB. */
const ZIP_LIMIT = 2 ** 32 - 2 ** 20;

export function encodeTorchStateDict(tensors: ReadonlyMap<string, FloatTensor>, archive = 'archive'): Uint8Array {
  const bytes = [...tensors.values()].reduce((n, t) => n + 4 * t.data.length, 0);
  if (bytes > ZIP_LIMIT) {
    throw new RangeError(`a state dict of ${(bytes / 2 ** 30).toFixed(2)} GiB cannot be written: this writer makes plain zip files, which end at 4 GiB ` +
      '(about a billion float32 parameters)');
  }
  const p = new PickleWriter().op(OP.PROTO).op(2).global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE).op(OP.REDUCE).op(OP.MARK);
  const files: Zippable = {};
  let key = 0;
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new RangeError(`tensor ${name}: shape [${t.shape}] holds ${numel} values, its data ${t.data.length}`);
    p.str(name).global('torch._utils', '_rebuild_tensor_v2');
    p.op(OP.MARK);
    p.op(OP.MARK).str('storage').global('torch', 'FloatStorage').str(String(key)).str('cpu').int(numel).op(OP.TUPLE).op(OP.BINPERSID);
    p.int(0).tuple(t.shape).tuple(strides(t.shape)).op(OP.NEWFALSE).global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE).op(OP.REDUCE);
    p.op(OP.TUPLE).op(OP.REDUCE);
    const raw = new Uint8Array(t.data.length * 4), view = new DataView(raw.buffer);
    t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    files[`${archive}/data/${key}`] = [raw, STORED];
    key++;
  }
  p.op(OP.SETITEMS).op(OP.STOP);
  return zipSync({
    [`${archive}/data.pkl`]: [p.bytes(), STORED], [`${archive}/byteorder`]: [new TextEncoder().encode('little'), STORED],
    ...files, [`${archive}/version`]: [new TextEncoder().encode('3\n'), STORED],
  });
}
