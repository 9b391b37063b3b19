// Labelled images (data=labelled-images, `train --task=images --dataPath=DIR`; spec adatape §2): the
// IDX files of (Fashion-)MNIST or train/ and test/ folders with a folder of PNGs per class, for the
// classifiers (a ViT over patches; AdaTape reads finer patches from its input-driven bank). `eval
// --heatmap=OUT.png` draws how often an AdaTape model reads each bank patch.
import { UsageError } from '../../errors.js';
import { checkOutputAgainst } from '../../io/file-system.js';
import { CLASSIFIER_DEFAULTS, candidatesOf, patchGrid, type ClassifierConfig } from '../../models/adatape/config.js';
import type { ClassifierBatch, SequenceClassifier } from '../../models/adatape/model.js';
import { intOption, outputOption, pathOption } from '../../options.js';
import type { TrainConfig } from '../../train/config.js';
import { bankReadFigure } from '../heatmap.js';
import { addBankReads, imageClassBatch, imageClassTestSet, randomImageClassBatch } from '../image-classes.js';
import { fitImage, fitNotice } from '../image-fit.js';
import { readLabelledImages } from '../image-datasets.js';
import type { Image } from '../images.js';
import { DATA_PATH, LABELLED_IMAGE_FILES } from '../keys.js';
import { keysOf, type ClassificationModality, type ClassifyRequest, type Metrics } from '../modality.js';
import { decodePng, encodePng } from '../png.js';
import { PARITY_TRAIN_DEFAULTS } from './parity.js';
import { maxOf } from '../../tensor/extent.js';

/** Image classification (docs/adatape-images.md): batch 128, AdamW lr 1e-3, 3,000 steps, test set 2,048 images while training. */
export const IMAGE_CLASSIFIER_TRAIN_DEFAULTS: TrainConfig = Object.freeze({ ...PARITY_TRAIN_DEFAULTS, steps: 3000, evalEvery: 500, evalBatches: 16 });

/** Image classification defaults (docs/adatape-images.md): a small ViT over 7×7 patches, the bank in 4×4 patches. */
export const IMAGE_CLASSIFIER_DEFAULTS: Partial<ClassifierConfig> = Object.freeze({
  input: 'image', patchSize: 7, bankPatchSize: 4, width: 64, numHeads: 4, numLayers: 4, mlpRatio: 2, maxTape: 8, threshold: 2,
});

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

/**
 * `classify --image=FILE.png [--heatmap=OUT.png]`: one image (fitted to the model's shape, with a
 * notice), its predicted class and the probabilities of all; an AdaTape model with an image bank
 * also draws which bank patches its tape read for this image.
 */
function classifyImage(req: ClassifyRequest): Metrics {
  const c = req.model.config, o = req.options, path = o.string('image'), heatmap = o.string('heatmap');
  if (path === undefined) throw new UsageError('classify needs --image=FILE.png (an image to classify)');
  const drawsReads = c.model === 'adatape' && c.bank === 'input' && c.input === 'image';
  if (heatmap !== undefined) {
    if (!drawsReads) throw new UsageError('--heatmap needs an AdaTape checkpoint with an image input-driven bank (--bank=input)');
    checkOutputAgainst(req.ctx.fs, heatmap, 'heatmap', [...req.ctx.inputs, path], LABELLED_IMAGE_FILES);
  }
  const shape = { width: c.imageWidth, height: c.imageHeight, channels: c.imageChannels as 1 | 3 };
  const fitted = fitImage(decodePng(req.ctx.fs.readBytes(path, 'image'), `image ${path}`), shape), notice = fitNotice(path, fitted, shape);
  if (notice) req.ctx.log(notice);
  const batch = imageClassBatch({ images: [fitted.image], labels: Int32Array.of(0) }, [0]);
  const r = req.model.forward(batch), logits = req.model.logits();
  const top = maxOf(Array.from(logits), 0), exp = Array.from(logits, (v) => Math.exp(v - top)), sum = exp.reduce((a, b) => a + b, 0);
  const probabilities = exp.map((v) => v / sum), predicted = probabilities.indexOf(maxOf(probabilities, 0));
  const tape = r.tapeLengths ? r.tapeLengths[0]! : null;
  let readsDrawn: number | null = null;
  if (drawsReads && heatmap !== undefined) {
    const reads = bankReadCounts(req.model, [batch]);
    req.ctx.fs.writeAtomic(heatmap, encodePng(bankReadFigure([fitted.image], [Array.from(reads.counts)], reads.rows, reads.cols, c.bankPatchSize, 8)));
    readsDrawn = reads.counts.reduce((a, b) => a + b, 0);
  }
  if (!req.ctx.json) {
    req.ctx.write(`${path}: class ${predicted} (${(100 * probabilities[predicted]!).toFixed(1)}%)${tape === null ? '' : `, tape ${tape} token${tape === 1 ? '' : 's'}`}` +
      `${heatmap === undefined ? '' : `; the patches it read: ${heatmap}`}\n`);
  }
  return { image: path, predicted, confidence: probabilities[predicted]!, probabilities: probabilities.map((p) => p.toPrecision(6)).join(' '),
    tapeLength: tape, bankReads: readsDrawn, heatmap: heatmap ?? null, fitted: fitted.changes.join(', ') || null };
}

