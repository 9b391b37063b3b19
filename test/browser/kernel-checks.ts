// Runs in a module Worker of a test page (test/browser.test.ts): creates the browser engine and
// checks its wasm kernels against the reference kernels on odd shapes (products with every
// transpose and accumulation, a causal attention forward and backward, LayerNorm, the bf16
// product), then posts what it found: the engine's threads and notes and each check's worst error.
import { createBrowserEngine } from '../../src/platform/browser/engine.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { packBf16Weights, roundToBf16 } from '../../src/kernels/bf16.js';
import { Rng } from '../../src/tensor/rng.js';
import { attentionAgainstReference } from '../../src/kernels/wasm/self-test.js';

interface Check { readonly name: string; readonly worst: number }
const scope = globalThis as unknown as { postMessage(m: unknown): void; crossOriginIsolated?: boolean; location: { search: string } };

function worst(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let w = 0;
  for (let i = 0; i < want.length; i++) { const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)); if (!(e <= w)) w = e; }
  return w;
}

async function main(): Promise<void> {
  const threads = Number(new URLSearchParams(scope.location.search).get('threads') ?? '2');
  const e = await createBrowserEngine({ threads });
  const rng = new Rng(7), checks: Check[] = [];
  const filled = (n: number): Float32Array => { const v = e.allocF32(n, 'check'); rng.fillUniform(v, 1); return v; };
  const copy = (x: Float32Array): Float32Array => Float32Array.from(x);
  for (const d of [{ m: 67, n: 83, k: 45 }, { m: 45, n: 129, k: 70, transA: true, accumulate: true }, { m: 96, n: 33, k: 101, transB: true },
    { m: 3, n: 517, k: 259 }, { m: 1, n: 300, k: 77, accumulate: true }]) {
    const a = filled(d.m * d.k), b = filled(d.k * d.n), c = filled(d.m * d.n), want = copy(c);
    e.kernels.matmul(d, a, b, c);
    referenceKernels.matmul(d, copy(a), copy(b), want);
    checks.push({ name: `matmul ${d.m}×${d.k}·${d.k}×${d.n}${d.transA ? ' Aᵀ' : ''}${'transB' in d ? ' Bᵀ' : ''}${d.accumulate ? ' +C' : ''}`, worst: worst(c, want) });
  }
  {
    const r = attentionAgainstReference(e, 150, 3, 40, filled);
    checks.push({ name: 'attention forward 150×150×3×40 causal', worst: worst(...r.out) }, { name: 'attention dQ', worst: worst(...r.dq) },
      { name: 'attention dK', worst: worst(...r.dk) }, { name: 'attention dV', worst: worst(...r.dv) });
  }
  {
    const rows = 37, cols = 129, x = filled(rows * cols), g = filled(cols), bias = filled(cols), y = e.allocF32(rows * cols, 'check');
    const mean = e.allocF32(rows, 'check'), rstd = e.allocF32(rows, 'check');
    const want = new Float32Array(rows * cols), wm = new Float32Array(rows), wr = new Float32Array(rows);
    e.kernels.layerNormForward({ rows, cols, eps: 1e-5 }, x, g, bias, y, mean, rstd);
    referenceKernels.layerNormForward({ rows, cols, eps: 1e-5 }, copy(x), copy(g), copy(bias), want, wm, wr);
    checks.push({ name: 'layerNorm 37×129', worst: worst(y, want) });
  }
  {
    const m = 2, k = 96, n = 130, a = filled(m * k), w = filled(k * n);
    roundToBf16(w);
    const w16 = e.allocU16(k * n, 'check');
    packBf16Weights(w, k, n, w16);
    const c = e.allocF32(m * n, 'check'), want = new Float32Array(m * n);
    e.kernels.matmulBf16({ m, n, k }, a, w16, null, c);
    referenceKernels.matmul({ m, n, k }, copy(a), copy(w), want);
    checks.push({ name: 'matmulBf16 2×96·96×130', worst: worst(c, want) });
  }
  scope.postMessage({ threads: e.info.threads, simd: e.info.simd, notes: e.info.notes, isolated: scope.crossOriginIsolated === true, checks });
  await e.dispose();
}

main().catch((err: unknown) => scope.postMessage({ error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }));
