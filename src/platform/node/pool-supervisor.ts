// The pool's supervisor: a thread that starts the kernel workers and watches them. The calling
// thread waits for a worker's share synchronously (it cannot see a Worker's 'exit' event then), so
// this thread, whose event loop stays free, does: when a worker stops after start-up — an error
// outside a kernel, its isolate out of memory, terminated — it writes why into the death text,
// marks the worker in the control block (DEAD, and its own STOPPED slot) and wakes the calling
// thread, which throws instead of waiting forever (kernels/wasm/shared-pool.ts). Its workers end
// with it. (Not covered: the supervisor itself dying during a job; it runs no kernels, no user code.)
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { DEAD, DONE_BASE, DONE_STRIDE, ERROR_BYTES, FN, QUIT, SEQ, STOPPED_OFFSET, type SupervisorInit, type SupervisorMessage, type WorkerInit } from '../../kernels/wasm/pool-protocol.js';

const init = workerData as SupervisorInit;
const ctrl = new Int32Array(init.control), deathText = new Uint8Array(init.deathText);
const url = new URL('./pool-worker.js', import.meta.url);
const workers = new Map<number, Worker>();
const post = (m: SupervisorMessage): void => parentPort!.postMessage(m);

/** Records that worker `tid` stopped (unless the pool is closing) and wakes every thread that may wait for it. */
function died(tid: number, why: string): void {
  if (Atomics.load(ctrl, FN) === QUIT) return;
  // The first worker to stop names the failure; its text and DEAD are written before its STOPPED
  // slot, which the waiting thread reads first.
  if (Atomics.load(ctrl, DEAD) === 0) {
    deathText.set(new TextEncoder().encode(`kernel worker ${tid} ${why}`).subarray(0, ERROR_BYTES));
    Atomics.store(ctrl, DEAD, tid + 1);
  }
  Atomics.store(ctrl, DONE_BASE + DONE_STRIDE * tid + STOPPED_OFFSET, 1);
  for (let w = 0; w < init.threads; w++) Atomics.notify(ctrl, DONE_BASE + DONE_STRIDE * w);
  Atomics.notify(ctrl, SEQ);
  post({ type: 'died', message: `kernel worker ${tid} ${why}` });
}

async function start(): Promise<void> {
  const ready: Promise<void>[] = [];
  for (let tid = 1; tid < init.threads; tid++) {
    const { threads: _threads, deathText: _deathText, ...shared } = init;
    const w = new Worker(url, { workerData: { ...shared, tid } satisfies WorkerInit });
    workers.set(tid, w);
    ready.push(new Promise((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`kernel worker ${tid} exited during start-up (code ${code})`)));
    }));
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
    await Promise.all([...workers.values()].map((w) => w.terminate()));
    return;
  }
  for (const [tid, w] of workers) {
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    let failure = '';
    w.on('error', (e) => { failure = e instanceof Error ? e.message : String(e); });
    w.on('exit', (code) => died(tid, failure ? `failed: ${failure}` : `stopped (exit code ${code})`));
  }
  post({ type: 'ready' });
}

// Fault injection for the tests: terminate one worker after a delay (a worker killed in the middle of its share).
parentPort!.on('message', (m: { type: 'terminate-worker'; tid: number; afterMs: number }) => {
  if (m.type === 'terminate-worker') setTimeout(() => void workers.get(m.tid)?.terminate(), m.afterMs);
});
void start();
