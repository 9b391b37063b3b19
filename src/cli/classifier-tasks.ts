// What the classifier commands train and evaluate on: parity (generated) or labelled images from
// --dataPath (AdaTape on images, spec adatape §2): the model defaults each task starts from, its
// training batches and its fixed test set. Also the bank-read heatmap of an image AdaTape model.
import { parityBatch, PARITY_SYMBOLS } from '../data/parity.js';
import { addBankReads, imageClassTestSet, randomImageClassBatch } from '../data/image-classes.js';
import { bankReadFigure } from '../data/heatmap.js';
import type { Image } from '../data/images.js';
import { CLASSIFIER_DEFAULTS, candidatesOf, patchGrid, type ClassifierConfig } from '../models/adatape/config.js';
import type { ClassifierBatch, SequenceClassifier } from '../models/adatape/model.js';
import { readLabelledImages, type LabelledImageDataset } from '../platform/node/image-files.js';
import { Rng } from '../tensor/rng.js';
import { UsageError } from './args.js';

export type ClassifierTaskName = 'parity' | 'images';

export interface ClassifierTask {
  readonly name: ClassifierTaskName;
  /** One line for the log. */
  readonly description: string;
  /** Model config to start from (the user's --KEY=VALUE go on top). */
  readonly modelDefaults: ClassifierConfig;
  readonly makeBatch: (rng: Rng, batchSize: number) => ClassifierBatch;
  /** The fixed test set: `batches` batches of batchSize (images: the first batches·batchSize test images, all when batches is 0). */
  readonly testSet: (batchSize: number, batches: number) => ClassifierBatch[];
  /** A model config that cannot run on this data, in words; null when it fits. */
  readonly mismatch: (c: ClassifierConfig) => string | null;
}

const TEST_SEED = 0x7e57;

/** Image classification defaults (docs/adatape-images.md): a small ViT over 7×7 patches, the bank in 4×4 patches. */
export const IMAGE_CLASSIFIER_DEFAULTS: Partial<ClassifierConfig> = Object.freeze({
  input: 'image', patchSize: 7, bankPatchSize: 4, width: 64, numHeads: 4, numLayers: 4, mlpRatio: 2, maxTape: 8, threshold: 2,
});

export function parityTask(length: number): ClassifierTask {
  return {
    name: 'parity', description: `parity, length ${length}`,
    modelDefaults: { ...CLASSIFIER_DEFAULTS, symbols: PARITY_SYMBOLS, numClasses: 2, sequenceLength: length },
    makeBatch: (rng, B) => parityBatch(rng, B, length),
    testSet: (B, batches) => {
      const rng = new Rng(TEST_SEED + length);
      return Array.from({ length: batches }, () => parityBatch(rng, B, length));
    },
    mismatch: (c) => (c.input !== 'symbols' ? `parity needs input 'symbols', the model has input '${c.input}'` : null),
  };
}

export function imageTask(dataPath: string): ClassifierTask {
  const data: LabelledImageDataset = readLabelledImages(dataPath);
  const { width, height, channels } = data.shape;
  const base = { ...CLASSIFIER_DEFAULTS, ...IMAGE_CLASSIFIER_DEFAULTS, imageHeight: height, imageWidth: width, imageChannels: channels,
    numClasses: data.classes.length } as ClassifierConfig;
  // 28×28: 7×7 patches and a finer 4×4 bank; other sizes: the largest sides up to those that divide
  // the image, the bank's finer than the patches where it can be (32×32: 4×4 patches, a 2×2 bank).
  const fit = (most: number): number => { let side = Math.max(1, most); while (height % side !== 0 || width % side !== 0) side--; return side; };
  const patchSize = fit(base.patchSize), bankPatchSize = fit(Math.min(base.bankPatchSize, patchSize - 1));
  const modelDefaults = { ...base, patchSize, bankPatchSize, sequenceLength: patchGrid(base, patchSize).count };
  return {
    name: 'images',
    description: `${data.description}: ${data.train.images.length} training and ${data.test.images.length} test images of ${width}×${height}×${channels}, ` +
      `${data.classes.length} classes`,
    modelDefaults,
    makeBatch: (rng, B) => randomImageClassBatch(data.train, rng, B),
    testSet: (B, batches) => imageClassTestSet(data.test, B, batches * B),
    mismatch: (c) => {
      if (c.input !== 'image') return `image data needs input 'image', the model has input '${c.input}'`;
      if (c.imageHeight !== height || c.imageWidth !== width || c.imageChannels !== channels) {
        return `the model takes ${c.imageWidth}×${c.imageHeight}×${c.imageChannels} images, ${dataPath} has ${width}×${height}×${channels}`;
      }
      if (c.numClasses < data.classes.length) return `the model has ${c.numClasses} classes, ${dataPath} has ${data.classes.length}`;
      return null;
    },
  };
}

