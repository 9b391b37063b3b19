// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, an optional "__metadata__" string map, then the raw
// little-endian tensor bytes. Encoding and strict decoding over bytes; file I/O lives elsewhere.
// Files from elsewhere (the Hugging Face hub) may hold F16 and BF16 tensors: decoding widens them
// to float32 exactly (`storedAs` says what they were).
import { widen16 } from './float16.js';

export type DType = 'F32' | 'I32';
/** What a file may store: ours write F32 and I32. */
export type StoredDType = DType | 'F16' | 'BF16';
const ITEM_BYTES: Readonly<Record<StoredDType, number>> = { F32: 4, I32: 4, F16: 2, BF16: 2 };

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  /** A decoded tensor the file stored as F16 or BF16 (its data widened to float32). */
  readonly storedAs?: 'F16' | 'BF16';
}

export interface Decoded {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/** A decoding failure; the message says what is wrong with the file. */
export class SafetensorsError extends Error {}

const MAX_HEADER_BYTES = 100 * 2 ** 20;

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new RangeError(`tensor ${name}: shape [${t.shape}] holds ${n} elements but data has ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Padded with spaces on its UTF-8 byte length, so the data section starts 8-byte aligned even
  // when the metadata holds non-ASCII text.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** One tensor's header entry: dtype, shape and its byte range in the data section. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: StoredDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface Header {
  readonly metadata: Readonly<Record<string, string>>;
  readonly entries: readonly TensorEntry[];
  /** Byte offset of the data section in the file. */
  readonly dataStart: number;
}

/** The 8-byte header length at the start of a file (at least 8 bytes of it). */
export function headerLength(prefix: Uint8Array, fileBytes: number, what = 'file'): number {
  if (prefix.length < 8 || fileBytes < 8) throw new SafetensorsError(`${what}: too short to be a safetensors file (${fileBytes} bytes)`);
  const n = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || 8 + n > fileBytes) {
    throw new SafetensorsError(`${what}: corrupt header: it claims ${n} bytes but the file has ${fileBytes - 8} after the length field`);
  }
  return n;
}

/**
 * The header of a file of `fileBytes` bytes from its first 8 + headerLength bytes, checked as
 * strictly as a whole decode checks it (dtypes, shapes, byte ranges that tile the data section
 * exactly), without reading any tensor data.
 */
export function decodeSafetensorsHeader(prefix: Uint8Array, fileBytes: number, what = 'file'): Header {
  const fail: (msg: string) => never = (msg) => { throw new SafetensorsError(`${what}: ${msg}`); };
  const length = headerLength(prefix, fileBytes, what);
  if (prefix.length < 8 + length) fail(`the header needs ${8 + length} bytes; ${prefix.length} were read`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + length)));
  } catch (e) {
    fail(`corrupt header: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('corrupt header: not a JSON object');
  const dataStart = 8 + length, dataLength = fileBytes - dataStart;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('corrupt header: __metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`corrupt header: metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`tensor '${name}': its header entry is ${JSON.stringify(value)}, not an object`);
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    for (const field of ['dtype', 'shape', 'data_offsets'] as const) if (!(field in t)) fail(`tensor '${name}': its header entry has no ${field}`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(ITEM_BYTES, t.dtype)) fail(`tensor '${name}': unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(ITEM_BYTES).join(', ')})`);
    const dtype = t.dtype as StoredDType, item = ITEM_BYTES[dtype];
    const shape = t.shape, offs = t.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * item) fail(`tensor '${name}': ${end - begin} bytes for shape [${shape}] of ${dtype} (expected ${count * item})`);
    if (end > dataLength) fail(`truncated tensor data: '${name}' ends at byte ${end} but only ${dataLength} data bytes are present`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The tensors must tile the data section exactly: no overlap, no hole, nothing after the last.
  const ranges = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const { begin, end, name } of ranges) {
    if (begin < covered) fail(`corrupt header: tensor '${name}' overlaps the tensor before it (bytes ${begin}–${end})`);
    if (begin > covered) fail(`corrupt header: ${begin - covered} data bytes before tensor '${name}' belong to no tensor (bytes ${covered}–${begin})`);
    covered = end;
  }
  if (covered !== dataLength) {
    fail(`corrupt file: ${dataLength - covered} bytes after the last tensor belong to no tensor (the header length may be wrong, or the file has trailing data)`);
  }
  return { metadata, entries, dataStart };
}

export function decodeSafetensors(bytes: Uint8Array, what = 'file'): Decoded {
  const { metadata, entries, dataStart } = decodeSafetensorsHeader(bytes, bytes.length, what);
  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const raw = bytes.subarray(dataStart + begin, dataStart + end), count = (end - begin) / ITEM_BYTES[dtype];
    if (dtype === 'F16' || dtype === 'BF16') {
      tensors.set(name, { dtype: 'F32', shape, data: widen16(raw, count, dtype), storedAs: dtype });
      continue;
    }
    // A fresh copy: for a Node Buffer, slice() would be a view into the whole file.
    const copy = new Uint8Array(raw);
    tensors.set(name, { dtype, shape, data: dtype === 'F32' ? new Float32Array(copy.buffer, 0, count) : new Int32Array(copy.buffer, 0, count) });
  }
  return { metadata, tensors };
}
