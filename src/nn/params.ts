// Parameters, gradients and AdamW moments as four identical flat arenas with named views, so the
// optimiser is one flat loop and a checkpoint is one list of named tensors.
import type { Engine } from '../engine.js';
import { packBf16Weights, roundToBf16 } from '../kernels/bf16.js';
import { Rng } from '../tensor/rng.js';

/**
 * How the weight matrices are held for decoding: 'f32', or 'bf16' — each matrix rounded to bf16
 * (in place: the float32 values become the bf16 values) plus a packed bf16 copy that the few-row
 * products read at half the bytes (kernels/bf16.ts). Arithmetic stays float32 either way.
 */
export type WeightFormat = 'f32' | 'bf16';
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'bf16'];

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
  /** The packed bf16 copy of a weight matrix [k, n] while the store's format is 'bf16'; else null. */
  half: Uint16Array | null;
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
        half: null,
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

  /** Frees the arenas and bf16 copies (engine memory); the store is unusable afterwards. Twice is harmless. */
  dispose(engine: Engine): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.list) if (p.half) { engine.free(p.half); p.half = null; }
    for (const a of [this.values, this.grads, this.m, this.v]) engine.free(a);
  }

  private disposed = false;
  private format: WeightFormat = 'f32';

  get weightFormat(): WeightFormat { return this.format; }

  /**
   * Holds the weight matrices (decayed 2-D parameters: linear maps, not embedding tables) as
   * `format`. 'bf16' rounds them in place and adds packed copies (2 bytes a weight). It cannot be
   * undone — the float32 bits are gone — so 'f32' on a bf16 store is refused: load the checkpoint
   * again instead. Training a bf16 store is refused too (its copies would go stale); values
   * written later by loadStateDict are rounded and packed again (syncHalves).
   */
  setWeightFormat(engine: Engine, format: WeightFormat): void {
    if (!WEIGHT_FORMATS.includes(format)) throw new RangeError(`weight format must be one of ${WEIGHT_FORMATS.join(', ')}, got '${String(format)}'`);
    if (format === this.format) return;
    if (format === 'f32') {
      throw new Error('the weights were rounded to bf16 earlier; they cannot be made float32 again: load the checkpoint again for float32 weights');
    }
    // Every copy is allocated before any weight is rounded: running out of memory leaves the store as it was.
    const matrices = this.list.filter((p) => isWeightMatrix(p.spec));
    const halves: Uint16Array[] = [];
    try {
      for (const p of matrices) halves.push(engine.allocU16(p.size, `${p.spec.name} (bf16)`));
    } catch (e) {
      for (const h of halves) engine.free(h);
      throw e;
    }
    matrices.forEach((p, i) => { p.half = halves[i]!; });
    this.format = format;
    this.syncHalves();
  }

  /** After the float32 values of a bf16 store were written (loading weights): rounds them again and refreshes the packed copies. */
  syncHalves(): void {
    if (this.format !== 'bf16') return;
    for (const p of this.list) {
      if (!p.half) continue;
      const [k, n] = p.spec.shape as [number, number];
      roundToBf16(p.value);
      packBf16Weights(p.value, k, n, p.half);
    }
  }
}

/** Weight matrices: the decayed 2-D parameters (linear maps [in, out]); embedding tables are not decayed. */
export const isWeightMatrix = (spec: ParamSpec): boolean => spec.decay && spec.shape.length === 2;

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
