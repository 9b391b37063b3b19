// The one training loop (train/loop.ts) on a scripted trainer: evaluation and checkpoint cadence,
// the final evaluation and save, the time budget, the target accuracy and the divergence stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Progress } from '../src/io/progress.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { runTraining, type LoopEval, type LoopStep, type TrainingRun } from '../src/train/loop.js';

interface Script { readonly applied?: (step: number) => boolean; readonly accuracy?: (step: number) => number | null; readonly stepMs?: number }

function scripted(s: Script, start = 0): TrainingRun<LoopStep, LoopEval> & { evals: number[] } {
  let step = start;
  const evals: number[] = [];
  return {
    evals, hasValidation: true,
    get step() { return step; },
    trainStep() {
      step++;
      if (s.stepMs) { const until = performance.now() + s.stepMs; while (performance.now() < until) { /* a step's work */ } }
      return { step, loss: 1 / step, applied: s.applied?.(step) ?? true, tokens: 10 };
    },
    evaluate() { evals.push(step); return { step, accuracy: s.accuracy?.(step) ?? null }; },
  };
}

const silent = (): Progress & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, update: () => undefined, log: (l) => { lines.push(l); }, finish: () => undefined };
};
const config = (o: Partial<TrainConfig>): TrainConfig => ({ ...TRAIN_DEFAULTS, ...o });
const hooks = (saves: number[], run: { step: number }, progress = silent()) => ({
  progress, fields: () => ({}), evalLine: (_s: LoopStep, e: LoopEval) => `eval ${e.step}`, save: () => { saves.push(run.step); }, savedTo: 'x.safetensors',
});

describe('training loop', () => {
  it('evaluates every evalEvery steps and at the end, saves every checkpointEvery steps and at the end', () => {
    const run = scripted({}), saves: number[] = [];
    const r = runTraining(run, config({ steps: 10, evalEvery: 4, checkpointEvery: 3 }), hooks(saves, run));
    assert.deepEqual(run.evals, [4, 8, 10]);
    assert.deepEqual(saves, [3, 6, 9, 10]);
    assert.deepEqual([r.stopReason, r.stepsThisRun, r.tokens, r.lastEval?.step], ['steps', 10, 100, 10]);
  });

  it('without validation data: no evaluation, a note, still the final save', () => {
    const base = scripted({}), saves: number[] = [], progress = silent();
    const noValidation: TrainingRun<LoopStep, LoopEval> = {
      hasValidation: false, get step() { return base.step; }, trainStep: () => base.trainStep(), evaluate: () => { throw new Error('no validation data'); },
    };
    const r = runTraining(noValidation, config({ steps: 5, evalEvery: 2 }), hooks(saves, base, progress));
    assert.deepEqual([r.lastEval, saves, r.stepsThisRun], [null, [5], 5]);
    assert.ok(progress.lines.some((l) => l.includes('validation skipped')));
  });

  it('a resumed run continues from its step and does only the steps left', () => {
    const run = scripted({}, 6), saves: number[] = [];
    const r = runTraining(run, config({ steps: 10, evalEvery: 4, checkpointEvery: 0 }), hooks(saves, run));
    assert.deepEqual([run.evals, saves, r.stepsThisRun], [[8, 10], [10], 4]);
  });

  it('stops at the target accuracy, and at the time budget with a final evaluation', () => {
    const run = scripted({ accuracy: (s) => (s >= 6 ? 1 : 0.5) }), saves: number[] = [];
    const r = runTraining(run, config({ steps: 100, evalEvery: 2, targetAccuracy: 0.99 }), hooks(saves, run));
    assert.deepEqual([r.stopReason, run.step, saves], ['target accuracy', 6, [6]]);
    const slow = scripted({ stepMs: 30 });
    const t = runTraining(slow, config({ steps: 1000, evalEvery: 0, timeBudgetSeconds: 0.1 }), hooks([], slow));
    assert.equal(t.stopReason, 'time budget');
    assert.ok(slow.step >= 3 && slow.step < 20, `${slow.step} steps`);
    assert.deepEqual(slow.evals, [slow.step], 'evaluated once, at the end');
  });

  it('stops as diverged after 20 skipped steps in a row, without saving, naming where the last good save is', () => {
    const run = scripted({ applied: (s) => s < 5 || (s > 10 && s < 15) }), saves: number[] = [], progress = silent();
    assert.throws(() => runTraining(run, config({ steps: 100, evalEvery: 0, checkpointEvery: 50 }), hooks(saves, run, progress)),
      /training diverged: the last 20 steps \(to step 34\) .*x\.safetensors keeps its last good save/);
    assert.deepEqual(saves, []);
    assert.equal(progress.lines.filter((l) => l.includes('update skipped')).length, 6 + 20);
  });
});
