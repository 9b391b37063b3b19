// How a two-thread bf16 product divides its panels between the calling thread and the worker. The
// two vCPUs of a shared host do not run at the same speed, and which one is slower changes by the
// minute (measured: either thread's share of a decode step's product took 10–20% longer than the
// other's, in turns), so an even split makes every product wait for the slower one. A product's
// outputs do not depend on who computes them, so its split can follow the speeds: after each
// product dispatched to the worker, the calling thread's share grows when it waited for the worker
// (or ran the share a late worker did not claim) and shrinks slowly when it did not, settling where
// it waits about one product in three.
// (Attention's partial results would change with the split, so it keeps an even one.)

/** The calling thread's share stays within these bounds. */
export const MIN_FIRST_SHARE = 0.25;
export const MAX_FIRST_SHARE = 0.75;
/** A wait longer than this (ms) counts as waiting for the worker. */
const WAITED_MS = 0.0005;
const GROW = 0.004, SHRINK = 0.002;

export class SplitBalancer {
  private share: number;

  /**
   * enabled false (a timer too coarse to see sub-microsecond waits, as in a browser): always the
   * even split. firstShare: where to start (tests pin a split with it and a runner that reports no waits).
   */
  constructor(readonly enabled: boolean, firstShare = 0.5) {
    if (!(firstShare >= MIN_FIRST_SHARE && firstShare <= MAX_FIRST_SHARE)) throw new RangeError(`SplitBalancer: firstShare must be in [${MIN_FIRST_SHARE}, ${MAX_FIRST_SHARE}], got ${firstShare}`);
    this.share = firstShare;
  }

  /** The calling thread's fraction of the work now. */
  get firstShare(): number { return this.share; }

  /** The first thread's panels of `panels` (≥ 1 and ≤ panels − 1), or 0 for the kernel's even split. */
  split(panels: number): number {
    if (!this.enabled || panels < 2) return 0;
    return Math.min(panels - 1, Math.max(1, Math.round(panels * this.share)));
  }

  /** After a product: ThreadRunner.lastWaitMs — how long the calling thread waited (ms), or null when the product was not dispatched to the worker. */
  observe(waitedMs: number | null): void {
    if (!this.enabled || waitedMs === null) return;
    this.share = waitedMs > WAITED_MS ? Math.min(MAX_FIRST_SHARE, this.share + GROW) : Math.max(MIN_FIRST_SHARE, this.share - SHRINK);
  }
}

/**
 * How many ticks fineTimer samples; one tick of at most WAITED_MS is enough. A coarse timer's ticks (a
 * browser's coarsened performance.now: 5 µs to 1 ms) would add up over many samples, so it stops
 * after a few. It counts samples, not elapsed time: a deschedule during one sample of a fine timer
 * costs that sample, not the verdict.
 */
const TIMER_SAMPLES = 3;

/** Whether performance.now() resolves sub-microsecond waits here (Node: yes; a browser's coarsened timer: no). */
export function fineTimer(now: () => number = () => performance.now()): boolean {
  for (let sample = 0; sample < TIMER_SAMPLES; sample++) {
    const a = now();
    let b = now();
    while (b === a) b = now();
    if (b - a <= WAITED_MS) return true;
  }
  return false;
}
