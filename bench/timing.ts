// Timing with warm-up and medians, on any platform (Node and the browser bench's worker).

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export interface TimeOptions { readonly warmup?: number; readonly repeat?: number; readonly minMs?: number }

/** Median of per-run times (ms) after warm-up; runs at least `repeat` times and at least `minMs` in total. */
export function timeMedian(fn: () => void, opts: TimeOptions = {}): { median: number; best: number; runs: number } {
  for (let i = 0; i < (opts.warmup ?? 2); i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < (opts.repeat ?? 7) || performance.now() - start < (opts.minMs ?? 0)) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { median: median(times), best: times.reduce((a, b) => Math.min(a, b)), runs: times.length };
}
