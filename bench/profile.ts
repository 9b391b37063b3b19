// `npm run bench -- profile`: where a training step's time goes, kernel by kernel, for the small
// config of issue 12 (M 1024, N 256, L 4, C 256, batch 8) and enwik8-small (batch 4), with the
// native BLAS on and off. Every kernel call is timed on the calling thread (kernels are
// synchronous: the pool's threads finish before a call returns); what is left of the step is
// JavaScript between kernels (batch building, layout, masks, optimizer bookkeeping).
import type { Engine, KernelSet } from '../src/node.js';
import { createEngine } from '../src/node.js';
import type { ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { perceiverPresetNamed } from '../src/presets.js';
import { streamSource } from '../src/data/source.js';
import { Trainer } from '../src/train/trainer.js';
import { runDecodeProfile } from './decode-profile.js';
import { syntheticStream } from './model.js';
import { timeMedian } from './harness.js';

export interface KernelProfile { readonly name: string; readonly ms: number; readonly calls: number; readonly flops: number }

/** The engine with every kernel wrapped in a timer; matmuls are split by how they run. */
export function profiledEngine(e: Engine): { engine: Engine; take: () => KernelProfile[] } {
  const totals = new Map<string, { ms: number; calls: number; flops: number }>();
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(e.kernels)) {
    wrapped[name] = (...args: unknown[]): unknown => {
      const t = performance.now();
      const out = (fn as (...a: unknown[]) => unknown)(...args);
      const ms = performance.now() - t;
      const d = args[0] as { m?: number; n?: number; k?: number; batch?: number; queries?: number; keys?: number; heads?: number; headDim?: number };
      const label = name === 'matmul' ? (d.m! <= 8 ? 'matmul (≤ 8 rows)' : d.m! * d.n! * d.k! < 32768 ? 'matmul (small)' : 'matmul') : name;
      const s = totals.get(label) ?? { ms: 0, calls: 0, flops: 0 };
      s.ms += ms;
      s.calls++;
      // Matmul: 2mnk per matrix. Attention: the two products (scores, weighted values) at every
      // query-key pair, masked or not (4·Tq·Tk·D per head; the backward does twice that).
      if (name === 'matmul') s.flops += 2 * d.m! * d.n! * d.k! * (d.batch ?? 1);
      if (name.startsWith('attention') && d.queries) s.flops += (name === 'attentionBackward' ? 8 : 4) * d.batch! * d.heads! * d.queries * d.keys! * d.headDim!;
      totals.set(label, s);
      return out;
    };
  }
  return {
    engine: { ...e, kernels: wrapped as unknown as KernelSet },
    take: () => {
      const out = [...totals].map(([name, s]) => ({ name, ms: s.ms, calls: s.calls, flops: s.flops })).sort((a, b) => b.ms - a.ms);
      totals.clear();
      return out;
    },
  };
}

export const SMALL_CONFIG = (): ModelConfig => ({
  ...perceiverPresetNamed('enwik8-small').model, contextLength: 1024, numLatents: 256, numLayers: 4, width: 256, embedDim: 256, numHeads: 4,
  crossAttendHeads: 4, maxWavelength: 1024, maxPosition: 1025,
});

/** Profiles `steps` training steps (after one warm-up step); returns per-kernel ms per step and the step time. */
export function profileTraining(e: Engine, c: ModelConfig, batchSize: number, steps: number): { stepMs: number; kernels: KernelProfile[] } {
  const { engine, take } = profiledEngine(e);
  const preset = perceiverPresetNamed('enwik8-small');
  const model = new PerceiverAR(engine, c, 1);
  const trainer = new Trainer(engine, model, { ...preset.train, batchSize }, streamSource(syntheticStream(200_000, 3), 0.01, 'synthetic'));
  trainer.trainStep();
  take();
  const t = performance.now();
  for (let i = 0; i < steps; i++) trainer.trainStep();
  const stepMs = (performance.now() - t) / steps;
  const kernels = take().map((k) => ({ ...k, ms: k.ms / steps, calls: k.calls / steps, flops: k.flops / steps }));
  model.releaseBuffers();
  return { stepMs, kernels };
}

