// The training loop, written once for every trainer (sequence models and classifiers): progress,
// evaluation cadence, the time budget, stopping at a target accuracy, the divergence stop, the
// checkpoint cadence and the final evaluation and save. Saves go through the caller's `save`
// (atomic on every platform), and each trainer's state makes a resumed run continue exactly.
import type { Progress } from '../io/progress.js';
import type { TrainConfig } from './config.js';

/** Consecutive skipped (non-finite) steps after which a run stops as diverged. */
export const DIVERGED_STEPS = 20;

export interface LoopStep {
  readonly step: number;
  readonly loss: number;
  /** False when the update was skipped (a non-finite gradient). */
  readonly applied: boolean;
  /** Tokens (or examples) trained on in this step. */
  readonly tokens: number;
}

export interface LoopEval {
  readonly step: number;
  /** Greedy copy accuracy or test accuracy; null where there is none. */
  readonly accuracy: number | null;
}

/** What the loop drives: one trainer. */
export interface TrainingRun<S extends LoopStep, E extends LoopEval> {
  readonly step: number;
  trainStep(): S;
  evaluate(): E;
  /** False when there is nothing to validate on. */
  readonly hasValidation: boolean;
}

export interface LoopHooks<S extends LoopStep, E extends LoopEval> {
  readonly progress: Progress;
  /** The fields of the progress line after a step. */
  fields(step: S, lastEval: E | null, tokensPerSecond: number): Record<string, string>;
  /** The log line of an evaluation. */
  evalLine(step: S, evaluation: E): string;
  /** Saves a checkpoint (and logs it); null when the run saves none. */
  readonly save: (() => void) | null;
  /** Where saves go, for the divergence message. */
  readonly savedTo: string | null;
  readonly onEval?: (evaluation: E) => void;
}

export interface LoopOutcome<S extends LoopStep, E extends LoopEval> {
  readonly lastStep: S | null;
  readonly lastEval: E | null;
  readonly stopReason: 'steps' | 'target accuracy' | 'time budget';
  readonly seconds: number;
  readonly tokens: number;
  readonly stepsThisRun: number;
}

export function runTraining<S extends LoopStep, E extends LoopEval>(run: TrainingRun<S, E>, c: TrainConfig, hooks: LoopHooks<S, E>): LoopOutcome<S, E> {
  const { progress } = hooks, started = performance.now(), runStart = run.step;
  let lastEval: E | null = null, lastStep: S | null = null, tokens = 0, skipped = 0;
  let stopReason: LoopOutcome<S, E>['stopReason'] = 'steps';
  const evaluate = (): E => { const e = run.evaluate(); hooks.onEval?.(e); return e; };
  while (run.step < c.steps) {
    const s = run.trainStep();
    lastStep = s;
    tokens += s.tokens;
    skipped = s.applied ? 0 : skipped + 1;
    if (!s.applied) progress.log(`step ${s.step}: non-finite gradient norm; update skipped`);
    if (skipped >= DIVERGED_STEPS) {
      throw new RangeError(`training diverged: the last ${skipped} steps (to step ${s.step}) had a non-finite loss or gradient, so no update was applied; ` +
        `nothing was saved at this point${hooks.savedTo ? ` (${hooks.savedTo} keeps its last good save, if any)` : ''}. Lower learningRate or check the data`);
    }
    const elapsed = (performance.now() - started) / 1000;
    progress.update(s.step, hooks.fields(s, lastEval, tokens / elapsed));
    if (run.hasValidation && ((c.evalEvery > 0 && run.step % c.evalEvery === 0) || run.step === c.steps)) {
      lastEval = evaluate();
      progress.log(hooks.evalLine(s, lastEval));
      if (c.targetAccuracy > 0 && lastEval.accuracy !== null && lastEval.accuracy >= c.targetAccuracy) { stopReason = 'target accuracy'; break; }
    }
    if (hooks.save && c.checkpointEvery > 0 && run.step % c.checkpointEvery === 0) hooks.save();
    if (c.timeBudgetSeconds > 0 && elapsed >= c.timeBudgetSeconds) { stopReason = 'time budget'; break; }
  }
  progress.finish();
  if (run.hasValidation && (!lastEval || lastEval.step !== run.step)) lastEval = evaluate();
  if (!run.hasValidation) progress.log('no validation data (validationFraction is 0): validation skipped');
  hooks.save?.();
  return { lastStep, lastEval, stopReason, seconds: (performance.now() - started) / 1000, tokens, stepsThisRun: run.step - runStart };
}
