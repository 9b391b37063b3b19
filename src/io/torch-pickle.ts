// A restricted reader of the pickles inside PyTorch's checkpoint files (`torch.save` zip format:
// `<archive>/data.pkl` + `<archive>/data/<key>` raw storages; spec krasserm-interop §1). General
// unpickling runs code — a pickle can call any importable function — so this reader interprets
// only the opcodes a state dict needs and accepts exactly three globals: `collections.OrderedDict`,
// `torch._utils._rebuild_tensor_v2` and the storage types of float32, float16 and bfloat16 tensors
// (as persistent ids). Anything else is refused with one line naming it; nothing is ever called.
import { InputError } from '../errors.js';

/** A storage a tensor views: its element type, key in the archive and element count. */
export interface TorchStorage { readonly kind: 'storage'; readonly dtype: 'F32' | 'F16' | 'BF16'; readonly key: string; readonly numel: number }

/** A tensor as the pickle describes it: a view of a storage. */
export interface TorchTensorRef {
  readonly kind: 'tensor';
  readonly storage: TorchStorage;
  /** In elements. */
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** What the pickle can hold: plain values, tuples/lists, dicts (string keys), tensors. */
export type PickleValue = null | boolean | number | string | PickleValue[] | PickleDict | TorchTensorRef | TorchStorage | PickleGlobal;
export interface PickleDict { readonly kind: 'dict'; readonly entries: Map<string, PickleValue> }
interface PickleGlobal { readonly kind: 'global'; readonly name: string }

export class TorchPickleError extends InputError {}

const ALLOWED_GLOBALS = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2']);
const STORAGE_TYPES: Readonly<Record<string, TorchStorage['dtype']>> = {
  'torch.FloatStorage': 'F32', 'torch.HalfStorage': 'F16', 'torch.BFloat16Storage': 'BF16',
};

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** What a value is, in words (messages never serialise pickle values: they may refer to themselves or be huge). */
export function kindOf(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a list or tuple of ${v.length}`;
  if (typeof v === 'object') return `a ${(v as { kind?: string }).kind ?? 'value'}`;
  return typeof v === 'string' ? `the string '${v.slice(0, 40)}'` : `${typeof v} ${String(v)}`;
}

const isDict = (v: unknown): v is PickleDict => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'dict';
const isGlobal = (v: unknown): v is PickleGlobal => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'global';

/**
 * Reads a pickle (the opcodes of protocols 2–5 that state dicts use). `what` names the file in messages.
 * Returns the top-level value.
 */
export function readTorchPickle(bytes: Uint8Array, what: string): PickleValue {
  const fail = (msg: string): never => { throw new TorchPickleError(`${what}: ${msg}`); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), text = new TextDecoder('utf-8', { fatal: true });
  const stack: StackItem[] = [], memo = new Map<number, PickleValue>();
  let at = 0;
  const need = (n: number): void => {
    if (!(n >= 0)) fail(`a length of ${n} at byte ${at}`);
    if (at + n > bytes.length) fail(`the pickle ends early (at byte ${at} of ${bytes.length})`);
  };
  const u8 = (): number => { need(1); return bytes[at++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(at, true); at += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(at, true); at += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(at, true); at += 4; return v; };
  const str = (n: number): string => {
    need(n);
    const from = at;
    at += n;
    try { return text.decode(bytes.subarray(from, at)); } catch { return fail(`a string at byte ${from} is not UTF-8`); }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('the pickle ends inside a GLOBAL');
    const s = new TextDecoder('latin1').decode(bytes.subarray(at, end));
    at = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) fail(`the pickle's stack is empty or at a mark where a value was needed (byte ${at})`);
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail(`no mark on the pickle's stack (byte ${at})`);
    const items = stack.splice(i) as (PickleValue | typeof MARK)[];
    return items.slice(1) as PickleValue[];
  };
  const top = (): PickleValue => { const v = stack[stack.length - 1]; if (v === undefined || v === MARK) fail(`no value on the pickle's stack (byte ${at})`); return v as PickleValue; };
  const setItems = (dict: PickleValue, items: PickleValue[]): void => {
    if (!isDict(dict)) fail('SETITEMS on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) {
      const k = items[i]!;
      if (typeof k !== 'string') fail(`a dict key that is not a string (${kindOf(k)})`);
      (dict as PickleDict).entries.set(k as string, items[i + 1]!);
    }
  };
  const long = (n: number): number => {
    need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
    if (n > 0 && bytes[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    at += n;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`an integer beyond 2^53 (${v})`);
    return Number(v);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: at += 8; break; // FRAME (protocol 4+): its length only
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`the pickle stops with ${stack.length} values on its stack`);
        return pop();
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x7d: stack.push({ kind: 'dict', entries: new Map() }); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x47: { need(8); stack.push(view.getFloat64(at, false)); at += 8; break; } // BINFLOAT
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x55: stack.push(str(u8())); break; // SHORT_BINSTRING
      case 0x54: stack.push(str(i32())); break; // BINSTRING
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(), l = top(); if (!Array.isArray(l)) fail('APPEND to something that is not a list'); (l as PickleValue[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(), l = top(); if (!Array.isArray(l)) fail('APPENDS to something that is not a list'); for (const v of items) (l as PickleValue[]).push(v); break; } // APPENDS
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`a memo entry ${i} that was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x63: case 0x93: { // GLOBAL, STACK_GLOBAL (protocol 4+: module and name from the stack)
        let name: string;
        if (op === 0x63) name = `${line()}.${line()}`;
        else {
          const qualname = pop(), module = pop();
          if (typeof module !== 'string' || typeof qualname !== 'string') fail('STACK_GLOBAL without a module and a name');
          name = `${module as string}.${qualname as string}`;
        }
        if (/^torch\.\w+Storage$/.test(name) && !(name in STORAGE_TYPES)) {
          fail(`it holds a tensor of storage type ${name} (supported: ${Object.keys(STORAGE_TYPES).join(', ')}): convert the state dict to floating point first`);
        }
        if (!ALLOWED_GLOBALS.has(name) && !(name in STORAGE_TYPES)) {
          fail(`its pickle uses ${name}, which this reader does not accept (only a state dict of float32, float16 and bfloat16 tensors: ` +
            'OrderedDict, _rebuild_tensor_v2 and their storages; a pickle can run code, so nothing else is read)');
        }
        stack.push({ kind: 'global', name });
        break;
      }
      case 0x51: { // BINPERSID: ('storage', storage type, key, location, numel)
        const id = pop();
        if (!Array.isArray(id) || id.length < 5 || id[0] !== 'storage' || !isGlobal(id[1]) || typeof id[2] !== 'string' || !Number.isSafeInteger(id[4]) || (id[4] as number) < 0) {
          fail(`a persistent id that is not a tensor storage (${kindOf(id)})`);
        }
        const t = id as [string, PickleGlobal, string, unknown, number], dtype = STORAGE_TYPES[t[1].name];
        if (!dtype) fail(`a storage of type ${t[1].name} (supported: ${Object.keys(STORAGE_TYPES).join(', ')})`);
        stack.push({ kind: 'storage', dtype: dtype!, key: t[2], numel: t[4] });
        break;
      }
      case 0x52: { // REDUCE: only OrderedDict() and _rebuild_tensor_v2(storage, offset, size, stride, …)
        const args = pop(), fn = pop();
        if (!isGlobal(fn) || !Array.isArray(args)) fail('REDUCE of something that is not an accepted global');
        const f = fn as PickleGlobal, a = args as PickleValue[];
        if (f.name === 'collections.OrderedDict') {
          if (a.length !== 0) fail('OrderedDict built with arguments');
          stack.push({ kind: 'dict', entries: new Map() });
        } else if (f.name === 'torch._utils._rebuild_tensor_v2') {
          const [storage, offset, shape, stride] = a;
          const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
          if (typeof storage !== 'object' || storage === null || (storage as { kind?: string }).kind !== 'storage' || !Number.isSafeInteger(offset) || (offset as number) < 0 ||
            !ints(shape) || !ints(stride) || shape.length !== stride.length) {
            fail('a tensor rebuilt from arguments that are not (storage, offset, shape, stride)');
          }
          stack.push({ kind: 'tensor', storage: storage as TorchStorage, offset: offset as number, shape: shape as number[], stride: stride as number[] });
        } else {
          fail(`${f.name} called in the pickle`);
        }
        break;
      }
      case 0x62: { // BUILD: an OrderedDict's attributes (a state dict's _metadata) are read and dropped
        const state = pop();
        if (!isDict(top())) fail('BUILD on something that is not a dict');
        if (!isDict(state) && state !== null && !Array.isArray(state)) fail('BUILD with a state that is not a dict');
        break;
      }
      default:
        fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at - 1} is not read here (a state dict does not use it)`);
    }
  }
}
