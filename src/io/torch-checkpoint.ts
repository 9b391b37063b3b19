// PyTorch checkpoint files (`torch.save` of a state dict: `pytorch_model.bin`, a Lightning `.ckpt`'s
// `state_dict`) read without PyTorch: the zip archive (fflate), its pickle through the restricted
// reader (torch-pickle.ts: nothing in it is ever executed), each tensor gathered from its storage
// by offset, shape and stride and converted to float32 (float16 and bfloat16 widened exactly).
// Damaged files and anything else than a state dict of floating-point tensors are refused with one
// line naming the file and, where there is one, the tensor.
import { unzipSync } from 'fflate';
import { bf16ToFloat, halfToFloat } from './float16.js';
import { kindOf, readTorchPickle, TorchPickleError, type PickleDict, type PickleValue, type TorchTensorRef } from './torch-pickle.js';

export interface TorchTensor {
  /** The dtype it was stored in (its values are returned as float32). */
  readonly dtype: 'F32' | 'F16' | 'BF16';
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const ITEM_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;


/** The tensor's elements in row-major order, read from its storage's bytes by offset and stride. */
function gather(t: TorchTensorRef, bytes: Uint8Array, name: string, fail: (msg: string) => never): Float32Array {
  const { dtype, numel } = t.storage, size = ITEM_BYTES[dtype];
  if (bytes.length < numel * size) fail(`tensor '${name}': its storage ${t.storage.key} holds ${bytes.length} bytes, ${numel} ${dtype} values need ${numel * size}`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  // A view with more elements than its storage repeats values (stride 0: an expanded tensor); refused, so a small file cannot claim a huge tensor.
  if (count > numel) fail(`tensor '${name}': its view (shape [${t.shape}], stride [${t.stride}]) has ${count} elements, more than its storage's ${numel}; save tensor.contiguous() instead`);
  const out = new Float32Array(count);
  if (count === 0) return out;
  // The largest element index the view reaches must lie inside the storage.
  const last = t.offset + t.shape.reduce((s, n, i) => s + (n - 1) * t.stride[i]!, 0);
  if (last >= numel) fail(`tensor '${name}': its view (offset ${t.offset}, shape [${t.shape}], stride [${t.stride}]) reaches past its storage of ${numel} values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = dtype === 'F32' ? (i: number): number => view.getFloat32(i * 4, true)
    : dtype === 'F16' ? (i: number): number => halfToFloat(view.getUint16(i * 2, true)) : (i: number): number => bf16ToFloat(view.getUint16(i * 2, true));
  const dims = t.shape.length, index = new Array<number>(dims).fill(0);
  for (let k = 0; k < count; k++) {
    let src = t.offset;
    for (let d = 0; d < dims; d++) src += index[d]! * t.stride[d]!;
    out[k] = read(src);
    for (let d = dims - 1; d >= 0; d--) { if (++index[d]! < t.shape[d]!) break; index[d] = 0; }
  }
  return out;
}

/**
 * The tensors of a PyTorch checkpoint file's bytes, by name: a state dict saved by `torch.save`
 * (zip format, PyTorch ≥ 1.6), or a dict holding one under `state_dict` (Lightning checkpoints, if
 * their pickle holds nothing else than the restricted reader accepts).
 */
export function readTorchStateDict(bytes: Uint8Array, what: string): Map<string, TorchTensor> {
  const fail = (msg: string): never => { throw new TorchPickleError(`${what}: ${msg}`); };
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    fail('a legacy (pre-1.6) torch.save file; load it in PyTorch and save it again with torch.save (zip format) or as .safetensors');
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b || bytes[2] !== 0x03 || bytes[3] !== 0x04) fail('not a PyTorch checkpoint (a zip archive written by torch.save)');
  let files: Record<string, Uint8Array>;
  try {
    // Only the pickle and the storages are unpacked, and none that claims to be larger than a stored
    // entry could be (torch.save stores without compression) or than 32× the file when deflated.
    files = unzipSync(bytes, {
      filter: (f) => {
        if (!/(^|\/)(data\.pkl|byteorder|data\/[^/]+)$/.test(f.name)) return false;
        if (f.originalSize > (f.compression === 0 ? bytes.length : 32 * bytes.length)) fail(`the zip entry ${f.name} claims ${f.originalSize} bytes, more than the file can hold`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof TorchPickleError) throw e;
    return fail(`the zip archive is damaged or truncated (${(e as Error).message})`);
  }
  const pkl = Object.keys(files).filter((n) => /(^|\/)data\.pkl$/.test(n));
  if (pkl.length !== 1) fail(`${pkl.length === 0 ? 'no' : 'more than one'} data.pkl in the archive (a torch.save file has one)`);
  const prefix = pkl[0]!.slice(0, -'data.pkl'.length), order = files[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little') fail(`its tensors are stored ${new TextDecoder().decode(order).trim()}-endian; only little-endian files are read`);
  let top: PickleValue = readTorchPickle(files[pkl[0]!]!, `${what} (${pkl[0]})`);
  const isDict = (v: PickleValue): v is PickleDict => typeof v === 'object' && v !== null && !Array.isArray(v) && v.kind === 'dict';
  if (isDict(top) && top.entries.has('state_dict')) top = top.entries.get('state_dict')!;
  if (!isDict(top)) return fail('its pickle holds no state dict (a dict of tensors)');
  const out = new Map<string, TorchTensor>();
  // Views sharing storages could claim far more values than the file holds: at most 2 values per byte of the file in all.
  let total = 0;
  for (const [name, v] of top.entries) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v.kind !== 'tensor') fail(`'${name}' is not a tensor (${kindOf(v)}); a state dict holds tensors only`);
    const t = v as TorchTensorRef, data = files[`${prefix}data/${t.storage.key}`];
    total += t.shape.reduce((a, b) => a * b, 1);
    if (total > 2 * bytes.length) fail(`its tensors claim ${total} values by '${name}', more than a file of ${bytes.length} bytes holds`);
    if (!data) fail(`tensor '${name}': its storage ${prefix}data/${t.storage.key} is missing from the archive`);
    out.set(name, { dtype: t.storage.dtype, shape: [...t.shape], data: gather(t, data!, name, fail) });
  }
  return out;
}
