// Parameters, gradients and AdamW moments as four identical flat arenas with named views, so the
// optimiser is one flat loop and a checkpoint is one list of named tensors.
import type { Engine } from '../engine.js';
import { Rng } from '../tensor/rng.js';

export type Init =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  /** Truncated normal (±2σ) with variance 1/fanIn: the spec's fan-in variance scaling. */
  | { readonly kind: 'fan-in'; readonly fanIn: number }
  | { readonly kind: 'normal'; readonly std: number };

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
  /** AdamW weight decay applies to matrices only (not biases, norms). */
  readonly decay: boolean;
}

export interface ParamView {
  readonly spec: ParamSpec;
  readonly offset: number;
  readonly size: number;
  readonly value: Float32Array;
  readonly grad: Float32Array;
}

export class ParamStore {
  readonly values: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly byName = new Map<string, ParamView>();
  readonly list: readonly ParamView[];

  constructor(engine: Engine, specs: readonly ParamSpec[]) {
    const total = specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    this.values = engine.allocF32(total, 'parameters');
    this.grads = engine.allocF32(total, 'gradients');
    this.m = engine.allocF32(total, 'AdamW first moments');
    this.v = engine.allocF32(total, 'AdamW second moments');
    let offset = 0;
    const list: ParamView[] = [];
    for (const spec of specs) {
      if (this.byName.has(spec.name)) throw new Error(`duplicate parameter name '${spec.name}'`);
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const view: ParamView = {
        spec, offset, size,
        value: this.values.subarray(offset, offset + size),
        grad: this.grads.subarray(offset, offset + size),
      };
      this.byName.set(spec.name, view);
      list.push(view);
      offset += size;
    }
    this.list = list;
  }

  get count(): number { return this.values.length; }

  get(name: string): ParamView {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named '${name}'`);
    return p;
  }

  has(name: string): boolean { return this.byName.has(name); }

  initialise(rng: Rng): void {
    for (const p of this.list) fillInit(p.value, p.spec.init, rng);
  }

  zeroGrads(): void { this.grads.fill(0); }
}

export function fillInit(x: Float32Array, init: Init, rng: Rng): void {
  switch (init.kind) {
    case 'zeros': x.fill(0); return;
    case 'ones': x.fill(1); return;
    case 'normal': for (let i = 0; i < x.length; i++) x[i] = rng.normal() * init.std; return;
    case 'fan-in': {
      // Truncated at 2σ; the std of a standard normal truncated to ±2 is 0.87962566, so divide
      // by it to get variance exactly 1/fanIn.
      const std = Math.sqrt(1 / init.fanIn) / 0.8796256610342398;
      for (let i = 0; i < x.length; i++) {
        let z = rng.normal();
        while (z < -2 || z > 2) z = rng.normal();
        x[i] = z * std;
      }
      return;
    }
    default: { const never: never = init; throw new Error(`unknown init ${JSON.stringify(never)}`); }
  }
}