/** Matmul shapes of the models above and around the threshold, wasm vs BLAS: where BLAS_MIN_WORK and the few-rows rule come from. */
function blasThreshold(wasm: Engine, blas: Engine): void {
  console.log('\n| m×n×k | wasm µs | BLAS µs | BLAS speed-up |\n|---|---:|---:|---:|');
  for (const [m, n, k] of [[1, 512, 512], [4, 512, 2048], [8, 1536, 512], [16, 64, 64], [32, 32, 32], [32, 64, 64], [64, 64, 64], [128, 128, 128],
    [256, 256, 256], [2048, 1024, 256], [2048, 256, 1024]] as const) {
    const time = (e: Engine): number => {
      const mark = e.mark(), a = e.allocF32(m * k), b = e.allocF32(k * n), c = e.allocF32(m * n);
      a.fill(0.5); b.fill(0.25);
      const { median } = timeMedian(() => e.kernels.matmul({ m, n, k }, a, b, c), { repeat: 15, warmup: 3 });
      e.release(mark);
      return median * 1000;
    };
    time(wasm); time(blas);
    const w = time(wasm), x = time(blas);
    console.log(`| ${m}×${n}×${k} | ${w.toFixed(1)} | ${x.toFixed(1)} | ${(w / x).toFixed(2)}× |`);
  }
}

const PROFILE_USAGE = 'options: --threads=N, --steps=N (training), --decode [--tokens=N] [--case=enwik8-small|small|giant-midi-shape]';

/** A positive integer option --name=N, or null when it is not given. */
function intOption(argv: readonly string[], name: string): number | null {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return null;
  const v = Number(a.slice(name.length + 3));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got '${a.slice(name.length + 3)}'`);
  return v;
}

export async function runProfile(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => !/^--(threads|steps|tokens|case)=/.test(a) && a !== '--decode');
  if (unknown.length > 0) throw new Error(`unknown profile option${unknown.length > 1 ? 's' : ''} ${unknown.map((a) => `'${a}'`).join(', ')}; ${PROFILE_USAGE}`);
  const threads = intOption(argv, 'threads') ?? 2, steps = intOption(argv, 'steps') ?? 3;
  if (argv.includes('--decode')) {
    const picked = argv.find((a) => a.startsWith('--case='))?.slice(7);
    return runDecodeProfile(threads, intOption(argv, 'tokens'), picked ? [picked] : ['enwik8-small']);
  }
  if (argv.some((a) => /^--(tokens|case)=/.test(a))) throw new Error(`--tokens and --case apply to --decode; ${PROFILE_USAGE}`);
  const cases: [string, ModelConfig, number][] = [['small (M 1024, N 256, L 4, C 256), batch 8', SMALL_CONFIG(), 8],
    ['enwik8-small, batch 4', perceiverPresetNamed('enwik8-small').model, 4]];
  const wasm = await createEngine({ backend: 'wasm', threads, blas: 'off' }), native = await createEngine({ backend: 'wasm', threads, blas: 'auto', blasMinWork: 1, blasMaxWasmRows: 0 });
  if (native.info.blas) blasThreshold(wasm, native);
  await wasm.dispose(); await native.dispose();
  for (const blas of ['auto', 'off'] as const) {
    const e = await createEngine({ backend: 'wasm', threads, blas });
    try {
      for (const [label, c, B] of cases) {
        const r = profileTraining(e, c, B, steps);
        const inKernels = r.kernels.reduce((s, k) => s + k.ms, 0);
        console.log(`\n${label}; ${e.info.blas ? `BLAS ${e.info.blas}` : 'wasm matmul (BLAS off)'}; ${threads} threads: ` +
          `${r.stepMs.toFixed(1)} ms/step, ${((B * c.numLatents) / (r.stepMs / 1000)).toFixed(0)} target tokens/s`);
        console.log('| kernel | ms/step | share | calls/step | GFLOP/s |\n|---|---:|---:|---:|---:|');
        for (const k of r.kernels) {
          console.log(`| ${k.name} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / r.stepMs).toFixed(1)}% | ${k.calls.toFixed(0)} | ` +
            `${k.flops ? (k.flops / (k.ms * 1e6)).toFixed(1) : ''} |`);
        }
        console.log(`| (JavaScript between kernels) | ${(r.stepMs - inKernels).toFixed(1)} | ${((100 * (r.stepMs - inKernels)) / r.stepMs).toFixed(1)}% | | |`);
      }
    } finally {
      await e.dispose();
    }
  }
  return 0;
}
