// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, an optional "__metadata__" string map, then the raw
// little-endian tensor bytes. Encoding and strict decoding over bytes; file I/O lives elsewhere.

export type DType = 'F32' | 'I32';

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
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

export function decodeSafetensors(bytes: Uint8Array, what = 'file'): Decoded {
  const fail: (msg: string) => never = (msg) => { throw new SafetensorsError(`${what}: ${msg}`); };
  if (bytes.length < 8) fail(`too short to be a safetensors file (${bytes.length} bytes)`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(`corrupt header: it claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length field`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`corrupt header: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('corrupt header: not a JSON object');
  const dataStart = 8 + headerLength, dataLength = bytes.length - dataStart;
  const entries = Object.entries(header as Record<string, unknown>);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, Tensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, value] of entries) {
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
    if (t.dtype !== 'F32' && t.dtype !== 'I32') fail(`tensor '${name}': unsupported dtype ${JSON.stringify(t.dtype)} (supported: F32, I32)`);
    const shape = t.shape, offs = t.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4) fail(`tensor '${name}': ${end - begin} bytes for shape [${shape}] of ${t.dtype} (expected ${count * 4})`);
    if (end > dataLength) fail(`truncated tensor data: '${name}' ends at byte ${end} but only ${dataLength} data bytes are present`);
    ranges.push([begin, end, name]);
    // A fresh copy: for a Node Buffer, slice() would be a view into the whole file.
    const copy = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end));
    const data = t.dtype === 'F32' ? new Float32Array(copy.buffer, 0, count) : new Int32Array(copy.buffer, 0, count);
    tensors.set(name, { dtype: t.dtype, shape: shape as number[], data });
  }
  // The tensors must tile the data section exactly: no overlap, no hole, nothing after the last.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of ranges) {
    if (begin < covered) fail(`corrupt header: tensor '${name}' overlaps the tensor before it (bytes ${begin}–${end})`);
    if (begin > covered) fail(`corrupt header: ${begin - covered} data bytes before tensor '${name}' belong to no tensor (bytes ${covered}–${begin})`);
    covered = end;
  }
  if (covered !== dataLength) {
    fail(`corrupt file: ${dataLength - covered} bytes after the last tensor belong to no tensor (the header length may be wrong, or the file has trailing data)`);
  }
  return { metadata, tensors };
}
