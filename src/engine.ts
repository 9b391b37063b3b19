// The engine: a kernel set plus the memory its buffers live in. Model code allocates through the
// engine and calls engine.kernels; it never needs to know which backend runs.
import type { KernelSet } from './kernels/types.js';

export type BackendName = 'wasm' | 'reference';

export interface EngineInfo {
  readonly backend: BackendName;
  /** 'relaxed-simd' (FMA), 'simd128', or 'none' for the reference backend. */
  readonly simd: 'relaxed-simd' | 'simd128' | 'none';
  readonly threads: number;
  /** Why this backend/build was chosen (e.g. what feature detection found). */
  readonly notes: readonly string[];
  /** The native BLAS that large matmuls go to ("OpenBLAS 0.3.21, Haswell kernels"), or null: all in wasm/reference. */
  readonly blas: string | null;
  /** Whether the fused attention's tile products go to that BLAS (from every pool thread). */
  readonly blasAttentionTiles: boolean;
}

/** The allocation part of an engine, for code that only needs buffers. */
export type Allocator = Pick<Engine, 'allocF32' | 'allocI32' | 'allocU8' | 'free'>;

/** What a group of allocations would take, without allocating: total bytes and the largest buffer. */
export interface AllocationPlan { bytes: number; largest: { what: string; bytes: number } }

/** An allocator that only counts (its buffers are empty views), for planning memory before allocating. */
export function countingAllocator(): Allocator & { readonly plan: AllocationPlan } {
  const plan: AllocationPlan = { bytes: 0, largest: { what: '', bytes: 0 } };
  const count = (bytes: number, what = 'buffer'): void => {
    plan.bytes += Math.ceil(Math.max(bytes, 1) / 64) * 64;
    if (bytes > plan.largest.bytes) plan.largest = { what, bytes };
  };
  return {
    plan,
    allocF32: (n, what) => { count(4 * n, what); return new Float32Array(0); },
    allocI32: (n, what) => { count(4 * n, what); return new Int32Array(0); },
    allocU8: (n, what) => { count(n, what); return new Uint8Array(0); },
    free: () => undefined,
  };
}

/** An allocator that remembers what it handed out, so a group of buffers can be freed together. */
export function trackedAllocator(engine: Allocator): Allocator & { freeAll(): void } {
  const views: ArrayBufferView[] = [];
  const keep = <T extends ArrayBufferView>(v: T): T => { views.push(v); return v; };
  return {
    allocF32: (n, what) => keep(engine.allocF32(n, what)),
    allocI32: (n, what) => keep(engine.allocI32(n, what)),
    allocU8: (n, what) => keep(engine.allocU8(n, what)),
    free: (v) => engine.free(v),
    freeAll: () => { for (const v of views.splice(0)) engine.free(v); },
  };
}

export interface Engine {
  readonly kernels: KernelSet;
  readonly info: EngineInfo;
  allocF32(n: number, what?: string): Float32Array;
  allocI32(n: number, what?: string): Int32Array;
  allocU8(n: number, what?: string): Uint8Array;
  /** 16-bit words (bf16 weights). */
  allocU16(n: number, what?: string): Uint16Array;
  /** Frees one allocation (pass the view alloc* returned). */
  free(view: ArrayBufferView): void;
  /** Stack-style freeing: everything allocated after mark() is released by release(mark). */
  mark(): number;
  release(mark: number): void;
  /** Bytes of engine memory in use (wasm) or 0 (reference, garbage-collected). */
  bytesInUse(): number;
  /** The most engine memory there can be (wasm32: 4 GiB); Infinity for the reference backend. */
  readonly memoryLimitBytes: number;
  /**
   * Benchmarks only (wasm backend): runs `iterations` rounds of 12 independent 128-bit
   * multiply-adds (96 FLOPs per round) on every thread at once; iterations = 0 times one empty
   * parallel dispatch.
   */
  readonly fmaPeak?: (iterations: number) => void;
  /**
   * Benchmarks only (wasm backend): every thread reads its share of `view` (engine memory, a
   * multiple of 64 bytes) once, front to back: with a buffer far larger than the caches, bytes ÷
   * time is the memory read bandwidth the kernels can reach.
   */
  readonly streamRead?: (view: ArrayBufferView) => void;
  /**
   * The thread pool's record (wasm backend with a pool): jobs the calling thread ran alone because
   * the workers were not keeping up (another program had their cores), and jobs that found a worker late.
   */
  readonly threadStats?: () => { readonly soloJobs: number; readonly lateJobs: number };
  /**
   * Benchmarks only (wasm backend): calls `observer` after every job the kernels run on the pool
   * (or inline; not the native BLAS's products) with the kernel module's export, its arguments and
   * the job's milliseconds on the calling thread; null stops. Costs far less than wrapping every
   * kernel call.
   */
  readonly observeJobs?: (observer: ((job: string, args: readonly number[], ms: number) => void) | null) => void;
  /** Recording runs of kernel jobs to replay them (wasm backend): see JobRecording. */
  readonly jobRecording?: JobRecording;
  dispose(): Promise<void>;
}

/** Runs fn now and again at every replay of the recording it belongs to (JobRecording.record). */
export type LiveSection = (fn: () => void) => void;

/** A recorded run of kernel jobs (JobRecording.record). */
export interface RecordedJobs {
  /** Jobs replayed as recorded, and live sections run again. */
  readonly jobs: number;
  readonly liveSections: number;
  /**
   * Runs the recorded jobs again with the same arguments, and the live sections in their places,
   * without the JavaScript that issued the jobs. Valid while every buffer the jobs read or write
   * stays allocated; memory contents may change (that is how a replay gets new inputs).
   */
  replay(): void;
}

/**
 * Record and replay (wasm backend; docs/engine.md "Replayed decode steps"): for work that issues
 * the same kernel jobs with the same arguments again and again (a cached decode step).
 */
export interface JobRecording {
  /** The kernels whose jobs it records: an engine wrapping other kernels around them must not replay (its wrappers would be skipped). */
  readonly kernels: KernelSet;
  /**
   * Runs body once, as usual, recording the pool jobs the kernels dispatch — except inside
   * live(fn), whose fn runs now and again in its place at every replay (work whose arguments
   * change from run to run, and JavaScript that reads or writes engine memory between jobs).
   * Returns the recording, or why it cannot be replayed (body used the native BLAS, or a kernel
   * whose result JavaScript reads); body's work is done either way.
   */
  record(body: (live: LiveSection) => void): RecordedJobs | { readonly refused: string };
}

/** A reference-backend engine: plain typed arrays, garbage-collected. */
export function referenceEngine(kernels: KernelSet, notes: readonly string[] = []): Engine {
  const check = (n: number, what: string): number => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: ${what} size must be a non-negative integer, got ${n}`);
    return n;
  };
  return {
    kernels,
    info: { backend: 'reference', simd: 'none', threads: 1, notes, blas: null, blasAttentionTiles: false },
    allocF32: (n, what = 'f32 buffer') => new Float32Array(check(n, what)),
    allocI32: (n, what = 'i32 buffer') => new Int32Array(check(n, what)),
    allocU8: (n, what = 'u8 buffer') => new Uint8Array(check(n, what)),
    allocU16: (n, what = 'u16 buffer') => new Uint16Array(check(n, what)),
    free: () => undefined,
    mark: () => 0,
    release: () => undefined,
    bytesInUse: () => 0,
    memoryLimitBytes: Infinity,
    dispose: async () => undefined,
  };
}
