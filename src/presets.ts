// Named configurations (spec §9) that the CLI starts from; every field can be overridden.
import { MODEL_DEFAULTS, type ModelConfig } from './models/perceiver-ar/config.js';
import { DATA_DEFAULTS } from './data/registry.js';
import type { DataConfig } from './data/modality.js';
import { TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
import { XL_DEFAULTS, type XLConfig } from './models/transformer-xl/config.js';
import { PORT_ARCHITECTURE } from './models/perceiver-ar/port-weights.js';

export interface Preset {
  readonly architecture?: 'perceiver-ar';
  readonly description: string;
  readonly model: ModelConfig;
  readonly train: TrainConfig;
  readonly data: DataConfig;
}

/** The Transformer-XL baseline (spec §8), trained and evaluated by the same CLI. */
export interface XLPreset {
  readonly architecture: 'transformer-xl';
  readonly description: string;
  readonly model: XLConfig;
  readonly train: TrainConfig;
  readonly data: DataConfig;
}

export type AnyPreset = Preset | XLPreset;

const copyTask = (M: number, N: number, L: number, C: number, heads: number): ModelConfig => ({
  ...MODEL_DEFAULTS, contextLength: M, numLatents: N, numLayers: L, width: C, embedDim: C, numHeads: heads, crossAttendHeads: heads,
  // Absolute sinusoids (spec §9: the mirror map is linear in them); base 10000 learned fastest in
  // our measurements (docs/perceiver-ar.md).
  position: 'sinusoidal', maxWavelength: 10000, maxPosition: M + 1, dropout: 0,
});

const enwik8Small: ModelConfig = {
  ...MODEL_DEFAULTS, contextLength: 4096, numLatents: 512, numLayers: 8, width: 512, embedDim: 512, numHeads: 8, crossAttendHeads: 8,
  position: 'rotary', rotaryFraction: 0.5, maxWavelength: 4096, maxPosition: 4097, dropout: 0.1,
  crossAttendDropout: 0.5, crossAttendDropoutMode: 'subsample',
};

/** An image model: context M (≥ the image's events − 1), N latents, coordinate tables up to 34 (images up to 33 wide). */
function imageModel(M: number, N: number): ModelConfig {
  return {
    ...MODEL_DEFAULTS, vocabSize: 259, contextLength: M, numLatents: N, numLayers: 4, width: 256, embedDim: 256, numHeads: 4, crossAttendHeads: 4,
    position: 'learned', positionDims: 3, maxPosition: 34, dropout: 0.1,
  };
}

/** A music model: performance events (spec music §1), rotary positions (pieces of any length), context M, N latents. */
function musicModel(M: number, N: number): ModelConfig {
  return {
    ...MODEL_DEFAULTS, vocabSize: 311, contextLength: M, numLatents: N, numLayers: 4, width: 256, embedDim: 256, numHeads: 4, crossAttendHeads: 4,
    position: 'rotary', rotaryFraction: 0.5, maxWavelength: M, maxPosition: M + 1, dropout: 0.1,
  };
}

/** A copy-task preset: the built-in mirrored generator, stop at 100% greedy accuracy. */
const copyPreset = (description: string, model: ModelConfig, train: Partial<TrainConfig>): Preset => ({
  description, model,
  train: { ...TRAIN_DEFAULTS, warmupSteps: 50, evalEvery: 100, evalBatches: 2, targetAccuracy: 1, ...train },
  data: { ...DATA_DEFAULTS, data: 'mirrored' },
});

export const PRESETS: Readonly<Record<string, AnyPreset>> = {
  'mirrored-32': copyPreset('spec §9 mirrored-32: copy task, M 32, N 16, L 1, C 1024, 16 heads, sinusoidal positions',
    copyTask(32, 16, 1, 1024, 16), { batchSize: 16, steps: 3000, learningRate: 3e-4, warmupSteps: 100 }),
  'mirrored-32-small': copyPreset('mirrored-32 scaled down to C 64, 4 heads (trains to 100% in seconds)',
    copyTask(32, 16, 1, 64, 4), { batchSize: 16, steps: 3000, learningRate: 2e-3 }),
  // One 64-dim head: a sharp mirror match over 1024 positions needs many frequency pairs in one
  // head; with 4 heads of 16 dims the copy was not found in 5,750 steps. No self-attention layer:
  // the copy is one cross-attend lookup; L = 0 steps are 25% cheaper and, in both seeds we ran,
  // left the plateau sooner (docs/perceiver-ar.md).
  'mirrored-1024': copyPreset('copy task at a 1024-token context: M 1024, N 512, L 0 (cross-attend only), C 64, 1 head of 64, sinusoidal positions',
    copyTask(1024, 512, 0, 64, 1), { batchSize: 4, steps: 20000, learningRate: 2e-3, evalEvery: 250, timeBudgetSeconds: 600, seed: 0 }),
  // The PyTorch port's architecture (docs/interop.md): built and tried here, exported to its trainer.
  'port-mirrored-32': copyPreset("the copy task on the PyTorch port's architecture (M 32, N 16, L 2, C 64, 4 heads, a learned table and rotary): exports with perceiver-ar export",
    { ...copyTask(32, 16, 2, 64, 4), ...PORT_ARCHITECTURE, position: 'learned+rotary', rotaryFraction: 0.5, maxPosition: 32 },
    { batchSize: 16, steps: 3000, learningRate: 2e-3 }),
  'enwik8-small': {
    description: 'spec §9 enwik8-style: UTF-8 bytes, M 4096, N 512, L 8, C 512, 8 heads, rotary, cross-attend dropout 0.5 (needs --dataPath)',
    model: enwik8Small,
    train: { ...TRAIN_DEFAULTS, batchSize: 4, steps: 100000, learningRate: 3e-4, warmupSteps: 1000, schedule: 'cosine', evalEvery: 500 },
    data: { ...DATA_DEFAULTS, data: 'text' },
  },
  'transformer-enwik8-small': {
    description: 'baseline (spec §8): the decoder-only Transformer as N = M, otherwise enwik8-small (9 causal layers over 4096 tokens)',
    model: { ...enwik8Small, numLatents: 4096, crossAttendDropout: 0 },
    train: { ...TRAIN_DEFAULTS, batchSize: 1, steps: 100000, learningRate: 3e-4, warmupSteps: 1000, schedule: 'cosine', evalEvery: 500 },
    data: { ...DATA_DEFAULTS, data: 'text' },
  },
  // Images (spec images §2–§3, docs/images.md): the whole image in context, learned x/y/channel
  // tables summed, no rotary; sized to train on 2 cores (the reference uses L 60, C 1024).
  'fashion-mnist': {
    description: 'grey 28×28 images (785 events: the whole image in context), M 784, N 196, L 4, C 256, learned x/y/channel positions (needs --dataPath: IDX files or PNGs)',
    model: imageModel(784, 196),
    train: { ...TRAIN_DEFAULTS, batchSize: 8, steps: 20000, learningRate: 1e-3, warmupSteps: 200, schedule: 'cosine', evalEvery: 250, evalBatches: 8 },
    data: { ...DATA_DEFAULTS, data: 'images' },
  },
  'synthetic-rgb-32': {
    description: 'generated 32×32 RGB images (3,073 events), M 3072, N 256, L 4, C 256, learned x/y/channel positions (built-in data)',
    model: imageModel(3072, 256),
    train: { ...TRAIN_DEFAULTS, batchSize: 4, steps: 5000, learningRate: 1e-3, warmupSteps: 200, schedule: 'cosine', evalEvery: 250, evalBatches: 4 },
    data: { ...DATA_DEFAULTS, data: 'synthetic-images' },
  },
  // Music (spec music, docs/music.md): performance events (vocabulary 311), rotary positions, crops within pieces.
  'music': {
    description: 'MIDI files (performance events): M 2048, N 256, L 4, C 256, 4 heads, rotary, augmented (needs --dataPath: a directory of .mid files)',
    model: musicModel(2048, 256),
    train: { ...TRAIN_DEFAULTS, batchSize: 4, steps: 20000, learningRate: 5e-4, warmupSteps: 200, schedule: 'cosine', evalEvery: 250, evalBatches: 8 },
    data: { ...DATA_DEFAULTS, data: 'music', augment: true, validationFraction: 0.1 },
  },
  'synthetic-music': {
    description: 'generated pieces whose themes return transposed 98 events later: M 256, N 64, L 4, C 128, 4 heads, rotary (built-in data)',
    model: { ...musicModel(256, 64), width: 128, embedDim: 128 },
    train: { ...TRAIN_DEFAULTS, batchSize: 16, steps: 3000, learningRate: 1e-3, warmupSteps: 200, schedule: 'cosine', evalEvery: 250, evalBatches: 4 },
    data: { ...DATA_DEFAULTS, data: 'synthetic-music' },
  },
  'transformer-xl-enwik8-small': {
    architecture: 'transformer-xl',
    description: 'baseline (spec §8): Transformer-XL, 9 layers of C 512, 8 heads, segments of 512 with a 512-row memory, rotary relative positions (needs --dataPath)',
    model: { ...XL_DEFAULTS, contextLength: 4096, segmentLength: 512, memoryLength: 512, numLayers: 9, width: 512, numHeads: 8 },
    train: { ...TRAIN_DEFAULTS, batchSize: 1, steps: 100000, learningRate: 3e-4, warmupSteps: 1000, schedule: 'cosine', evalEvery: 500 },
    data: { ...DATA_DEFAULTS, data: 'text' },
  },
};

export function presetNamed(name: string): AnyPreset {
  const p = PRESETS[name];
  if (!p) throw new RangeError(`unknown preset '${name}'; available: ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/** A Perceiver AR (or N = M Transformer) preset by name; a Transformer-XL name is an error. */
export function perceiverPresetNamed(name: string): Preset {
  const p = presetNamed(name);
  if (p.architecture === 'transformer-xl') throw new RangeError(`preset '${name}' is a Transformer-XL preset, not a Perceiver AR one`);
  return p;
}
