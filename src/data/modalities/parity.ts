// Parity (data=parity, `train --task=parity`; spec adatape §6): sequences of ±1 and 0 symbols whose
// label is the parity of the +1 count, generated fresh for training, with a fixed seeded test set.
// The sequence length is the model's (sequenceLength, or --length).
import { CLASSIFIER_DEFAULTS } from '../../models/adatape/config.js';
import { intOption } from '../../options.js';
import { Rng } from '../../tensor/rng.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../train/config.js';
import type { ClassificationModality } from '../modality.js';
import { parityBatch, PARITY_SYMBOLS } from '../parity.js';

const TEST_SEED = 0x7e57;

/** Parity defaults (spec adatape §6): batch 128, AdamW lr 1e-3 with a cosine schedule, 2,000 steps. */
export const PARITY_TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  ...TRAIN_DEFAULTS, batchSize: 128, steps: 2000, learningRate: 1e-3, warmupSteps: 100, schedule: 'cosine', weightDecay: 1e-4,
  evalEvery: 250, evalBatches: 16,
});

export const parityModality: ClassificationModality = {
  name: 'parity', noun: 'parity (its examples are generated)', task: 'classification', taskName: 'parity', takesLength: true,
  summary: 'parity of generated ±1/0 sequences (the length is the model\'s sequenceLength, or --length)',
  keys: {},
  inputs: () => [],
  exampleNoun: 'examples',
  fitsModel: (c) => c.input === 'symbols',
  open: (_c, model) => {
    const length = model.sequenceLength ?? CLASSIFIER_DEFAULTS.sequenceLength;
    return {
      description: `parity, length ${length}`,
      modelDefaults: { ...CLASSIFIER_DEFAULTS, symbols: PARITY_SYMBOLS, numClasses: 2, sequenceLength: length },
      trainDefaults: PARITY_TRAIN_DEFAULTS,
      makeBatch: (rng, B) => parityBatch(rng, B, length),
      testSet: (B, batches) => {
        const rng = new Rng(TEST_SEED + length);
        return Array.from({ length: batches }, () => parityBatch(rng, B, length));
      },
      testExamples: null,
      mismatch: (c) => (c.input !== 'symbols' ? `parity needs input 'symbols', the model has input '${c.input}'`
        : c.sequenceLength !== length ? `the model reads sequences of ${c.sequenceLength}, the data has ${length}` : null),
    };
  },
  evalOptions: [intOption('evalBatches', 1)],
};
