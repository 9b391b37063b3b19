// A persistent thread pool over one shared WebAssembly.Memory, on any platform: the calling
// thread is thread 0 and does its share of every job; workers 1…n−1 (Node: worker_threads, started
// by platform/node/pool.ts; a browser: module Workers, platform/browser/pool.ts) run the worker
// loop (pool-worker-loop.ts) and are woken through Atomics on a shared control block (no
// postMessage on the hot path). Platforms add how the workers start, stop and are watched.
import { KERNEL_EXPORTS, PARTITION_INVARIANT, type KernelExport, type KernelFunction, type ThreadRunner } from './exports.js';
import {
  ASLEEP_OFFSET, claim, CLAIM_OFFSET, controlInts, DEAD, DONE_BASE, DONE_STRIDE, ERROR, ERROR_BYTES, errorRegion, FN, MAX_ARGS, NARGS, NTH, PARK, QUIT, SEQ,
  SPIN_ITERATIONS, STOPPED_OFFSET,
} from './pool-protocol.js';
import { POOL_POLICY, SoloPolicy, type PolicySettings } from './pool-policy.js';

/** A probe's workers may finish this much after the calling thread (a sleeping worker's wake-up) and still count as keeping up. */
const PROBE_SLACK_MS = 0.2;
/** How long a share may stay unclaimed after the calling thread's own share before the calling thread runs it. */
const CLAIM_GRACE_MS = 0.01;

/** The shared buffers of a pool: its control block, job arguments, the workers' error regions and the text of a worker's death. */
export interface PoolBuffers {
  readonly control: SharedArrayBuffer;
  readonly args: SharedArrayBuffer;
  readonly errorText: SharedArrayBuffer;
  readonly deathText: SharedArrayBuffer;
}

/**
 * The buffers of a pool of `threads`: shared when there are workers; plain for one thread, which
 * needs no sharing (a page that is not cross-origin isolated has no SharedArrayBuffer).
 */
export function poolBuffers(threads: number): PoolBuffers {
  const make = (bytes: number): SharedArrayBuffer => (threads > 1 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes) as unknown as SharedArrayBuffer);
  return { control: make(controlInts(threads) * 4), args: make(MAX_ARGS * 8), errorText: make(threads * ERROR_BYTES), deathText: make(ERROR_BYTES) };
}

export abstract class SharedPool implements ThreadRunner {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly errorText: Uint8Array;
  private readonly deathText: Uint8Array;
  private seq = 0;
  protected closed = false;
  /** Why the pool can no longer run jobs (a worker stopped), or null. */
  protected broken: string | null = null;
  /** When jobs are shared and when the calling thread runs them alone (pool-policy.ts). */
  readonly policy: SoloPolicy;
  private parked = false;
  /** See ThreadRunner.lastWaitMs. */
  lastWaitMs: number | null = null;

  protected constructor(
    readonly threads: number,
    private readonly local: Record<KernelExport, KernelFunction>,
    buffers: PoolBuffers,
    policy: PolicySettings = POOL_POLICY,
  ) {
    this.policy = new SoloPolicy(() => performance.now(), policy);
    this.deathText = new Uint8Array(buffers.deathText);
    this.ctrl = new Int32Array(buffers.control);
    this.args = new Float64Array(buffers.args);
    this.errorText = new Uint8Array(buffers.errorText);
  }

  /** Stops the workers' threads (after QUIT is posted). */
  protected abstract stopWorkers(): Promise<void>;

  /** Why a worker stopped, when the supervisor marked one; null otherwise. */
  private deadWorker(): string | null {
    const tid = Atomics.load(this.ctrl, DEAD) - 1;
    if (tid < 0) return null;
    return new TextDecoder().decode(this.deathText.slice()).replace(/\0+$/, '') || `kernel worker ${tid} stopped`;
  }

