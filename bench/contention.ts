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
import { stepsPerSecond } from '../src/sample/generate.js';
import { Trainer } from '../src/train/trainer.js';
import type { BenchResult } from './harness.js';
import { median } from './timing.js';
import { cachedGeneration, decodeModel, syntheticStream, TRAIN_CASES } from './model.js';

/** Starts `n` processes that spin forever (a core each, as a second busy program would take). */
export function busyLoops(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** One measurement: a rate (tokens/s), and for generation the seconds to the first token (the prompt's prime and one step). */
interface Measurement { readonly rate: number; readonly firstSeconds?: number }

/** Work set up on an engine: one measurement of it, and how to free it. */
interface Prepared { readonly measure: () => Measurement; readonly dispose: () => void }

/**
 * Cached generation on enwik8-small (3,584-token prompt, random weights, bf16 weights as `generate`
 * decodes by default), warmed up: each measurement is the decode rate of the `tokens − 1` steps
 * after the first token (as the generate bench's rows) and the time to that first token.
 */
function cachedGenerationRate(e: Engine, tokens: number): Prepared {
  const model = decodeModel(e, presetNamed('enwik8-small').model as PerceiverAR['config'], 'bf16');
  const generation = cachedGeneration(model, syntheticStream(3584, 5));
  const once = (n: number): Measurement => {
    const r = generation(n);
    return { rate: stepsPerSecond(r), firstSeconds: r.firstTokenSeconds };
  };
  once(8);
  return { measure: () => once(tokens), dispose: () => model.dispose() };
}

/** Medians of one engine's turns: the rate, and the seconds to the first token when measured. */
interface Medians { readonly rate: number; readonly firstSeconds: number | null }

interface LoadRates { readonly threads: number; readonly simd: string; readonly idleMany: Medians; readonly idleOne: Medians; readonly busyMany: Medians; readonly busyOne: Medians }

/** Idle measurements (each engine) and then measurements beside the busy processes, in turns. */
const IDLE_TURNS = 4, BUSY_TURNS = 8;

/**
 * The work `prepare` sets up, on the multi-thread engine and on one thread, idle and then with
 * `busy` busy-loop processes running, in one run: the medians of measurements taken in turns (the
 * two engines alternated, so that the host's drift — minutes of it on a shared VM — falls on both).
 * Beside the busy processes one untimed turn first lets the pool settle into its contended state.
 */
async function underLoad(threads: number | undefined, busy: number, prepare: (e: Engine) => Prepared, progress: (l: string) => void, what: string): Promise<LoadRates> {
  const many = await createEngine({ backend: 'wasm', threads }), one = await createEngine({ backend: 'wasm', threads: 1 });
  const T = many.info.threads, prepared: Prepared[] = [];
  try {
    progress(`${what}: warm-up…`);
    const onMany = prepare(many);
    prepared.push(onMany);
    const onOne = prepare(one);
    prepared.push(onOne);
    // Turns in the order A B, B A, A B, …: a drift of the host's speed during a pair falls on either engine as often.
    const medians = (ms: readonly Measurement[]): Medians => {
      const firsts = ms.flatMap((m) => (m.firstSeconds === undefined ? [] : [m.firstSeconds]));
      return { rate: median(ms.map((m) => m.rate)), firstSeconds: firsts.length ? median(firsts) : null };
    };
    const turns = (n: number, label: string): [Medians, Medians] => {
      const a: Measurement[] = [], b: Measurement[] = [];
      const onA = (i: number): void => { progress(`${what}, ${label}: turn ${i + 1}/${n}, ${T} threads…`); a.push(onMany.measure()); };
      const onB = (i: number): void => { progress(`${what}, ${label}: turn ${i + 1}/${n}, 1 thread…`); b.push(onOne.measure()); };
      for (let i = 0; i < n; i++) {
        if (i % 2 === 0) { onA(i); onB(i); } else { onB(i); onA(i); }
      }
      return [medians(a), medians(b)];
    };
    const [idleMany, idleOne] = turns(IDLE_TURNS, 'idle');
    const loops = busyLoops(busy);
    try {
      await new Promise((r) => setTimeout(r, 300));
      turns(1, `${busy} busy, settling`);
      const [busyMany, busyOne] = turns(BUSY_TURNS, `${busy} busy`);
      return { threads: T, simd: many.info.simd, idleMany, idleOne, busyMany, busyOne };
    } finally {
      for (const p of loops) p.kill('SIGKILL');
    }
  } finally {
    for (const p of prepared) p.dispose();
    await many.dispose();
    await one.dispose();
  }
}

/** The four rows of a load measurement: idle and busy, many threads and one; `msPer` turns a rate into the table's ms. */
function loadRows(name: string, r: LoadRates, busy: number, msPer: (rate: number) => number, digits: number, targets: { idle: boolean; halfOfIdle: boolean }): BenchResult[] {
  const row = (label: string, m: Medians, t: number, target: string | null, met: boolean | null, extra: Record<string, string> = {}): BenchResult => ({
    name: `${name} [${label}]`, ms: msPer(m.rate), gflops: null, threads: t, simd: r.simd, fractionOfCeiling: null, target, targetMet: met,
    extra: { 'tokens/s': m.rate.toFixed(digits), ...(m.firstSeconds === null ? {} : { 'first token ms': (1000 * m.firstSeconds).toFixed(0) }), ...extra },
  });
  const half = targets.halfOfIdle && busy >= 2;
  const { idleMany, idleOne, busyMany, busyOne } = r;
  return [
    row(`${r.threads} threads, idle`, idleMany, r.threads, targets.idle ? 'not below 1 thread idle' : null, targets.idle ? idleMany.rate >= idleOne.rate : null),
    row('1 thread, idle', idleOne, 1, null, null),
    row(`${r.threads} threads, ${busy} busy`, busyMany, r.threads, `≥ 1 thread under the same load${half ? ' and ≥ ½ of 1 thread idle' : ''}`,
      busyMany.rate >= busyOne.rate && (!half || busyMany.rate >= idleOne.rate / 2), { 'vs idle': `${((100 * busyMany.rate) / idleMany.rate).toFixed(0)}%` }),
    row(`1 thread, ${busy} busy`, busyOne, 1, null, null, { 'vs idle': `${((100 * busyOne.rate) / idleOne.rate).toFixed(0)}%` }),
  ];
}

export async function benchGenerateContention(threads: number | undefined, busy: number, progress: (l: string) => void): Promise<BenchResult[]> {
  const r = await underLoad(threads, busy, (e) => cachedGenerationRate(e, 96), progress, 'generate-cached');
  return loadRows('generate-cached', r, busy, (rate) => 1000 / rate, 1, { idle: true, halfOfIdle: true });
}

/** Training steps of the small config (batch 8, the default engine path) after one warm-up step: each measurement is one step's tokens/s. */
function trainStepRate(e: Engine): Prepared {
  const tc = TRAIN_CASES[0]!, c = tc.config();
  const model = new PerceiverAR(e, c, 1);
  const trainer = new Trainer(e, model, { ...presetNamed('enwik8-small').train, batchSize: tc.batch }, streamSource(syntheticStream(200_000, 3), 0.01, 'synthetic'));
  trainer.trainStep();
  const tokens = tc.batch * c.numLatents;
  return {
    measure: () => { const t0 = performance.now(); trainer.trainStep(); return { rate: tokens / ((performance.now() - t0) / 1000) }; },
    dispose: () => model.dispose(),
  };
}

/** Training steps of the small config (batch 8, the default engine path): tokens/s, the median of `steps` steps after one warm-up step. */
export function trainRate(e: Engine, steps: number, progress: (l: string) => void, label: string): number {
  const run = trainStepRate(e), rates: number[] = [];
  for (let i = 0; i < steps; i++) { progress(`${label}…`); rates.push(run.measure().rate); }
  run.dispose();
  return median(rates);
}

export async function benchTrainContention(threads: number | undefined, busy: number, progress: (l: string) => void): Promise<BenchResult[]> {
  const r = await underLoad(threads, busy, trainStepRate, progress, 'train-small-b8');
  const tokensPerStep = TRAIN_CASES[0]!.batch * TRAIN_CASES[0]!.config().numLatents;
  return loadRows('train-small-b8', r, busy, (rate) => (1000 * tokensPerStep) / rate, 0, { idle: false, halfOfIdle: false });
}
