// The worker pool in Node: the platform-neutral SharedPool (kernels/wasm/shared-pool.ts) with its
// workers started and watched by a supervisor thread (pool-supervisor.ts), so that a worker that
// stops — even in the middle of its share — breaks the pool with a clear error.
import { Worker } from 'node:worker_threads';
import type { KernelExport, KernelFunction } from '../../kernels/wasm/exports.js';
import type { SupervisorInit, SupervisorMessage } from '../../kernels/wasm/pool-protocol.js';
import { poolBuffers, SharedPool } from '../../kernels/wasm/shared-pool.js';

export class WorkerPool extends SharedPool {
  private constructor(
    threads: number,
    /** Starts and watches the workers (pool-supervisor.ts); null with one thread. */
    private readonly supervisor: Worker | null,
    local: Record<KernelExport, KernelFunction>,
    buffers: ReturnType<typeof poolBuffers>,
  ) {
    super(threads, local, buffers);
  }

  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory,
    local: Record<KernelExport, KernelFunction>, tilePath: string | null): Promise<WorkerPool> {
    const buffers = poolBuffers(threads);
    let supervisor: Worker | null = null;
    if (threads > 1) {
      const init: SupervisorInit = { module, memory, ...buffers, tilePath, threads };
      const s = supervisor = new Worker(new URL('./pool-supervisor.js', import.meta.url), { workerData: init });
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('message', (m: SupervisorMessage) => (m.type === 'ready' ? resolve() : reject(new Error(m.type === 'failed' ? m.message : 'kernel workers: unexpected message'))));
          s.once('error', reject);
          s.once('exit', (code) => reject(new Error(`the kernel workers' supervisor exited during start-up (code ${code})`)));
        });
      } catch (e) {
        await s.terminate();
        throw e;
      }
      s.removeAllListeners();
      s.unref();
    }
    const pool = new WorkerPool(threads, supervisor, local, buffers);
    // A worker that stops while the engine is open breaks the pool. In the middle of a job the
    // supervisor wakes the calling thread (the worker's STOPPED slot: the job throws); between jobs
    // its message, or the DEAD slot, makes the next job say so instead of running on without it.
    supervisor?.on('message', (m: SupervisorMessage) => { if (m.type === 'died') pool.broken ??= m.message; });
    supervisor?.on('error', (e) => { pool.broken ??= `the kernel workers' supervisor failed: ${e instanceof Error ? e.message : String(e)}`; });
    supervisor?.on('exit', (code) => { if (!pool.closed) pool.broken ??= `the kernel workers' supervisor stopped (exit code ${code})`; });
    return pool;
  }

  /** Fault injection for tests: the supervisor terminates worker `tid` after `afterMs` (while a job may be running). */
  terminateWorkerLater(tid: number, afterMs: number): void {
    this.supervisor?.postMessage({ type: 'terminate-worker', tid, afterMs });
  }

  protected override async stopWorkers(): Promise<void> {
    await this.supervisor?.terminate();
  }
}
