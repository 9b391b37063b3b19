// Layout of the control block shared by the main thread and the pool's workers (Int32 slots).
// One job at a time: the main thread writes the export id, thread count and arguments, bumps SEQ
// and notifies; each worker runs its share and stores SEQ into its own DONE slot (one cache line
// apart, so workers never share a line).
export const SEQ = 0;
export const FN = 1;
export const NTH = 2;
export const NARGS = 3;
export const ERROR = 4;
export const DONE_BASE = 16;
export const DONE_STRIDE = 16;
export const MAX_ARGS = 32;
export const ERROR_BYTES = 1024;
export const QUIT = -1;

export function controlInts(maxThreads: number): number { return DONE_BASE + DONE_STRIDE * maxThreads; }

/** Spin iterations before a waiting thread sleeps in Atomics.wait (trades a little CPU for latency). */
export const SPIN_ITERATIONS = 20000;

export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
  readonly args: SharedArrayBuffer;
  readonly errorText: SharedArrayBuffer;
  readonly tid: number;
}
