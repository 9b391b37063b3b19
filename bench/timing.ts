// Timing with warm-up and medians, on any platform (Node and the browser bench's worker).

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
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, best: times[0]!, runs: times.length };
}
