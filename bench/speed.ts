// The figures `bench browser` compares between Node and a browser, measured the same way on any
// platform: the wasm matmul's GFLOP/s (1024³), a training step's tokens/s (train-small-b8) and
// cached generation's tokens/s (enwik8-small, bf16 weights, after a 3,584-token prompt).
import type { Engine } from '../src/engine.js';
import { perceiverPresetNamed as presetNamed } from '../src/presets.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { stepsPerSecond } from '../src/sample/generate.js';
import { streamSource } from '../src/data/source.js';
import { Trainer } from '../src/train/trainer.js';
import { cachedGeneration, decodeModel, matmulRate, syntheticStream, TRAIN_CASES } from './model.js';
import { median, timeMedian } from './timing.js';

export interface SpeedFigures { readonly matmulGflops: number; readonly trainTokensPerSecond: number; readonly decodeTokensPerSecond: number }

export function measureSpeed(e: Engine, progress: (line: string) => void = () => {}): SpeedFigures {
  // Warmed past a browser's tier-up (a wasm function runs in the baseline compiler until it is hot,
  // and a call in progress keeps its tier), then timed: the better of two medians of 7.
  progress('matmul 1024³…');
  for (let i = 0; i < 3; i++) matmulRate(e);
  const matmulGflops = Math.max(matmulRate(e), matmulRate(e));
  const tc = TRAIN_CASES[0]!, c = tc.config();
  progress(`${tc.name}: training steps…`);
  const model = new PerceiverAR(e, c, 1);
  const trainer = new Trainer(e, model, { ...presetNamed('enwik8-small').train, batchSize: tc.batch }, streamSource(syntheticStream(200_000, 3), 0.01, 'synthetic'));
  const step = timeMedian(() => trainer.trainStep(), { warmup: 1, repeat: 3 }).median;
  model.releaseBuffers();
  model.dispose();
  progress('enwik8-small [bf16]: cached generation…');
  const decoder = decodeModel(e, presetNamed('enwik8-small').model, 'bf16'), prompt = syntheticStream(3584, 5);
  const generation = cachedGeneration(decoder, prompt), run = (n: number): number => stepsPerSecond(generation(n));
  run(8);
  const decodeTokensPerSecond = median([run(96), run(96), run(96)]);
  decoder.dispose();
  return { matmulGflops, trainTokensPerSecond: (tc.batch * c.numLatents) / (step / 1000), decodeTokensPerSecond };
}
