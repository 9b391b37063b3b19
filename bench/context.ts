// `npm run bench -- context`: training-step time and peak memory against context length for
// Perceiver AR (N = 512), the decoder-only Transformer (N = M) and Transformer-XL (segments and
// memory of 512), 6 layers, C 512, 8 heads, batch 1; contexts double from --min to --max, and each model stops at the first context whose
// step fails (does not fit), exceeds the step-time limit or exceeds the memory budget.
// Each point runs in a child process (bench/context-point.ts) so its peak RSS is its own.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SWEEP_MODELS, targetsPerStep, type PointResult, type SweepModel } from './context-point.js';
import { contextChartSvg } from './context-chart.js';

interface SweepArgs {
  readonly models: readonly SweepModel[];
  readonly min: number;
  readonly max: number;
  readonly budgetGiB: number;
  readonly stepLimitSeconds: number;
  readonly crossAttendDropout: number;
  readonly threads: number | undefined;
  readonly json: boolean;
  readonly out: string | null;
  readonly chart: string | null;
}

const USAGE = 'npm run bench -- context [--models=perceiver-ar,transformer,transformer-xl] [--min=1024] [--max=1048576] [--budgetGiB=16] ' +
  '[--stepLimitSeconds=120] [--crossAttendDropout=0] [--threads=N] [--json] [--out=results.json] [--chart=chart.svg]';

function parse(argv: readonly string[]): SweepArgs {
  const a: { -readonly [K in keyof SweepArgs]: SweepArgs[K] } = {
    models: SWEEP_MODELS, min: 1024, max: 1_048_576, budgetGiB: 16, stepLimitSeconds: 120, crossAttendDropout: 0, threads: undefined,
    json: false, out: null, chart: null,
  };
  const num = (key: string, v: string | undefined, lo: number): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || x < lo) throw new Error(`--${key} must be a number ≥ ${lo}; usage: ${USAGE}`);
    return x;
  };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=', 2) as [string, string | undefined];
    if (key === 'models') {
      const list = (value ?? '').split(',');
      const bad = list.filter((m) => !(SWEEP_MODELS as readonly string[]).includes(m));
      if (bad.length) throw new Error(`unknown model(s) ${bad.join(', ')}; allowed: ${SWEEP_MODELS.join(', ')}`);
      a.models = list as SweepModel[];
    } else if (key === 'min' || key === 'max') a[key] = num(key, value, 2);
    else if (key === 'budgetGiB' || key === 'stepLimitSeconds') a[key] = num(key, value, 0.001);
    else if (key === 'crossAttendDropout') a.crossAttendDropout = num(key, value, 0);
    else if (key === 'threads') a.threads = num(key, value, 1);
    else if (key === 'json' && value === undefined) a.json = true;
    else if ((key === 'out' || key === 'chart') && value) a[key] = value;
    else throw new Error(`unknown option '${arg}'; usage: ${USAGE}`);
  }
  if (a.crossAttendDropout >= 1) throw new Error('--crossAttendDropout must be < 1');
  return a;
}

function runPoint(model: SweepModel, M: number, a: SweepArgs): PointResult {
  const script = fileURLToPath(new URL('./context-point.js', import.meta.url));
  const args = [script, `--model=${model}`, `--context=${M}`, `--crossAttendDropout=${a.crossAttendDropout}`, `--stepLimitSeconds=${a.stepLimitSeconds}`];
  if (a.threads !== undefined) args.push(`--threads=${a.threads}`);
  const r = spawnSync(process.execPath, ['--max-old-space-size=16384', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PointResult;
  } catch {
    const why = (r.stderr || r.stdout || `exit ${r.status} ${r.signal ?? ''}`).trim().split('\n').slice(-3).join(' ');
    return { model, context: M, ok: false, stepMs: null, steps: 0, peakRssMiB: 0, engineMiB: 0, keyChunk: 0, error: `the run died: ${why}` };
  }
}

export function runContextSweep(argv: readonly string[]): number {
  const a = parse(argv);
  const log = (l: string): void => { if (!a.json) console.log(l); };
  log(`context sweep: 6 layers, C 512, 8 heads, batch 1, cross-attend dropout ${a.crossAttendDropout}; ` +
    `stop at > ${a.stepLimitSeconds} s/step or > ${a.budgetGiB} GiB peak RSS`);
  log('model          context    ms/step   tokens/s   peak RSS MiB   engine MiB   keys   status');
  const results: PointResult[] = [];
  for (const model of a.models) {
    for (let M = a.min; M <= a.max; M *= 2) {
      if (!a.json) process.stderr.write(`${model} at ${M} tokens…\r`);
      let r = runPoint(model, M, a);
      if (r.ok && r.peakRssMiB > a.budgetGiB * 1024) r = { ...r, ok: false, error: `peak RSS ${(r.peakRssMiB / 1024).toFixed(1)} GiB is over the ${a.budgetGiB} GiB budget` };
      results.push(r);
      const targets = targetsPerStep(model, M);
      const tps = r.stepMs ? (targets / (r.stepMs / 1000)).toFixed(0) : '-';
      log(`${model.padEnd(14)} ${String(M).padStart(8)} ${(r.stepMs?.toFixed(0) ?? '-').padStart(10)} ${tps.padStart(10)} ` +
        `${r.peakRssMiB.toFixed(0).padStart(14)} ${r.engineMiB.toFixed(0).padStart(12)} ${(model !== 'perceiver-ar' ? '-' : r.keyChunk ? 'chunks' : 'held').padStart(6)}   ` +
        `${r.ok ? 'ok' : `STOP: ${r.error}`}`);
      if (!r.ok) break;
    }
    const fits = results.filter((r) => r.model === model && r.ok).pop();
    log(`${model}: largest context that fits: ${fits ? fits.context : 'none'}`);
  }
  if (a.json) for (const r of results) console.log(JSON.stringify(r));
  if (a.out) writeFileSync(a.out, `${JSON.stringify({ date: new Date().toISOString(), args: a, results }, null, 1)}\n`);
  if (a.chart) writeFileSync(a.chart, contextChartSvg(results));
  return 0;
}
