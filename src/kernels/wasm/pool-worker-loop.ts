// A pool worker's life, on any platform (Node's worker_threads, a browser's module Worker):
// instantiate the kernel module on the shared memory, say it is ready, then loop forever running
// its share of each job. Never returns to the event loop, so it reacts to a job within
// microseconds; it ends on QUIT (or when its thread is terminated).
import { kernelFunctions, KERNEL_EXPORTS } from './exports.js';
import type { TileGemm } from './tile-gemm.js';
import {
  ASLEEP_OFFSET, claim, CLAIM_OFFSET, DONE_BASE, DONE_STRIDE, ERROR, ERROR_BYTES, errorRegion, FN, NARGS, NTH, PARK, QUIT, SEQ, SPIN_ITERATIONS, type WorkerInit,
} from './pool-protocol.js';

export function runPoolWorker(init: WorkerInit, tileGemm: TileGemm, ready: () => void): void {
  const fns = kernelFunctions(new WebAssembly.Instance(init.module, { env: { memory: init.memory, tileGemm } }));
  const ctrl = new Int32Array(init.control);
  const args = new Float64Array(init.args);
  const errorText = new Uint8Array(init.errorText);
  const doneSlot = DONE_BASE + DONE_STRIDE * init.tid, claimSlot = doneSlot + CLAIM_OFFSET, asleepSlot = doneSlot + ASLEEP_OFFSET;
  // One argument array per length, reused job after job: a job allocates nothing here, so this
  // thread's garbage collector does not pause it (a pause made it late, and the pool solo).
  const calls: number[][] = [];
  let seen = Atomics.load(ctrl, SEQ);
  ready();
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, SEQ) === seen) {
      // Parked (a native BLAS call is using the cores): sleep now instead of spinning. (Polling in
      // short timed sleeps instead halved the BLAS's speed: the wake-ups steal its cores.)
      if (++spins > SPIN_ITERATIONS || ((spins & 255) === 0 && Atomics.load(ctrl, PARK) !== 0)) {
        Atomics.store(ctrl, asleepSlot, 1);
        Atomics.wait(ctrl, SEQ, seen);
        spins = 0;
      }
    }
    Atomics.store(ctrl, asleepSlot, 0);
    seen = Atomics.load(ctrl, SEQ);
    const fn = Atomics.load(ctrl, FN);
    if (fn === QUIT) break;
    // Claimed first: then the job cannot finish (nor its arguments change) before this share is done.
    if (claim(ctrl, claimSlot, seen)) {
      const nth = Atomics.load(ctrl, NTH);
      const n = Atomics.load(ctrl, NARGS), fnNow = Atomics.load(ctrl, FN);
      const call = (calls[n] ??= new Array<number>(n + 2).fill(0));
      for (let i = 0; i < n; i++) call[i] = args[i]!;
      call[n] = init.tid;
      call[n + 1] = nth;
      try {
        fns[KERNEL_EXPORTS[fnNow]!](...call);
      } catch (e) {
        const bytes = new TextEncoder().encode(`worker ${init.tid}: ${e instanceof Error ? e.message : String(e)}`).subarray(0, ERROR_BYTES);
        const region = errorText.subarray(errorRegion(init.tid), errorRegion(init.tid) + ERROR_BYTES);
        region.fill(0);
        region.set(bytes);
        Atomics.store(ctrl, ERROR, init.tid + 1);
      }
    }
    Atomics.store(ctrl, doneSlot, seen);
    Atomics.notify(ctrl, doneSlot);
  }
}