export const labelledImagesModality: ClassificationModality = {
  name: 'labelled-images', noun: 'images', task: 'classification', taskName: 'images', takesLength: false,
  summary: 'labelled images (--dataPath=DIR: the IDX files of (Fashion-)MNIST — apt-get install dataset-fashion-mnist: ' +
    '/usr/share/datasets/fashion-mnist — or train/ and test/ with a folder of PNGs per class)',
  keys: { dataPath: DATA_PATH },
  inputs: (c) => [String(c.dataPath)],
  dataFiles: LABELLED_IMAGE_FILES,
  help: {
    eval: 'Image classifiers: --dataPath=DIR if the images moved, --evalBatches=0 for every test image, --heatmap=OUT.png for AdaTape\'s bank reads.',
    classify: 'Image classifiers: --image=FILE.png (any size, grey or colour: fitted to the model\'s shape, with a note) [--heatmap=OUT.png: the bank\n' +
      '  patches an AdaTape tape read for it]; prints the class and its probability (--json: every class\'s).',
  },
  exampleNoun: 'images',
  fitsModel: (c) => c.input === 'image',
  deriveModel: (model) => {
    // A patch side changed on the command line changes the number of patches.
    const side = model.patchSize as number, h = model.imageHeight as number, w = model.imageWidth as number;
    if (Number.isInteger(side) && side > 0 && h % side === 0 && w % side === 0) model.sequenceLength = (h / side) * (w / side);
  },
  open: (c, _model, ctx) => {
    const path = keysOf<{ dataPath: string }>(c).dataPath;
    const data = readLabelledImages(ctx.fs, path), { width, height, channels } = data.shape;
    const seen = new Set(data.train.labels), unseen = data.classes.filter((_, y) => !seen.has(y));
    if (unseen.length > 0) {
      ctx.log(`${path}: ${data.classes.length} classes (labels 0–${data.classes.length - 1}), ${unseen.length} of them with no training image ` +
        `(${unseen.slice(0, 8).join(', ')}${unseen.length > 8 ? ', …' : ''}): check the label files`);
    }
    const base = { ...CLASSIFIER_DEFAULTS, ...IMAGE_CLASSIFIER_DEFAULTS, imageHeight: height, imageWidth: width, imageChannels: channels,
      numClasses: data.classes.length } as ClassifierConfig;
    // 28×28: 7×7 patches and a finer 4×4 bank; other sizes: the largest sides up to those that divide
    // the image, the bank's finer than the patches where it can be (32×32: 4×4 patches, a 2×2 bank).
    const fit = (most: number): number => { let side = Math.max(1, most); while (height % side !== 0 || width % side !== 0) side--; return side; };
    const patchSize = fit(base.patchSize), bankPatchSize = fit(Math.min(base.bankPatchSize, patchSize - 1));
    return {
      description: `${data.description}: ${data.train.images.length} training and ${data.test.images.length} test images of ${width}×${height}×${channels}, ` +
        `${data.classes.length} classes`,
      modelDefaults: { ...base, patchSize, bankPatchSize, sequenceLength: patchGrid(base, patchSize).count },
      trainDefaults: IMAGE_CLASSIFIER_TRAIN_DEFAULTS,
      makeBatch: (rng, B) => randomImageClassBatch(data.train, rng, B),
      testSet: (B, batches) => imageClassTestSet(data.test, B, batches * B),
      testExamples: data.test.images.length,
      mismatch: (m) => {
        if (m.input !== 'image') return `image data needs input 'image', the model has input '${m.input}'`;
        if (m.imageHeight !== height || m.imageWidth !== width || m.imageChannels !== channels) {
          return `the model takes ${m.imageWidth}×${m.imageHeight}×${m.imageChannels} images, ${path} has ${width}×${height}×${channels}`;
        }
        if (m.numClasses < data.classes.length) return `the model has ${m.numClasses} classes, ${path} has ${data.classes.length}`;
        return null;
      },
    };
  },
  evalOptions: [intOption('evalBatches', 0, Infinity, 'an integer ≥ 0 (0: every test image)'), outputOption('heatmap')],
  checkEvalOptions: (c, options, ctx) => {
    const heatmap = options.string('heatmap');
    if (heatmap === undefined) return;
    if (c.model !== 'adatape' || c.bank !== 'input') throw new UsageError('--heatmap needs an AdaTape checkpoint with an image input-driven bank (--bank=input)');
    checkOutputAgainst(ctx.fs, heatmap, 'heatmap', ctx.inputs, LABELLED_IMAGE_FILES);
  },
  classifyOptions: [pathOption('image', '.png'), outputOption('heatmap')],
  classify: (req) => classifyImage(req),
  evaluateExtra: (req) => {
    const heatmap = req.options.string('heatmap'), c = req.model.config;
    if (heatmap === undefined) return { heatmap: null };
    const reads = bankReadCounts(req.model, req.testSet);
    req.ctx.fs.writeAtomic(heatmap, encodePng(bankHeatmap(reads, c)));
    const maxReads = reads.counts.reduce((m, v) => Math.max(m, v), 0) / reads.examples;
    if (!req.ctx.json) req.ctx.write(`bank-read heatmap written to ${heatmap} (the most-read patch: ${maxReads.toFixed(3)} reads per image)\n`);
    return { heatmap };
  },
};