  run(fn: KernelExport, args: readonly number[], threads: number): void {
    if (this.closed) throw new Error('the engine has been disposed');
    this.broken ??= this.deadWorker();
    if (this.broken) throw new Error(`the engine cannot run kernels: ${this.broken}; dispose it and create a new one`);
    const nth = Math.min(threads, this.threads);
    if (args.length > MAX_ARGS) throw new RangeError(`pool: ${fn} has ${args.length} arguments, more than ${MAX_ARGS}`);
    this.lastWaitMs = null;
    if (nth <= 1) { this.local[fn](...args, 0, 1); return; }
    const mode = this.policy.next();
    if (mode === 'solo') {
      // Every share here: one call where the partition does not change the floats, else share by
      // share, in order, with the same partition (the results do not change).
      if (PARTITION_INVARIANT.has(fn)) { this.local[fn](...args, 0, 1); return; }
      for (let w = 0; w < nth; w++) this.local[fn](...args, w, nth);
      return;
    }
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    const seq = this.seq = (this.seq + 1) | 0;
    // Shares past nth are nobody's: marked claimed so that no worker runs them.
    for (let w = nth; w < this.threads; w++) Atomics.store(this.ctrl, DONE_BASE + DONE_STRIDE * w + CLAIM_OFFSET, seq);
    Atomics.store(this.ctrl, PARK, 0);
    Atomics.store(this.ctrl, ERROR, 0);
    Atomics.store(this.ctrl, FN, KERNEL_EXPORTS.indexOf(fn));
    Atomics.store(this.ctrl, NTH, nth);
    Atomics.store(this.ctrl, NARGS, args.length);
    Atomics.store(this.ctrl, SEQ, seq);
    Atomics.notify(this.ctrl, SEQ);
    let mainError: unknown;
    const probing = mode === 'probe', started = performance.now();
    try {
      this.local[fn](...args, 0, nth);
    } catch (e) {
      mainError = e;
    }
    // The workers get a grace period to claim their shares: a few microseconds (a worker finishing
    // the previous job may not have seen this one yet when a small share here is done); a probe's,
    // to claim and finish them: a sleeping worker's wake-up, or about the calling thread's own share time.
    const ended = performance.now(), deadline = ended + (probing ? Math.max(PROBE_SLACK_MS, ended - started) : CLAIM_GRACE_MS);
    let late = false, dead = false;
    // Each worker's share: run here when it has not been claimed yet (that worker is not running),
    // else wait for it — even after a local failure: a worker may still be writing our buffers.
    for (let w = 1; w < nth; w++) {
      const slot = DONE_BASE + DONE_STRIDE * w + CLAIM_OFFSET;
      while (Atomics.load(this.ctrl, slot) !== seq && performance.now() < deadline) { /* the worker may be on its way */ }
      if (claim(this.ctrl, slot, seq)) {
        if (mainError !== undefined) continue; // not started and no longer needed
        // Late by contention only when the worker is awake (spinning, or descheduled while it was):
        // one asleep or waking from Atomics.wait is late by design (it sleeps when idle or parked).
        if (probing || Atomics.load(this.ctrl, DONE_BASE + DONE_STRIDE * w + ASLEEP_OFFSET) === 0) late = true;
        try {
          this.local[fn](...args, w, nth);
        } catch (e) {
          mainError = e;
        }
      } else if (!this.waitDone(DONE_BASE + DONE_STRIDE * w, seq, w)) {
        dead = true; // its share never finishes; the other workers' are still waited for (they may be writing our buffers)
      }
    }
    if (dead) {
      this.finish(fn, undefined, true);
      throw new Error(`kernel ${fn} cannot finish: ${this.broken} during it; the engine cannot run kernels any more — dispose it and create a new one`);
    }
    this.lastWaitMs = performance.now() - ended;
    if (probing && performance.now() > deadline) late = true;
    // The first job after park() finds the workers asleep by request (the BLAS had the cores): not contention.
    const excused = this.parked;
    this.parked = false;
    if (this.policy.done(late && !excused)) Atomics.store(this.ctrl, PARK, 1); // idle workers sleep instead of spinning on a core the working thread needs
    this.finish(fn, mainError);
  }

  /**
   * After a job: the calling thread's error, else the workers'. Workers' messages are read and
   * cleared either way (none is left for a later job); `clearOnly` (a worker died) throws nothing.
   */
  private finish(fn: KernelExport, mainError: unknown, clearOnly = false): void {
    const texts: string[] = [];
    if (Atomics.load(this.ctrl, ERROR) !== 0) {
      // Every failing worker's own message (each wrote its own region), then the regions cleared.
      for (let w = 1; w < this.threads; w++) {
        const region = this.errorText.subarray(errorRegion(w), errorRegion(w) + ERROR_BYTES);
        if (region[0] === 0) continue;
        texts.push(new TextDecoder().decode(region.slice()).replace(/\0+$/, ''));
        region.fill(0);
      }
      Atomics.store(this.ctrl, ERROR, 0);
    }
    if (clearOnly) return;
    if (mainError !== undefined) throw mainError;
    if (texts.length > 0) throw new Error(`kernel ${fn} failed in ${texts.length === 1 ? 'a worker thread' : `${texts.length} worker threads`}: ${texts.join('; ')}`);
  }

  /** Whether the pool is inside a solo period: its workers have been late (another program has the cores). */
  contended(): boolean {
    return this.policy.holding();
  }

  stats(): { readonly soloJobs: number; readonly lateJobs: number } {
    return { soloJobs: this.policy.soloJobs, lateJobs: this.policy.lateJobs };
  }

  /**
   * Idle workers stop spinning and sleep until the next job, so a native library's threads (BLAS)
   * get the cores; the next job then pays one wake-up per worker.
   */
  park(): void {
    if (this.threads > 1) Atomics.store(this.ctrl, PARK, 1);
    this.parked = true;
  }

  /**
   * Waits for worker w's claimed share: true when it is done, false when the supervisor has marked
   * w stopped (its share will never finish; the pool is then broken).
   */
  private waitDone(slot: number, seq: number, w: number): boolean {
    let spins = 0;
    for (;;) {
      const v = Atomics.load(this.ctrl, slot);
      if (v === seq) return true;
      if ((spins & 1023) === 0 && Atomics.load(this.ctrl, DONE_BASE + DONE_STRIDE * w + STOPPED_OFFSET) !== 0) {
        this.broken ??= this.deadWorker() ?? `kernel worker ${w} stopped`;
        return false;
      }
      if (++spins > SPIN_ITERATIONS) { Atomics.wait(this.ctrl, slot, v, 1000); spins = 0; }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, FN, QUIT);
    Atomics.store(this.ctrl, SEQ, (this.seq + 1) | 0);
    Atomics.notify(this.ctrl, SEQ);
    await this.stopWorkers();
  }
}