/** The task of a training run: --task (default parity) with --length or --dataPath. */
export function classifierTask(task: string, opts: { length?: number; dataPath?: string }): ClassifierTask {
  if (task === 'parity') {
    if (opts.dataPath !== undefined) throw new UsageError('--dataPath is not used with --task=parity (its examples are generated)');
    return parityTask(opts.length ?? CLASSIFIER_DEFAULTS.sequenceLength);
  }
  if (task === 'images') {
    if (opts.dataPath === undefined) {
      throw new UsageError('--task=images needs --dataPath=DIR: the IDX files of (Fashion-)MNIST (apt-get install dataset-fashion-mnist: ' +
        '/usr/share/datasets/fashion-mnist) or train/ and test/ folders of PNGs, one folder per class');
    }
    return imageTask(opts.dataPath);
  }
  throw new UsageError(`--task=${task} is not available for the classifiers: parity or images`);
}

export interface BankReads {
  /** Reads per bank patch [rows·cols] (raster order of the bank's patch grid), over all examples and per class. */
  readonly counts: Float64Array;
  readonly byClass: Float64Array[];
  readonly examples: number;
  readonly examplesByClass: number[];
  /** Mean pixels per class [class][H·W·ch] (from the batches' pixels in [−1, 1], back to 0–255). */
  readonly meanByClass: Float64Array[];
  readonly rows: number;
  readonly cols: number;
}

/** How often an AdaTape model with an image input-driven bank reads each bank patch over a test set, in all and by class. */
export function bankReadCounts(model: SequenceClassifier, testSet: readonly ClassifierBatch[]): BankReads {
  const c = model.config;
  if (c.model !== 'adatape' || c.bank !== 'input' || c.input !== 'image') throw new UsageError('a bank heatmap needs an AdaTape model with an image input-driven bank');
  const grid = patchGrid(c, c.bankPatchSize), K = candidatesOf(c), n = c.imageHeight * c.imageWidth * c.imageChannels;
  const counts = new Float64Array(grid.count), byClass = Array.from({ length: c.numClasses }, () => new Float64Array(grid.count));
  const examplesByClass = new Array<number>(c.numClasses).fill(0), meanByClass = Array.from({ length: c.numClasses }, () => new Float64Array(n));
  let examples = 0;
  for (const batch of testSet) {
    model.forward(batch);
    const reads = model.lastReads()!;
    addBankReads(counts, reads, c.maxTape, K);
    for (let b = 0; b < batch.batchSize; b++) {
      const y = batch.labels[b]!, one = { ...reads, B: 1, chosen: reads.chosen.subarray(b * c.maxTape * K), weights: reads.weights.subarray(b * c.maxTape * K),
        length: reads.length.subarray(b, b + 1) };
      addBankReads(byClass[y]!, one, c.maxTape, K);
      examplesByClass[y]!++;
      const mean = meanByClass[y]!;
      for (let i = 0; i < n; i++) mean[i] = mean[i]! + (batch.pixels![b * n + i]! + 1) * 127.5;
    }
    examples += batch.batchSize;
  }
  meanByClass.forEach((m, y) => { if (examplesByClass[y]) for (let i = 0; i < n; i++) m[i] = m[i]! / examplesByClass[y]!; });
  return { counts, byClass, examples, examplesByClass, meanByClass, rows: grid.rows, cols: grid.cols };
}

/**
 * The bank-read figure: for all test images and then each class present, the mean image and,
 * under it and cell-aligned, how often each bank patch is read per image (one colour scale).
 */
export function bankHeatmap(r: BankReads, c: ClassifierConfig, scale = 5): Image {
  const shape = { width: c.imageWidth, height: c.imageHeight, channels: c.imageChannels as 1 | 3 };
  const toImage = (m: ArrayLike<number>): Image => ({ shape, pixels: Uint8Array.from(m, (v) => Math.round(Math.min(255, Math.max(0, v)))) });
  const present = r.examplesByClass.map((n, y) => (n > 0 ? y : -1)).filter((y) => y >= 0);
  const allMean = new Float64Array(r.meanByClass[0]!.length);
  for (const y of present) r.meanByClass[y]!.forEach((v, i) => { allMean[i] = allMean[i]! + (v * r.examplesByClass[y]!) / r.examples; });
  return bankReadFigure([toImage(allMean), ...present.map((y) => toImage(r.meanByClass[y]!))],
    [Array.from(r.counts, (v) => v / r.examples), ...present.map((y) => Array.from(r.byClass[y]!, (v) => v / r.examplesByClass[y]!))],
    r.rows, r.cols, c.bankPatchSize, scale);
}
