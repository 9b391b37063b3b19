// A wasm engine from its parts, on any platform: the kernel module's shared memory, a thread runner
// over it (Node: platform/node/pool.ts; a browser pool implements the same ThreadRunner), and an
// optional native gemm. Platform code finds the parts (module bytes, threads, BLAS); this file
// assembles them into the Engine the models use.
import type { Engine, EngineInfo } from '../../engine.js';
import type { NativeMatmul } from '../native-gemm.js';
import { createWasmKernels } from './backend.js';
import { SCRATCH_BYTES, type ThreadRunner } from './exports.js';
import { EngineMemory, MAX_MEMORY_BYTES } from './memory.js';
import type { SplitBalancer } from './split-balancer.js';

/** Bytes reserved at the bottom of memory for the kernel module's static data. */
export const MODULE_DATA_BYTES = 65536;

/** A thread runner the engine owns: it can also time an FMA peak and must be closed. */
export interface OwnedRunner extends ThreadRunner {
  close(): Promise<void>;
  /** Jobs run alone by the calling thread, and jobs that found a worker late (a pool that adapts to contention). */
  stats?(): { readonly soloJobs: number; readonly lateJobs: number };
}

/** The shared memory every thread's kernel instance imports (64 KiB pages; grows to 4 GiB). */
export const createSharedMemory = (): WebAssembly.Memory => new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });

export interface WasmEngineParts {
  readonly wasmMemory: WebAssembly.Memory;
  readonly runner: OwnedRunner;
  readonly simd: 'relaxed-simd' | 'simd128';
  readonly notes: readonly string[];
  /** Work (≈ element operations) below which kernels run inline on the calling thread. */
  readonly minParallelWork: number;
  /** The native matmul and its display name ("OpenBLAS 0.3.21, …, 2 threads"), or null. */
  readonly native: { readonly matmul: NativeMatmul; readonly description: string } | null;
  /** How two threads split a bf16 product (backend.ts; default: following the threads' speeds). */
  readonly balancer?: SplitBalancer;
}

/** The memory areas the kernels expect, allocated before anything else in a fresh EngineMemory. */
export function engineMemory(wasmMemory: WebAssembly.Memory, threads: number): { memory: EngineMemory; scratch: number; params: Float64Array } {
  const memory = new EngineMemory(wasmMemory, MODULE_DATA_BYTES);
  const scratch = memory.allocBytes(threads * SCRATCH_BYTES, 'thread scratch');
  return { memory, scratch, params: memory.f64(1024, 'kernel parameters') };
}

export function wasmEngine(parts: WasmEngineParts): Engine {
  const { runner, native } = parts, threads = runner.threads;
  const { memory, scratch, params } = engineMemory(parts.wasmMemory, threads);
  // The kernels run their jobs through this, so that a benchmark can time every job (observeJobs).
  let observer: ((job: string, args: readonly number[], ms: number) => void) | null = null;
  const observed: ThreadRunner = {
    threads,
    run(fn, args, nth) {
      if (!observer) { runner.run(fn, args, nth); return; }
      const started = performance.now();
      runner.run(fn, args, nth); // a job that throws is not observed
      observer(fn, args, performance.now() - started);
    },
    get lastWaitMs() { return runner.lastWaitMs ?? null; },
  };
  const { kernels, recorder } = createWasmKernels({ memory, runner: observed, scratch, params, minParallelWork: parts.minParallelWork, native: native?.matmul ?? null, balancer: parts.balancer });
  const base = memory.mark();
  const info: EngineInfo = {
    backend: 'wasm', simd: parts.simd, threads, notes: parts.notes, blas: native?.description ?? null,
    blasAttentionTiles: native?.matmul.attentionTiles != null,
  };
  return {
    kernels,
    info,
    allocF32: (n, what) => memory.f32(n, what),
    allocI32: (n, what) => memory.i32(n, what),
    allocU8: (n, what) => memory.u8(n, what),
    allocU16: (n, what) => memory.u16(n, what),
    free: (v) => memory.free(v),
    mark: () => memory.mark(),
    release: (m) => memory.release(Math.max(m, base)),
    bytesInUse: () => memory.bytesInUse,
    memoryLimitBytes: MAX_MEMORY_BYTES,
    fmaPeak: (iterations) => runner.run('fmaPeak', [iterations], threads),
    streamRead: (view) => {
      if (view.byteLength % 64 !== 0 || view.byteLength >= 2 ** 31) throw new RangeError(`streamRead: the buffer's size must be a multiple of 64 bytes under 2 GiB, got ${view.byteLength}`);
      runner.run('streamRead', [memory.pointer(view, 'streamRead', 'buffer'), view.byteLength, memory.pointer(params, 'streamRead', 'out')], threads);
    },
    ...(runner.stats ? { threadStats: () => runner.stats!() } : {}),
    observeJobs: (o) => { observer = o; },
    jobRecording: recorder,
    dispose: () => runner.close(),
  };
}
