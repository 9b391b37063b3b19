// The Universal Transformer's recurrence with per-position ACT (Graves 2016; Dehghani et al. 2019),
// forward and backward. One shared block is applied up to maxSteps times:
//   u_n = s_{n−1} + step_n;   s_n = Block(u_n);   p_n = σ(w_h·s_n + b_h)      (per row r)
// A row halts at the first step where Σ p + p_n ≥ 1 − ε (or the last step); its weights are p_n
// before that and the remainder 1 − Σ p at that step; out = Σ_n weight_n·s_n. Ponder cost per row
// ρ = N + remainder (N = steps used). Halted rows keep being computed (they stay keys for the others)
// but no longer contribute. The run stops early once every row has halted.
import type { Allocator } from '../../engine.js';
import type { F32, KernelSet, U8 } from '../../kernels/types.js';
import { linearBackward, linearForward } from '../../nn/linear.js';
import type { ParamStore } from '../../nn/params.js';
import {
  encoderBlockBackward, encoderBlockForward, type EncoderActs, type EncoderBlockParams, type EncoderGrads, type EncoderShape,
} from '../encoder/block.js';
import { linearOf } from '../../nn/layer-params.js';
import type { ClassifierConfig } from './config.js';

const PONDER_STEP = 1, REMAINDER_STEP = 2;

export class ActRecurrence {
  private readonly us: F32[];
  private readonly ss: F32[];
  private readonly haltLogits: F32[];
  private readonly weights: Float64Array[];
  private readonly kinds: Uint8Array[];
  private readonly probs: Float64Array[];
  private readonly ds: F32;
  private readonly dLogit: F32;
  private applied = 0;

  constructor(a: Allocator, private readonly c: ClassifierConfig, private readonly shape: EncoderShape) {
    const R = shape.B * shape.S, C = shape.C, n = c.maxSteps;
    this.us = Array.from({ length: n }, () => a.allocF32(R * C, 'ACT step input'));
    this.ss = Array.from({ length: n }, () => a.allocF32(R * C, 'ACT step state'));
    this.haltLogits = Array.from({ length: n }, () => a.allocF32(R, 'ACT halting logits'));
    this.weights = Array.from({ length: n }, () => new Float64Array(R));
    this.kinds = Array.from({ length: n }, () => new Uint8Array(R));
    this.probs = Array.from({ length: n }, () => new Float64Array(R));
    this.ds = a.allocF32(R * C, 'ACT gradient');
    this.dLogit = a.allocF32(R, 'ACT gradient');
  }

  /** out = Σ weight_n·s_n; returns the mean ponder cost and each example's mean steps per row. */
  forward(k: KernelSet, block: EncoderBlockParams, params: ParamStore, x0: F32, out: F32, acts: EncoderActs[], keyValid: U8):
    { ponder: number; steps: Float64Array } {
    const { B, S, C } = this.shape, R = B * S, c = this.c;
    const step = params.get('act.step').value, halt = linearOf(params, 'act.halt');
    const cum = new Float64Array(R), used = new Int32Array(R), remainder = new Float64Array(R);
    const o = out.subarray(0, R * C);
    o.fill(0);
    let prev = x0.subarray(0, R * C), halted = 0;
    this.applied = 0;
    for (let n = 0; n < c.maxSteps && halted < R; n++) {
      const u = this.us[n]!.subarray(0, R * C), s = this.ss[n]!;
      for (let r = 0; r < R; r++) for (let ch = 0; ch < C; ch++) u[r * C + ch] = prev[r * C + ch]! + step[n * C + ch]!;
      encoderBlockForward(k, this.shape, block, acts[n]!, keyValid, u, s);
      linearForward(k, halt, R, s.subarray(0, R * C), this.haltLogits[n]!.subarray(0, R));
      const w = this.weights[n]!, kind = this.kinds[n]!, p = this.probs[n]!;
      w.fill(0); kind.fill(0);
      for (let r = 0; r < R; r++) {
        p[r] = 1 / (1 + Math.exp(-this.haltLogits[n]![r]!));
        if (used[r]! > 0) continue;
        if (n === c.maxSteps - 1 || cum[r]! + p[r]! >= 1 - c.haltingEps) {
          w[r] = remainder[r] = 1 - cum[r]!; kind[r] = REMAINDER_STEP; used[r] = n + 1; halted++;
        } else {
          w[r] = p[r]!; cum[r] = cum[r]! + p[r]!; kind[r] = PONDER_STEP;
        }
        for (let ch = 0; ch < C; ch++) o[r * C + ch] = o[r * C + ch]! + w[r]! * s[r * C + ch]!;
      }
      prev = s.subarray(0, R * C);
      this.applied = n + 1;
    }
    let ponder = 0;
    const steps = new Float64Array(B);
    for (let r = 0; r < R; r++) { ponder += used[r]! + remainder[r]!; steps[Math.floor(r / S)] = steps[Math.floor(r / S)]! + used[r]! / S; }
    return { ponder: ponder / R, steps };
  }

  /** dOut [R, C] (overwritten) becomes d(x0); the shared block's, step embeddings' and halting unit's gradients accumulate. */
  backward(k: KernelSet, block: EncoderBlockParams, params: ParamStore, dOut: F32, acts: EncoderActs[], keyValid: U8, g: EncoderGrads): void {
    const { B, S, C } = this.shape, R = B * S, c = this.c;
    const dStep = params.get('act.step').grad, halt = linearOf(params, 'act.halt');
    const dPonder = c.actWeight / R;
    const dOutCopy = Float32Array.from(dOut.subarray(0, R * C));
    // d(loss)/d(remainder) of each row, charged (negated) to every earlier ponder step's p.
    const remainderGrad = new Float64Array(R);
    const carry = dOut.subarray(0, R * C);
    carry.fill(0);
    for (let n = this.applied - 1; n >= 0; n--) {
      const s = this.ss[n]!, w = this.weights[n]!, kind = this.kinds[n]!, p = this.probs[n]!;
      const ds = this.ds.subarray(0, R * C), dLogit = this.dLogit.subarray(0, R);
      ds.set(carry);
      for (let r = 0; r < R; r++) {
        if (kind[r] === 0) { dLogit[r] = 0; continue; }
        let dWeight = 0;
        for (let ch = 0; ch < C; ch++) {
          dWeight += dOutCopy[r * C + ch]! * s[r * C + ch]!;
          ds[r * C + ch] = ds[r * C + ch]! + w[r]! * dOutCopy[r * C + ch]!;
        }
        if (kind[r] === REMAINDER_STEP) { remainderGrad[r] = dWeight + dPonder; dLogit[r] = 0; continue; }
        const dp = dWeight - remainderGrad[r]!;
        dLogit[r] = dp * p[r]! * (1 - p[r]!);
      }
      linearBackward(k, halt, R, s.subarray(0, R * C), dLogit, ds);
      encoderBlockBackward(k, this.shape, block, acts[n]!, keyValid, this.us[n]!, ds, g);
      for (let r = 0; r < R; r++) for (let ch = 0; ch < C; ch++) dStep[n * C + ch] = dStep[n * C + ch]! + ds[r * C + ch]!;
      carry.set(ds);
    }
  }
}
