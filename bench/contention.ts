// `npm run bench -- generate --busy=N` (and `train --busy=N`): the same work measured with N
// busy-loop processes running beside it, on the multi-thread engine and on one thread, next to
// both idle rates from the same run. Users generate on machines that do other things; a decode step
// is hundreds of small parallel kernels, each ending at a barrier of the worker pool, so a pool
// thread that is not scheduled can stall every barrier (docs/engine.md, "Under contention").
import { spawn, type ChildProcess } from 'node:child_process';
import { createEngine, type Engine } from '../src/node.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { presetNamed } from '../src/presets.js';
import { streamSource } from '../src/data/source.js';
import { Trainer } from '../src/train/trainer.js';
import { timeMedian, type BenchResult } from './harness.js';
import { cachedGeneration, decodeModel, syntheticStream, TRAIN_CASES } from './model.js';

/** Starts `n` processes that spin forever (a core each, as a second busy program would take). */
export function busyLoops(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Cached generation on enwik8-small (3,584-token prompt, random weights, bf16 weights as `generate`
 * decodes by default): tokens/s, the median of `runs` runs of `tokens` tokens.
 */
function cachedRate(e: Engine, tokens: number, runs: number, progress: (l: string) => void, label: string): number {
  const model = decodeModel(e, presetNamed('enwik8-small').model as PerceiverAR['config'], 'bf16');
  const prompt = syntheticStream(3584, 5);
  const generation = cachedGeneration(model, prompt);
  const once = (n: number): number => {
    const r = generation(n);
    return r.tokens.length / r.seconds;
  };
  progress(`${label}: warm-up…`);
  once(8);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) { progress(`${label}: run ${i + 1}/${runs}…`); rates.push(once(tokens)); }
  model.dispose();
  return median(rates);
}

interface LoadRates { readonly threads: number; readonly simd: string; readonly idleMany: number; readonly idleOne: number; readonly busyMany: number; readonly busyOne: number }

/**
 * `measure` on the multi-thread engine and on one thread, idle and then with `busy` busy-loop
 * processes running (loaded: true), in one run.
 */
async function underLoad(threads: number | undefined, busy: number, measure: (e: Engine, loaded: boolean, label: string) => number): Promise<LoadRates> {
  const many = await createEngine({ backend: 'wasm', threads }), one = await createEngine({ backend: 'wasm', threads: 1 });
  const T = many.info.threads;
  try {
    const idleMany = measure(many, false, `${T} threads, idle`), idleOne = measure(one, false, '1 thread, idle');
    const loops = busyLoops(busy);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const busyMany = measure(many, true, `${T} threads, ${busy} busy`), busyOne = measure(one, true, `1 thread, ${busy} busy`);
      return { threads: T, simd: many.info.simd, idleMany, idleOne, busyMany, busyOne };
    } finally {
      for (const p of loops) p.kill('SIGKILL');
    }
  } finally {
    await many.dispose();
    await one.dispose();
  }
}

/** The four rows of a load measurement: idle and busy, many threads and one; `msPer` turns a rate into the table's ms. */
function loadRows(name: string, r: LoadRates, busy: number, msPer: (rate: number) => number, digits: number, targets: { idle: boolean; halfOfIdle: boolean }): BenchResult[] {
  const row = (label: string, rate: number, t: number, target: string | null, met: boolean | null, extra: Record<string, string> = {}): BenchResult => ({
    name: `${name} [${label}]`, ms: msPer(rate), gflops: null, threads: t, simd: r.simd, fractionOfCeiling: null, target, targetMet: met,
    extra: { 'tokens/s': rate.toFixed(digits), ...extra },
  });
  const half = targets.halfOfIdle && busy >= 2;
  return [
    row(`${r.threads} threads, idle`, r.idleMany, r.threads, targets.idle ? 'not below 1 thread idle' : null, targets.idle ? r.idleMany >= r.idleOne : null),
    row('1 thread, idle', r.idleOne, 1, null, null),
    row(`${r.threads} threads, ${busy} busy`, r.busyMany, r.threads, `≥ 1 thread under the same load${half ? ' and ≥ ½ of 1 thread idle' : ''}`,
      r.busyMany >= r.busyOne && (!half || r.busyMany >= r.idleOne / 2), { 'vs idle': `${((100 * r.busyMany) / r.idleMany).toFixed(0)}%` }),
    row(`1 thread, ${busy} busy`, r.busyOne, 1, null, null, { 'vs idle': `${((100 * r.busyOne) / r.idleOne).toFixed(0)}%` }),
  ];
}

export async function benchGenerateContention(threads: number | undefined, busy: number, progress: (l: string) => void): Promise<BenchResult[]> {
  const r = await underLoad(threads, busy, (e, _loaded, label) => cachedRate(e, 128, 3, progress, label));
  return loadRows('generate-cached', r, busy, (rate) => 1000 / rate, 1, { idle: true, halfOfIdle: true });
}

/** Training steps of the small config (batch 8, the default engine path): tokens/s, the median of `steps` steps after one warm-up step. */
export function trainRate(e: Engine, steps: number, progress: (l: string) => void, label: string): number {
  const tc = TRAIN_CASES[0]!, c = tc.config();
  const model = new PerceiverAR(e, c, 1);
  const trainer = new Trainer(e, model, { ...presetNamed('enwik8-small').train, batchSize: tc.batch }, streamSource(syntheticStream(200_000, 3), 0.01, 'synthetic'));
  progress(`${label}: warm-up…`);
  trainer.trainStep();
  const ms = timeMedian(() => { progress(`${label}…`); trainer.trainStep(); }, { warmup: 0, repeat: steps }).median;
  model.dispose();
  return (tc.batch * c.numLatents) / (ms / 1000);
}

export async function benchTrainContention(threads: number | undefined, busy: number, progress: (l: string) => void): Promise<BenchResult[]> {
  const r = await underLoad(threads, busy, (e, _loaded, label) => trainRate(e, 3, progress, `train-small-b8, ${label}`));
  const tokensPerStep = TRAIN_CASES[0]!.batch * TRAIN_CASES[0]!.config().numLatents;
  return loadRows('train-small-b8', r, busy, (rate) => (1000 * tokensPerStep) / rate, 0, { idle: false, halfOfIdle: false });
}
