// The engine's one shared WebAssembly.Memory and an allocator over it: first-fit over a free list
// (freed blocks coalesce; a freed block at the top lowers the top), plus stack-style mark/release.
// Tensors are typed-array views into this memory; the wasm backend turns a view back into a byte
// offset (pointer), and refuses views that do not live here.

const PAGE = 65536;
/** wasm32 memories stop at 4 GiB (65536 pages). */
export const MAX_MEMORY_BYTES = 65536 * PAGE;
const ALIGN = 64;

interface Block { offset: number; size: number }

export class EngineMemory {
  private top: number;
  /**
   * Every buffer object this memory has handed out, held strongly: V8 may give a shared memory a
   * fresh SharedArrayBuffer wrapper once the old one is garbage-collected, so a weak set would
   * forget buffers that live views still use.
   */
  private readonly buffers = new Set<ArrayBufferLike>();
  /** The buffer of the last view pointer() accepted (one of `buffers`), or null. */
  private lastBuffer: ArrayBufferLike | null = null;
  /** Live allocations: offset → aligned size. */
  private readonly live = new Map<number, number>();
  /** Free blocks below top, sorted by offset, never adjacent (coalesced). */
  private freeList: Block[] = [];

  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.top = base;
    this.buffers.add(memory.buffer);
  }

  get capacityBytes(): number { return this.memory.buffer.byteLength; }
  get bytesInUse(): number { return this.top; }

  /** Reserves `bytes` (64-byte aligned, zeroed), growing the memory as needed; returns the byte offset. */
  allocBytes(bytes: number, what = 'buffer'): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`alloc: ${what} size must be a non-negative integer, got ${bytes}`);
    const size = Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
    const fit = this.freeList.findIndex((b) => b.size >= size);
    if (fit >= 0) {
      const b = this.freeList[fit]!, start = b.offset;
      if (b.size === size) this.freeList.splice(fit, 1);
      else { b.offset += size; b.size -= size; }
      this.live.set(start, size);
      new Uint8Array(this.memory.buffer, start, size).fill(0);
      return start;
    }
    const start = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = start + size;
    if (end > MAX_MEMORY_BYTES) {
      const mib = (x: number): string => (x / 2 ** 20).toFixed(1);
      throw new RangeError(`alloc: ${what} of ${mib(bytes)} MiB does not fit: the engine's WebAssembly memory is capped ` +
        `at 4096 MiB and ${mib(this.top)} MiB are in use`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      this.memory.grow(Math.ceil((end - have) / PAGE));
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    this.live.set(start, size);
    // Released memory is reused, so clear it: allocations start zeroed, like new Float32Array(n).
    // Pages the grow above just added are zero already (WebAssembly's memory.grow zero-fills), and
    // writing them would only fault them in ahead of use (seconds for a model's arenas).
    if (start < have) new Uint8Array(this.memory.buffer, start, Math.min(end, have) - start).fill(0);
    return start;
  }

  /** Returns an allocation (by its view) to the free list. */
  free(view: ArrayBufferView, what = 'buffer'): void {
    const offset = this.pointer(view, 'free', what);
    const size = this.live.get(offset);
    if (size === undefined) throw new RangeError(`free: ${what} at offset ${offset} is not the start of a live allocation (freed twice?)`);
    this.live.delete(offset);
    let i = this.freeList.findIndex((b) => b.offset > offset);
    if (i < 0) i = this.freeList.length;
    this.freeList.splice(i, 0, { offset, size });
    const next = this.freeList[i + 1];
    if (next && offset + size === next.offset) { this.freeList[i]!.size += next.size; this.freeList.splice(i + 1, 1); }
    const prev = this.freeList[i - 1];
    if (prev && prev.offset + prev.size === offset) { prev.size += this.freeList[i]!.size; this.freeList.splice(i, 1); }
    const last = this.freeList[this.freeList.length - 1];
    if (last && last.offset + last.size >= this.top) { this.top = last.offset; this.freeList.pop(); }
  }

  // The offset is reserved first: allocBytes may grow the memory, which replaces memory.buffer.
  // Every view's buffer object is registered as it is handed out: V8 may give a shared memory a new
  // buffer object without a grow of ours (seen with two engines in one process), and a view made
  // on it must still be recognised after a later grow.
  private view<T extends ArrayBufferView>(v: T): T { this.buffers.add(v.buffer); return v; }
  f32(n: number, what = 'f32 buffer'): Float32Array { const o = this.allocBytes(n * 4, what); return this.view(new Float32Array(this.memory.buffer, o, n)); }
  i32(n: number, what = 'i32 buffer'): Int32Array { const o = this.allocBytes(n * 4, what); return this.view(new Int32Array(this.memory.buffer, o, n)); }
  u16(n: number, what = 'u16 buffer'): Uint16Array { const o = this.allocBytes(n * 2, what); return this.view(new Uint16Array(this.memory.buffer, o, n)); }
  u8(n: number, what = 'u8 buffer'): Uint8Array { const o = this.allocBytes(n, what); return this.view(new Uint8Array(this.memory.buffer, o, n)); }
  f64(n: number, what = 'f64 buffer'): Float64Array { const o = this.allocBytes(n * 8, what); return this.view(new Float64Array(this.memory.buffer, o, n)); }

  /** A point to return to with release(); everything allocated after it is freed then. */
  mark(): number { return this.top; }
  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0) throw new RangeError(`release: mark must be a value mark() returned, got ${mark}`);
    // Frees may already have lowered the top below the mark.
    this.top = Math.min(this.top, mark);
    for (const offset of [...this.live.keys()]) if (offset >= mark) this.live.delete(offset);
    this.freeList = this.freeList.filter((b) => b.offset < mark).map((b) => ({ offset: b.offset, size: Math.min(b.size, mark - b.offset) }));
  }

  /** Byte offset of a view, or a TypeError naming the kernel and argument if it is not in this memory. */
  pointer(view: ArrayBufferView, kernel: string, name: string): number {
    // Every kernel argument passes here (hundreds a decode step): the buffer of the last view seen
    // answers without the set's lookups.
    const buffer = view.buffer;
    if (buffer !== this.lastBuffer) {
      if (!this.buffers.has(buffer) && buffer === this.memory.buffer) this.buffers.add(buffer);
      if (!this.buffers.has(buffer)) {
        throw new TypeError(`${kernel}: ${name} is not a view into the engine's memory; allocate it with engine.allocF32/allocI32/allocU8/allocU16`);
      }
      this.lastBuffer = buffer;
    }
    return view.byteOffset;
  }
}
