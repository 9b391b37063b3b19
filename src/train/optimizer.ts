// AdamW over the model's flat arenas with global-norm clipping folded into the step.
import type { KernelSet } from '../kernels/types.js';
import type { ParamStore } from '../nn/params.js';

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global-norm clip; 0 disables. */
  readonly clipNorm: number;
}

export interface StepReport {
  readonly gradNorm: number;
  /** False when the gradient norm was not finite: parameters were left unchanged. */
  readonly applied: boolean;
}

/** Runs of consecutive parameters with the same weight-decay flag: one kernel call each. */
function decayRuns(store: ParamStore): { offset: number; size: number; decay: boolean }[] {
  const runs: { offset: number; size: number; decay: boolean }[] = [];
  for (const p of store.list) {
    const last = runs[runs.length - 1];
    if (last && last.decay === p.spec.decay) last.size += p.size;
    else runs.push({ offset: p.offset, size: p.size, decay: p.spec.decay });
  }
  return runs;
}

export class AdamW {
  private readonly runs: { offset: number; size: number; decay: boolean }[];

  constructor(private readonly kernels: KernelSet, private readonly store: ParamStore, private readonly config: AdamWConfig) {
    this.runs = decayRuns(store);
  }

  /** Applies one update with learning rate lr at 1-based step t; gradScale multiplies the gradients first. */
  step(lr: number, t: number, gradScale = 1): StepReport {
    const s = this.store, k = this.kernels, c = this.config;
    const gradNorm = Math.sqrt(k.sumSquares(s.grads)) * gradScale;
    if (!Number.isFinite(gradNorm)) return { gradNorm, applied: false };
    const clip = c.clipNorm > 0 && gradNorm > c.clipNorm ? c.clipNorm / gradNorm : 1;
    for (const r of this.runs) {
      const view = (x: Float32Array): Float32Array => x.subarray(r.offset, r.offset + r.size);
      k.adamw({ lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: r.decay ? c.weightDecay : 0, step: t, gradScale: gradScale * clip },
        view(s.values), view(s.grads), view(s.m), view(s.v));
    }
    return { gradNorm, applied: true };
  }
}
