import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import { createSharedMemory, kernelFunctions, SplitBalancer, wasmEngine, type KernelExport, type OwnedRunner } from '../../src/index.js';
import type { KernelFunction } from '../../src/kernels/wasm/exports.js';
import type { PolicySettings } from '../../src/kernels/wasm/pool-policy.js';
import { poolBuffers, SharedPool } from '../../src/kernels/wasm/shared-pool.js';
import { noTileGemm } from '../../src/kernels/wasm/tile-gemm.js';
import { createEngine, type Engine } from '../../src/node.js';
import { Rng } from '../../src/tensor/rng.js';

/**
 * Wasm engines with 1 and 2 threads (relaxed SIMD where the runtime has it), and 2 threads of the
 * SIMD128 build (no FMA: what runtimes without relaxed SIMD run), created once per test file.
 * minParallelWork 0 forces even the small test shapes through the multi-thread split, so every
 * work partition is exercised.
 */
export async function wasmEngines(): Promise<Engine[]> {
  // BLAS off: these engines test the wasm kernels themselves (blasEngines covers the native path).
  const engines = [await createEngine({ backend: 'wasm', threads: 1, blas: 'off' }),
    await createEngine({ backend: 'wasm', threads: 2, minParallelWork: 0, blas: 'off' }),
    await createEngine({ backend: 'wasm', threads: 2, minParallelWork: 0, blas: 'off', simd: 'simd128' })];
  after(async () => { for (const e of engines) await e.dispose(); });
  return engines;
}

/**
 * Wasm engines whose matmuls go to the system BLAS (blasMinWork 1: even small test shapes) and
 * whose fused attention computes its tile products there from every thread, 1 and 2 threads; empty when no BLAS loads here — except in CI (CI set), where .ci/run installs
 * OpenBLAS and a missing library is a failure.
 */
export async function blasEngines(): Promise<Engine[]> {
  const engines = [await createEngine({ backend: 'wasm', threads: 1, blas: 'auto', blasMinWork: 1 }),
    await createEngine({ backend: 'wasm', threads: 2, blas: 'auto', blasMinWork: 1, minParallelWork: 0 })];
  after(async () => { for (const e of engines) await e.dispose(); });
  if (engines.every((e) => e.info.blas !== null)) {
    if (process.env.CI && !engines.every((e) => e.info.blasAttentionTiles)) throw new Error(`CI: the BLAS loaded without attention tiles (${engines[0]!.info.blas})`);
    return engines;
  }
  if (process.env.CI) throw new Error(`CI: no BLAS loaded (${engines[0]!.info.notes.join('; ')}); .ci/run installs libopenblas0-pthread`);
  return [];
}

export function label(e: Engine): string { return `wasm ${e.info.simd} ${e.info.threads}T${e.info.blas ? ' + BLAS' : ''}`; }

/** A random f32 buffer in engine memory and a Float64 copy of it for the reference. */
export function randomPair(e: Engine, rng: Rng, n: number, scale = 1): { w: Float32Array; r: Float32Array } {
  const w = e.allocF32(n);
  rng.fillUniform(w, scale);
  return { w, r: Float32Array.from(w) };
}

/**
 * A wasm engine whose "two threads" run their shares one after the other on the calling thread,
 * splitting bf16 products as `balancer` says: each matmulBf16's split (its last argument) is
 * pushed to `splits`, and every job reports `waitedMs` as the calling thread's wait (null: none).
 */
export function sequentialEngine(balancer: SplitBalancer, splits: number[] = [], waitedMs: number | null = null): Engine {
  const { wasmMemory, local } = simd128Kernels();
  const runner: OwnedRunner = {
    threads: 2,
    lastWaitMs: waitedMs,
    run(fn: KernelExport, args: readonly number[], nth: number) {
      if (fn === 'matmulBf16') splits.push(args[args.length - 1]!);
      for (let w = 0; w < nth; w++) local[fn](...args, w, nth);
    },
    async close() { /* nothing to stop */ },
  };
  return wasmEngine({ wasmMemory, runner, simd: 'simd128', notes: [], minParallelWork: 0, native: null, balancer });
}

/** The SIMD128 kernel module instantiated on the calling thread over a fresh shared memory. */
function simd128Kernels(): { wasmMemory: WebAssembly.Memory; local: Record<KernelExport, KernelFunction> } {
  const wasmMemory = createSharedMemory();
  const bytes = readFileSync(new URL('../../../build/kernels-simd.wasm', import.meta.url));
  return { wasmMemory, local: kernelFunctions(new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: wasmMemory, tileGemm: noTileGemm } })) };
}

/** A 2-thread SharedPool with no workers (solo runs never reach them), over `local`'s kernels. */
export class WorkerlessPool extends SharedPool {
  constructor(local: Record<KernelExport, KernelFunction>, settings: PolicySettings) {
    super(2, local, poolBuffers(2), settings);
  }
  protected async stopWorkers(): Promise<void> { /* none started */ }
}

/**
 * A wasm engine whose 2-thread pool has no workers and is held solo (as under contention, for good):
 * the calling thread runs every job, as one share or share by share (shared-pool.ts).
 */
export function soloEngine(): Engine {
  const { wasmMemory, local } = simd128Kernels();
  const pool = new WorkerlessPool(local, { lateJobs: 1, probeJobs: 1, minSoloMs: Infinity, maxSoloMs: Infinity });
  pool.policy.done(true);
  return wasmEngine({ wasmMemory, runner: pool, simd: 'simd128', notes: [], minParallelWork: 0, native: null, balancer: new SplitBalancer(false) });
}

/** A copy of x in the engine's memory. */
export function inEngine(e: Engine, x: Float32Array): Float32Array {
  const y = e.allocF32(x.length);
  y.set(x);
  return y;
}

/** A 1-thread wasm engine on the SIMD128 build (the sequential engines' build: the same floats), BLAS off. */
export function oneThreadSimd128Engine(): Promise<Engine> {
  return createEngine({ backend: 'wasm', threads: 1, simd: 'simd128', blas: 'off' });
}

export { Rng };
