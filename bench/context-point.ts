// One point of the context sweep (bench/context.ts), run in its own process so that its peak
// memory is its own: `node dist/bench/context-point.js --model=perceiver-ar --context=N
// [--threads=N] [--crossAttendDropout=p] [--stepLimitSeconds=s] [--steps=n]`. Prints one JSON line.
import { createEngine } from '../src/node.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { XL_DEFAULTS, type XLConfig } from '../src/models/transformer-xl/config.js';
import { TransformerXL } from '../src/models/transformer-xl/model.js';
import { streamSource } from '../src/data/source.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/tensor/rng.js';

export const SWEEP_MODELS = ['perceiver-ar', 'transformer', 'transformer-xl'] as const;
export type SweepModel = typeof SWEEP_MODELS[number];

/** Transformer-XL in the sweep: segments of 512 with a 512-row memory per layer. */
export function sweepXLConfig(M: number): XLConfig {
  return { ...XL_DEFAULTS, contextLength: M, segmentLength: Math.min(512, M), memoryLength: 512, numLayers: 6, width: 512, numHeads: 8,
    maxWavelength: 4096, dropout: 0 };
}

/** Target tokens a step trains on: N for Perceiver AR, every position for the other two. */
export function targetsPerStep(model: SweepModel, M: number): number { return model === 'perceiver-ar' ? Math.min(512, M) : M; }

/** The sweep's shared shape (issue: 6 layers, C 512, 8 heads, batch 1); N = 512 for Perceiver AR, N = M for the Transformer. */
export function sweepConfig(model: Exclude<SweepModel, 'transformer-xl'>, M: number, crossAttendDropout: number): ModelConfig {
  return {
    ...MODEL_DEFAULTS, vocabSize: 259, contextLength: M, numLatents: model === 'transformer' ? M : Math.min(512, M), numLayers: 6,
    width: 512, embedDim: 512, numHeads: 8, crossAttendHeads: 8, position: 'rotary', rotaryFraction: 0.5,
    maxWavelength: Math.max(4096, M), maxPosition: M + 1, dropout: 0,
    crossAttendDropout: model === 'transformer' ? 0 : crossAttendDropout, crossAttendDropoutMode: 'subsample',
  };
}

export interface PointResult {
  readonly model: SweepModel;
  readonly context: number;
  readonly ok: boolean;
  /** Median step time (ms) over the timed steps; the first step's time when only one was run. */
  readonly stepMs: number | null;
  readonly steps: number;
  readonly peakRssMiB: number;
  readonly engineMiB: number;
  /** Keys per chunk when the cross-attend streamed them, 0 when held. */
  readonly keyChunk: number;
  readonly error: string | null;
}

function arg(argv: readonly string[], key: string): string | undefined {
  return argv.find((a) => a.startsWith(`--${key}=`))?.slice(key.length + 3);
}

async function main(argv: readonly string[]): Promise<void> {
  const model = arg(argv, 'model') as SweepModel;
  const M = Number(arg(argv, 'context'));
  const threads = arg(argv, 'threads') === undefined ? undefined : Number(arg(argv, 'threads'));
  const dropout = Number(arg(argv, 'crossAttendDropout') ?? 0);
  const limitMs = 1000 * Number(arg(argv, 'stepLimitSeconds') ?? 120);
  if (!SWEEP_MODELS.includes(model) || !Number.isInteger(M) || M < 2) throw new Error(`usage: --model=${SWEEP_MODELS.join('|')} --context=N`);
  const engine = await createEngine({ threads });
  const rss = (): number => process.resourceUsage().maxRSS / 1024;
  const result = (fields: Partial<PointResult>): PointResult => ({
    model, context: M, ok: false, stepMs: null, steps: 0, peakRssMiB: rss(), engineMiB: engine.bytesInUse() / 2 ** 20, keyChunk: 0, error: null,
    ...fields,
  });
  let out: PointResult;
  try {
    const net = model === 'transformer-xl' ? new TransformerXL(engine, sweepXLConfig(M), 1) : new PerceiverAR(engine, sweepConfig(model, M, dropout), 1);
    const rng = new Rng(7), ids = new Int32Array(M + 2);
    for (let i = 0; i < ids.length; i++) ids[i] = 3 + rng.int(256);
    const trainer = new Trainer(engine, net, { ...TRAIN_DEFAULTS, batchSize: 1, learningRate: 1e-4, warmupSteps: 1, minCropLength: M }, streamSource(ids, 0, 'random bytes'));
    const times: number[] = [];
    // Every crop is a full M tokens (minCropLength = M): shorter, padded crops would skip masked
    // attention tiles and, with subsampling, keep fewer keys. The first step allocates the workspace (and the k|v store); it is timed too, and is all we
    // run when it is slow, unless --steps asks for more (then the first is left out of the median).
    const steps = arg(argv, 'steps') === undefined ? 3 : Number(arg(argv, 'steps'));
    for (let s = 0; s < steps; s++) {
      const t = performance.now();
      trainer.trainStep();
      times.push(performance.now() - t);
      if (s === 0 && times[0]! > Math.min(limitMs, 20_000) && arg(argv, 'steps') === undefined) break;
    }
    const timed = times.length > 1 ? times.slice(1).sort((a, b) => a - b) : times;
    const stepMs = timed[Math.floor((timed.length - 1) / 2)]!;
    out = result({ ok: stepMs <= limitMs, stepMs, steps: times.length, keyChunk: net instanceof PerceiverAR ? net.lastKeyChunk : 0,
      error: stepMs <= limitMs ? null : `a step took ${(stepMs / 1000).toFixed(1)} s, over the ${limitMs / 1000} s limit` });
  } catch (e) {
    out = result({ error: e instanceof Error ? e.message : String(e) });
  }
  console.log(JSON.stringify(out));
  await engine.dispose();
}

if (process.argv[1]?.endsWith('context-point.js')) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.log(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    process.exitCode = 1;
  });
}
