// When the worker pool shares a job and when the calling thread runs it alone. A decode step is
// hundreds of small jobs, each ending at a barrier; when another program has a worker's core, that
// worker starts its share late and every barrier waits for the scheduler. So:
// - shared (the normal state): a share nobody has claimed when the calling thread reaches the
//   barrier is run by the calling thread; LATE_JOBS late jobs in a row → solo;
// - solo: the calling thread runs every share itself (same partition, same results) and the
//   workers sleep, for soloMs (8 ms at first); then
// - probe: PROBE_JOBS jobs are shared with a grace period for the workers; all on time → shared
//   (soloMs back to its least), one late → solo again for twice as long (up to MAX_SOLO_MS).
// On an idle machine the workers are always on time and nothing changes.

export type PoolMode = 'shared' | 'solo' | 'probe';

export interface PolicySettings {
  readonly lateJobs: number;
  readonly probeJobs: number;
  readonly minSoloMs: number;
  readonly maxSoloMs: number;
}

export const POOL_POLICY: PolicySettings = Object.freeze({ lateJobs: 3, probeJobs: 16, minSoloMs: 8, maxSoloMs: 640 });

export class SoloPolicy {
  private state: PoolMode = 'shared';
  private soloUntil = 0;
  private soloMs: number;
  private lateStreak = 0;
  private probeLeft = 0;
  /** Jobs run solo, and jobs that found a worker late (for reports and tests). */
  soloJobs = 0;
  lateJobs = 0;

  constructor(private readonly now: () => number, private readonly s: PolicySettings = POOL_POLICY) {
    this.soloMs = s.minSoloMs;
  }

  /** The current state (without advancing it). */
  get mode(): PoolMode { return this.state; }

  /**
   * Whether work outside the pool (the BLAS's own threads) should hold back now: only inside a solo
   * period. Once it has expired — even if no pool job has come since to start the probe — or while
   * probing, the cores are tried again; otherwise a run of BLAS products alone (no pool jobs to
   * advance the policy) would stay on one thread long after the other program stopped.
   */
  holding(): boolean { return this.state === 'solo' && this.now() < this.soloUntil; }

  /** The mode of the next job. */
  next(): PoolMode {
    if (this.state === 'solo' && this.now() >= this.soloUntil) { this.state = 'probe'; this.probeLeft = this.s.probeJobs; }
    if (this.state === 'solo') this.soloJobs++;
    return this.state;
  }

  /** After a shared or probe job: whether a worker was late. Returns true when the pool goes solo (the workers should sleep). */
  done(late: boolean): boolean {
    if (late) this.lateJobs++;
    if (this.state === 'probe') {
      if (late) return this.goSolo(Math.min(this.s.maxSoloMs, 2 * this.soloMs));
      if (--this.probeLeft === 0) { this.state = 'shared'; this.soloMs = this.s.minSoloMs; this.lateStreak = 0; }
      return false;
    }
    this.lateStreak = late ? this.lateStreak + 1 : 0;
    return this.lateStreak >= this.s.lateJobs ? this.goSolo(this.s.minSoloMs) : false;
  }

  private goSolo(ms: number): boolean {
    this.state = 'solo';
    this.soloMs = ms;
    this.soloUntil = this.now() + ms;
    this.lateStreak = 0;
    return true;
  }
}
