// Benchmark plumbing: timing with warm-up and medians, a load check, table and JSON-lines output.
import { loadavg } from 'node:os';

export interface BenchResult {
  readonly name: string;
  /** Median wall time of one run, milliseconds. */
  readonly ms: number;
  readonly gflops: number | null;
  readonly threads: number;
  readonly simd: string;
  /** gflops as a fraction of the FMA ceiling measured in the same run. */
  readonly fractionOfCeiling: number | null;
  readonly target: string | null;
  readonly targetMet: boolean | null;
  readonly extra?: Record<string, number | string>;
}

export { median, timeMedian, type TimeOptions } from './timing.js';

export function loadWarning(): string | null {
  const [one] = loadavg();
  return one! > 0.7 ? `warning: 1-minute load average is ${one!.toFixed(2)}; timings may be noisy (check top)` : null;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function printTable(results: readonly BenchResult[], log: (line: string) => void): void {
  const rows = results.map((r) => [
    r.name, r.ms < 0.1 ? r.ms.toFixed(4) : r.ms.toFixed(2), r.gflops === null ? '-' : r.gflops.toFixed(1),
    r.fractionOfCeiling === null ? '-' : `${(100 * r.fractionOfCeiling).toFixed(0)}%`, String(r.threads), r.simd,
    r.target === null ? '' : r.targetMet === null ? r.target : `${r.target} ${r.targetMet ? 'met' : 'MISSED'}`,
    Object.entries(r.extra ?? {}).map(([k, v]) => `${k}=${v}`).join(' '),
  ]);
  const head = ['case', 'ms', 'GFLOP/s', 'of ceiling', 'threads', 'simd', 'target', 'notes'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 1 && i <= 4 ? lpad(c, widths[i]!) : pad(c, widths[i]!))).join('  ').trimEnd();
  log(line(head));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) log(line(r));
}

export interface BenchArgs {
  readonly json: boolean;
  readonly threads: number | undefined;
  readonly only: readonly string[] | null;
  readonly repeat: number | undefined;
  readonly rounds: number;
  readonly simd: 'auto' | 'relaxed-simd' | 'simd128';
  readonly blas: string;
  /** generate: also measure with this many busy-loop processes beside it (0: idle only). */
  readonly busy: number;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let json = false, threads: number | undefined, only: string[] | null = null, repeat: number | undefined, rounds = 1;
  let simd: BenchArgs['simd'] = 'auto', blas = 'auto', busy = 0;
  for (const a of argv) {
    const [key, value] = a.startsWith('--') ? a.slice(2).split('=', 2) as [string, string | undefined] : [a, undefined];
    if (key === 'json' && value === undefined) json = true;
    else if (key === 'threads' && value) threads = Number(value);
    else if (key === 'only' && value) only = value.split(',');
    else if (key === 'repeat' && value && Number.isInteger(Number(value)) && Number(value) >= 1) repeat = Number(value);
    else if (key === 'rounds' && value && Number.isInteger(Number(value)) && Number(value) >= 1) rounds = Number(value);
    else if (key === 'simd' && (value === 'auto' || value === 'relaxed-simd' || value === 'simd128')) simd = value;
    else if (key === 'blas' && value) blas = value;
    else if (key === 'busy' && value && Number.isInteger(Number(value)) && Number(value) >= 0 && Number(value) <= 16) busy = Number(value);
    else throw new Error(`unknown benchmark option '${a}'; allowed: --json, --threads=N, --only=case1,case2, --repeat=N, --rounds=N, --simd=auto|relaxed-simd|simd128, ` +
      '--blas=auto|off|LIBRARY, --busy=N (generate, train: N busy-loop processes beside the measurement)');
  }
  return { json, threads, only, repeat, rounds, simd, blas, busy };
}
