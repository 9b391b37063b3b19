import { after } from 'node:test';
import { createEngine, type Engine } from '../../src/index.js';
import { Rng } from '../../src/tensor/rng.js';

/**
 * Wasm engines with 1 and 2 threads, created once per test file. minParallelWork 0 forces even the
 * small test shapes through the multi-thread split, so every work partition is exercised.
 */
export async function wasmEngines(): Promise<Engine[]> {
  const engines = [await createEngine({ backend: 'wasm', threads: 1 }), await createEngine({ backend: 'wasm', threads: 2, minParallelWork: 0 })];
  after(async () => { for (const e of engines) await e.dispose(); });
  return engines;
}

export function label(e: Engine): string { return `wasm ${e.info.simd} ${e.info.threads}T`; }

/** A random f32 buffer in engine memory and a Float64 copy of it for the reference. */
export function randomPair(e: Engine, rng: Rng, n: number, scale = 1): { w: Float32Array; r: Float32Array } {
  const w = e.allocF32(n);
  rng.fillUniform(w, scale);
  return { w, r: Float32Array.from(w) };
}

export { Rng };
