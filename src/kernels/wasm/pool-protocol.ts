// Layout of the control block shared by the main thread and the pool's workers (Int32 slots).
// One job at a time: the main thread writes the export id, thread count and arguments, bumps SEQ
// and notifies; each worker claims its share (CLAIM, compare-and-swap), runs it and stores SEQ
// into its own DONE slot (one cache line apart, so workers never share a line). A share nobody has
// claimed when the main thread reaches the barrier is claimed and run by the main thread: a worker
// that is not scheduled (another program has the core) no longer stalls the job.

/** Whether sequence number a is at or after b (SEQ wraps around as an int32). */
const atOrAfter = (a: number, b: number): boolean => ((a - b) | 0) >= 0;

/**
 * Claims the share whose CLAIM slot is `slot` for job `seq`: true for the one caller that moves it
 * to `seq`; false when it is already claimed for this job (or a later one, for a worker that read a
 * job the main thread has since finished). The slot only moves forward.
 */
export function claim(ctrl: Int32Array, slot: number, seq: number): boolean {
  for (;;) {
    const c = Atomics.load(ctrl, slot);
    if (atOrAfter(c, seq)) return false;
    if (Atomics.compareExchange(ctrl, slot, c, seq) === c) return true;
  }
}
export const SEQ = 0;
export const FN = 1;
export const NTH = 2;
export const NARGS = 3;
export const ERROR = 4;
/** Non-zero: idle workers stop spinning and sleep at once (another compute library is about to use the cores). */
export const PARK = 5;
/** Non-zero (tid + 1): that worker stopped after start-up (set by the supervisor, which writes why into the death text). */
export const DEAD = 6;
export const DONE_BASE = 16;
export const DONE_STRIDE = 16;
/** Within a thread's line: the SEQ of the last job whose share of that thread was claimed (by it, or by the main thread). */
export const CLAIM_OFFSET = 1;
/** Within a thread's line: 1 while that worker sleeps (or is waking) in Atomics.wait — its lateness then is not contention. */
export const ASLEEP_OFFSET = 2;
/** Within a thread's line: 1 once that worker has stopped (set by the supervisor; its claimed share will never finish). */
export const STOPPED_OFFSET = 3;
export const MAX_ARGS = 32;
export const ERROR_BYTES = 1024;
/** Each thread writes its error message in its own ERROR_BYTES region (tid·ERROR_BYTES): several failing at once stay apart. */
export const errorRegion = (tid: number): number => tid * ERROR_BYTES;
export const QUIT = -1;

export function controlInts(maxThreads: number): number { return DONE_BASE + DONE_STRIDE * maxThreads; }

/**
 * Spin iterations (about 7 ns each here, so roughly 10–15 ms) before a waiting thread sleeps in
 * Atomics.wait. Waking a sleeping worker costs tens of microseconds, which decoding (39 small
 * matmuls a token, JavaScript between them) paid on most calls when this was 20,000: raising it took
 * cached generation from 89 to 108 tokens/s. Like OpenMP's 200 ms block time, an idle engine burns
 * a core for this long after its last job, then sleeps.
 */
export const SPIN_ITERATIONS = 2_000_000;

export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
  readonly args: SharedArrayBuffer;
  readonly errorText: SharedArrayBuffer;
  readonly tid: number;
  /** The native BLAS whose cblas_sgemm the kernels may call per thread (the `env.tileGemm` import), or null. */
  readonly tilePath: string | null;
}

/**
 * What the supervisor (pool-supervisor.ts) is started with: the workers' init without a tid, how
 * many threads the pool has, and where it writes why a worker stopped (ERROR_BYTES; apart from the
 * kernel error regions, which every job clears).
 */
export type SupervisorInit = Omit<WorkerInit, 'tid'> & { readonly threads: number; readonly deathText: SharedArrayBuffer };

/** The supervisor's messages: every worker ready, start-up failed, or a worker stopped later. */
export type SupervisorMessage = { readonly type: 'ready' } | { readonly type: 'failed' | 'died'; readonly message: string };
