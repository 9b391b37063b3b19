// The worker pool in a browser: the platform-neutral SharedPool with its workers as module Workers
// started from the engine's own thread (a dedicated Worker: the calling thread waits in
// Atomics.wait, which a page's main thread may not). A worker that fails between jobs breaks the
// pool with a clear error on the next job; unlike Node's pool there is no supervisor yet, so a
// worker killed in the middle of its share is not noticed (browsers do not stop workers on their own).
import type { KernelExport, KernelFunction } from '../../kernels/wasm/exports.js';
import type { WorkerInit } from '../../kernels/wasm/pool-protocol.js';
import { POOL_POLICY, type PolicySettings } from '../../kernels/wasm/pool-policy.js';
import { poolBuffers, SharedPool, type PoolBuffers } from '../../kernels/wasm/shared-pool.js';

/** The part of a browser's Worker the pool uses. */
interface BrowserWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (e: { readonly data?: unknown; readonly message?: string }) => void): void;
}
type WorkerConstructor = new (url: string | URL, options: { type: 'module'; name?: string }) => BrowserWorker;

/**
 * Jobs are always shared in a browser: Chromium's workers start some shares late even on an idle
 * machine (147 of a bench run's jobs), and Node's policy — three late jobs in a row and the calling
 * thread runs alone for a while — then kept the engine on one thread most of the time. Measured
 * with `npm run bench -- browser` (2 threads, 2-vCPU AMD EPYC, 2026-12-04), Chromium ÷ Node:
 * Node's policy: matmul 0.57, training step 0.64, cached decoding 0.90; 12 late jobs in a row: 0.62,
 * 0.96, 0.99; never alone: 0.78, 1.04, 1.08. (How a browser engine should step aside for other
 * busy tabs is not measured yet.)
 */
const BROWSER_POLICY: PolicySettings = Object.freeze({ ...POOL_POLICY, lateJobs: Number.POSITIVE_INFINITY });

export class BrowserPool extends SharedPool {
  private constructor(threads: number, private readonly workers: BrowserWorker[], local: Record<KernelExport, KernelFunction>, buffers: PoolBuffers) {
    super(threads, local, buffers, BROWSER_POLICY);
  }

  /** Starts threads − 1 module Workers from `workerUrl` (platform/browser/pool-worker.js) on the shared memory. */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, local: Record<KernelExport, KernelFunction>,
    workerUrl: string | URL): Promise<BrowserPool> {
    const buffers = poolBuffers(threads), workers: BrowserWorker[] = [];
    const Ctor = (globalThis as unknown as { Worker?: WorkerConstructor }).Worker;
    if (threads > 1 && Ctor === undefined) throw new Error('this context cannot start Workers (no Worker constructor); create the engine with threads: 1');
    try {
      await Promise.all(Array.from({ length: threads - 1 }, (_, i) => {
        const tid = i + 1, w = new Ctor!(workerUrl, { type: 'module', name: `kernel worker ${tid}` });
        workers.push(w);
        return new Promise<void>((resolve, reject) => {
          w.addEventListener('message', (e) => { if (e.data === 'ready') resolve(); });
          w.addEventListener('error', (e) => reject(new Error(`kernel worker ${tid} failed to start (${e.message ?? `could not load ${String(workerUrl)}`})`)));
          w.addEventListener('messageerror', () => reject(new Error(`kernel worker ${tid}: its start-up message could not be read`)));
          const init: WorkerInit = { module, memory, control: buffers.control, args: buffers.args, errorText: buffers.errorText, tid, tilePath: null };
          w.postMessage(init);
        });
      }));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    const pool = new BrowserPool(threads, workers, local, buffers);
    workers.forEach((w, i) => w.addEventListener('error', (e) => { pool.broken ??= `kernel worker ${i + 1} failed: ${e.message ?? 'an error outside a kernel'}`; }));
    return pool;
  }

  protected override async stopWorkers(): Promise<void> {
    for (const w of this.workers) w.terminate();
  }
}
