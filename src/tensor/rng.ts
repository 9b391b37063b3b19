/**
 * A small seeded PRNG (mulberry32 over a 32-bit state): deterministic across runs and platforms.
 * Library code takes an Rng explicitly; nothing uses Math.random.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** The whole generator state (for checkpoints); new Rng(0).setState(s) resumes the sequence exactly. */
  getState(): number { return this.state; }
  setState(state: number): this {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`Rng: state must be a u32, got ${state}`);
    this.state = state;
    return this;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number { return this.nextU32() / 4294967296; }

  /** Uniform integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fills with uniform values in [-scale, scale). */
  fillUniform(a: { length: number; [i: number]: number }, scale = 1): typeof a {
    for (let i = 0; i < a.length; i++) a[i] = (this.next() * 2 - 1) * scale;
    return a;
  }
}
