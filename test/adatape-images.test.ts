import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { createEngine } from '../src/node.js';
import { heatmapImage, viridis } from '../src/data/heatmap.js';
import { addBankReads, imageClassBatch, imageClassTestSet, randomImageClassBatch, type LabelledImages } from '../src/data/image-classes.js';
import type { Image } from '../src/data/images.js';
import { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig } from '../src/models/adatape/config.js';
import { SequenceClassifier } from '../src/models/adatape/model.js';
import { patchify } from '../src/models/adatape/patches.js';
import { readLabelledImages, writePng } from '../src/platform/node/image-files.js';
import { encodePng } from '../src/data/png.js';
import { fitImage } from '../src/data/image-fit.js';
import { Rng } from '../src/tensor/rng.js';
import { ClassifierTrainer } from '../src/train/classifier-trainer.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { checkParamGradients } from './helpers/gradcheck.js';
import { failsClearly, runCli } from './helpers/cli.js';
import { rightBar, writeBarImages } from './helpers/bar-images.js';
import { PNG } from 'pngjs';
import { readFileSync } from 'node:fs';

/** 4×4 images with 2 channels, 2×2 backbone patches (4 tokens), 1×1 bank patches (16 bank tokens). */
const TINY_IMAGE: ClassifierConfig = {
  ...CLASSIFIER_DEFAULTS, input: 'image', imageHeight: 4, imageWidth: 4, imageChannels: 2, patchSize: 2, bankPatchSize: 1, sequenceLength: 4,
  numClasses: 3, width: 8, numHeads: 2, numLayers: 2, mlpRatio: 2, maxTape: 4, threshold: 1.5, maxSteps: 3,
};

function randomBatch(c: ClassifierConfig, B: number, seed: number) {
  const rng = new Rng(seed), n = c.imageHeight * c.imageWidth * c.imageChannels;
  const pixels = rng.fillUniform(new Float32Array(B * n)) as Float32Array;
  return { batchSize: B, values: new Int32Array(0), pixels, labels: Int32Array.from({ length: B }, (_, b) => b % c.numClasses) };
}

describe('image input of the sequence classifiers', () => {
  it('patchify cuts 2×2 patches in raster order with (dy, dx, channel) inside, against a hand-written table', () => {
    // A 4×4 image with 2 channels: pixel (y, x, c) = 100·y + 10·x + c.
    const px = new Float32Array(32);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 2; c++) px[(y * 4 + x) * 2 + c] = 100 * y + 10 * x + c;
    const out = new Float32Array(32);
    patchify(px, 1, { height: 4, width: 4, channels: 2, side: 2 }, out);
    assert.deepEqual(Array.from(out), [
      0, 1, 10, 11, 100, 101, 110, 111, // patch (0, 0)
      20, 21, 30, 31, 120, 121, 130, 131, // patch (0, 1)
      200, 201, 210, 211, 300, 301, 310, 311, // patch (1, 0)
      220, 221, 230, 231, 320, 321, 330, 331, // patch (1, 1)
    ]);
  });

  for (const [label, extra] of [
    ['AdaTape, input-driven bank of finer patches', {}],
    ['AdaTape, learnable bank', { bank: 'learnable', bankSize: 6 }],
    ['no-tape ViT', { model: 'no-tape' }],
    ['ViT (transformer) with CLS', { model: 'transformer', cls: true, pool: 'cls' }],
    ['UViT with ACT', { model: 'universal', actWeight: 0.3 }],
  ] as const) {
    it(`${label}: gradients vs finite differences (reference backend)`, async () => {
      const engine = await createEngine({ backend: 'reference' });
      const config = { ...TINY_IMAGE, ...extra } as ClassifierConfig;
      const model = new SequenceClassifier(engine, config, 1);
      new Rng(9).fillUniform(model.params.get('head.w').value, 0.5);
      const batch = randomBatch(config, 3, 4);
      const loss = (): number => model.forward(batch, { training: true, rng: new Rng(42) }).loss;
      loss();
      model.params.zeroGrads();
      model.backward();
      const { exercised } = checkParamGradients(model.params, loss, label, 1e-3);
      const expected = ['embed.patch.w', 'embed.position', ...(config.model === 'adatape' && config.bank === 'input' ? ['tape.bank.w', 'tape.bank_position'] : [])];
      for (const name of expected) assert.ok(exercised.has(name), `${label}: ${name} was checked only where its gradient is zero`);
    });
  }

  it('the input-driven bank is the image in finer patches: reads name bank patches and change with the image', async () => {
    const engine = await createEngine({ backend: 'reference' });
    const model = new SequenceClassifier(engine, TINY_IMAGE, 3);
    const batch = randomBatch(TINY_IMAGE, 4, 5);
    model.forward(batch);
    const reads = model.lastReads()!;
    assert.equal(reads.bankRows, 16);
    const counts = new Float64Array(16);
    addBankReads(counts, reads, TINY_IMAGE.maxTape, 2);
    const total = counts.reduce((a, b) => a + b, 0);
    assert.ok(total >= 4, `every example reads at least one bank patch (${total} reads)`);
    // Brighten one pixel of example 0 strongly: its bank token's score changes, so what example 0 reads may change, others' not.
    const before = Array.from(reads.chosen.subarray(TINY_IMAGE.maxTape * 2));
    const changed = { ...batch, pixels: Float32Array.from(batch.pixels) };
    changed.pixels[0] = 50;
    model.forward(changed);
    assert.deepEqual(Array.from(model.lastReads()!.chosen.subarray(TINY_IMAGE.maxTape * 2)), before, "other examples' reads do not move");
  });

  it('refuses bad image configs and batches with clear messages', async () => {
    assert.throws(() => validateClassifierConfig({ ...TINY_IMAGE, patchSize: 3 }), /patchSize \(3\) must divide the image's 4×4/);
    assert.throws(() => validateClassifierConfig({ ...TINY_IMAGE, sequenceLength: 5 }), /sequenceLength must be the number of 2×2 patches, 4; got 5/);
    const engine = await createEngine({ backend: 'reference' });
    const model = new SequenceClassifier(engine, TINY_IMAGE, 1);
    const batch = randomBatch(TINY_IMAGE, 2, 1);
    assert.throws(() => model.forward({ ...batch, pixels: batch.pixels.subarray(1) }), /batch pixels hold 63 values; 2 images of 4×4×2 need 64/);
    const nan = Float32Array.from(batch.pixels);
    nan[33] = NaN;
    assert.throws(() => model.forward({ ...batch, pixels: nan }), /pixel 1 of image 1 is NaN/);
  });

  it('a tiny AdaTape ViT learns where a bright square is (4 classes) inside the suite', async () => {
    const engine = await createEngine({ backend: 'wasm', threads: 1 });
    const rng = new Rng(11), images: Image[] = [], labels: number[] = [];
    for (let i = 0; i < 400; i++) {
      const pixels = new Uint8Array(64), cls = rng.int(4), y0 = (cls >> 1) * 4 + rng.int(3), x0 = (cls & 1) * 4 + rng.int(3);
      for (let j = 0; j < 64; j++) pixels[j] = rng.int(60);
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) pixels[(y0 + dy) * 8 + x0 + dx] = 255;
      images.push({ shape: { width: 8, height: 8, channels: 1 }, pixels });
      labels.push(cls);
    }
    const train: LabelledImages = { images: images.slice(0, 300), labels: Int32Array.from(labels.slice(0, 300)) };
    const test: LabelledImages = { images: images.slice(300), labels: Int32Array.from(labels.slice(300)) };
    const config: ClassifierConfig = { ...CLASSIFIER_DEFAULTS, input: 'image', imageHeight: 8, imageWidth: 8, imageChannels: 1, patchSize: 4, bankPatchSize: 2,
      sequenceLength: 4, numClasses: 4, width: 32, numHeads: 4, numLayers: 2, maxTape: 4, threshold: 2 };
    const model = new SequenceClassifier(engine, config, 0);
    const trainer = new ClassifierTrainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 32, steps: 150, learningRate: 3e-3, warmupSteps: 10 },
      (r, B) => randomImageClassBatch(train, r, B), imageClassTestSet(test, 50));
    const before = trainer.evaluate().accuracy;
    for (let i = 0; i < 150; i++) trainer.trainStep();
    const after = trainer.evaluate();
    assert.ok(after.accuracy >= 0.9, `test accuracy ${after.accuracy} (before training ${before})`);
    assert.ok(after.tape.mean! >= 1 && after.tape.mean! <= 4, `tape length ${after.tape.mean}`);
    await engine.dispose();
  });

  it('imageClassBatch scales pixels to [−1, 1] and keeps labels; bad indices are refused', () => {
    const set: LabelledImages = { images: [{ shape: { width: 1, height: 2, channels: 1 }, pixels: Uint8Array.from([0, 255]) }], labels: Int32Array.from([7]) };
    const b = imageClassBatch(set, [0, 0]);
    assert.deepEqual(Array.from(b.pixels!), [-1, 1, -1, 1]);
    assert.deepEqual(Array.from(b.labels), [7, 7]);
    assert.throws(() => imageClassBatch(set, [1]), /example 1 is outside the 1 images/);
  });
});

describe('the bank-read heatmap picture', () => {
  it('shades each cell on the viridis scale from 0 to the largest value, with grid lines and a colour bar', () => {
    const img = heatmapImage([0, 1, 2, 4], 2, 2, 4);
    assert.deepEqual(img.shape, { width: 8, height: 8 + 4 + 6, channels: 3 });
    const at = (x: number, y: number): number[] => Array.from(img.pixels.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
    assert.deepEqual(at(2, 2), viridis(0));
    assert.deepEqual(at(6, 6), viridis(1));
    assert.deepEqual(at(2, 6), viridis(0.5));
    assert.deepEqual(at(0, 2), [30, 30, 30], 'grid line');
    assert.deepEqual(viridis(0), [68, 1, 84]);
    assert.deepEqual(viridis(1), [253, 231, 37]);
    assert.throws(() => heatmapImage([1, 2, 3], 2, 2, 4), /3 values for a 2×2 grid/);
  });
});

describe('image test sets', () => {
  it('hold the real number of test images: 297 in batches of 8 with room for 256 batches (the run header sums these)', () => {
    const image: Image = { shape: { width: 2, height: 2, channels: 1 }, pixels: new Uint8Array(4) };
    const set: LabelledImages = { images: Array.from({ length: 297 }, () => image), labels: new Int32Array(297) };
    const batches = imageClassTestSet(set, 8, 256 * 8);
    assert.equal(batches.reduce((n, b) => n + b.batchSize, 0), 297);
    assert.equal(batches.length, 38);
    assert.equal(batches[batches.length - 1]!.batchSize, 1, 'the last batch holds the one image left');
  });
});

describe('image task defaults', () => {
  it('take patch sides that divide the image, the bank finer than the patches (a 32×32 image is not one 32×32 patch)', async () => {
    const { labelledImagesModality } = await import('../src/data/modalities/labelled-images.js');
    const { nodeFileSystem } = await import('../src/platform/node/file-system.js');
    const { DATA_DEFAULTS } = await import('../src/data/registry.js');
    const dir = mkdtempSync(join(tmpdir(), 'image-sides-'));
    for (const split of ['train', 'test']) {
      for (const cls of ['a', 'b']) {
        mkdirSync(join(dir, split, cls), { recursive: true });
        writePng(join(dir, split, cls, 'x.png'), { shape: { width: 32, height: 32, channels: 3 }, pixels: new Uint8Array(32 * 32 * 3) });
      }
    }
    const d = labelledImagesModality.open({ ...DATA_DEFAULTS, data: 'labelled-images', dataPath: dir }, {}, { fs: nodeFileSystem, log: () => undefined }).modelDefaults;
    assert.deepEqual([d.patchSize, d.bankPatchSize, d.sequenceLength, d.imageChannels], [4, 2, 64, 3]);
    assert.doesNotThrow(() => validateClassifierConfig(d));
  });
});

describe('labelled image datasets', () => {
  const idxImages = (count: number, rows: number, cols: number, truncate = 0): Uint8Array => {
    const b = new Uint8Array(16 + count * rows * cols - truncate), v = new DataView(b.buffer);
    v.setUint32(0, 2051); v.setUint32(4, count); v.setUint32(8, rows); v.setUint32(12, cols);
    return b;
  };
  const idxLabels = (labels: number[], magic = 2049): Uint8Array => {
    const b = new Uint8Array(8 + labels.length), v = new DataView(b.buffer);
    v.setUint32(0, magic); v.setUint32(4, labels.length); b.set(labels, 8);
    return b;
  };

  it('reads the four IDX files (gzip or raw) and refuses mismatched counts, wrong magic and a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-classes-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(3, 2, 2)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxLabels([0, 2, 1]));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxImages(2, 2, 2));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 0]));
    const d = readLabelledImages(dir);
    assert.equal(d.train.images.length, 3);
    assert.deepEqual(Array.from(d.train.labels), [0, 2, 1]);
    assert.deepEqual(d.classes, ['0', '1', '2']);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 0, 1]));
    assert.throws(() => readLabelledImages(dir), /holds 2 images but .* 3 labels/);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 0], 2051));
    assert.throws(() => readLabelledImages(dir), /magic 2051 is not 2049 \(uint8 labels\); this is an image file/);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 0]).subarray(0, 9));
    assert.throws(() => readLabelledImages(dir), /truncated: 2 labels need 10 bytes, the file has 9/);
    const partial = mkdtempSync(join(tmpdir(), 'idx-partial-'));
    writeFileSync(join(partial, 'train-images-idx3-ubyte'), idxImages(1, 2, 2));
    assert.throws(() => readLabelledImages(partial), /needs train-images, train-labels, t10k-images and t10k-labels/);
  });

  it('reads train/ and test/ class folders of PNGs; different folders are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'png-classes-'));
    for (const split of ['train', 'test']) {
      for (const cls of ['cat', 'dog']) {
        mkdirSync(join(dir, split, cls), { recursive: true });
        writePng(join(dir, split, cls, 'a.png'), { shape: { width: 2, height: 2, channels: 1 }, pixels: Uint8Array.from([1, 2, 3, 4]) });
      }
    }
    const d = readLabelledImages(dir);
    assert.deepEqual(d.classes, ['cat', 'dog']);
    assert.deepEqual(Array.from(d.test.labels), [0, 1]);
    mkdirSync(join(dir, 'test', 'eel'));
    assert.throws(() => readLabelledImages(dir), /test\/ must have the same class folders as train\/ \(cat, dog\)/);
    assert.throws(() => readLabelledImages(mkdtempSync(join(tmpdir(), 'empty-'))), /no IDX files and no train\/ directory/);
  });
});

describe('fitting a user\'s image to a model\'s shape', () => {
  it('averages the pixels falling in each target pixel when shrinking, repeats the nearest when enlarging, and converts colour', () => {
    const rgb: Image = { shape: { width: 4, height: 2, channels: 3 }, pixels: Uint8Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 10 * i : 0)) };
    // Red only: luma 0.299·R. Shrunk 4×2 → 2×1: each target pixel averages a 2×2 block.
    const f = fitImage(rgb, { width: 2, height: 1, channels: 1 });
    const luma = Array.from({ length: 8 }, (_, p) => Math.round(0.299 * 30 * p));
    assert.deepEqual(Array.from(f.image.pixels), [0, 2].map((x) => Math.round((luma[x]! + luma[x + 1]! + luma[x + 4]! + luma[x + 5]!) / 4)));
    assert.deepEqual(f.changes, ['RGB → grey', '4×2 → 2×1']);
    const grey: Image = { shape: { width: 2, height: 1, channels: 1 }, pixels: Uint8Array.of(7, 200) };
    const up = fitImage(grey, { width: 4, height: 3, channels: 3 });
    assert.deepEqual(Array.from(up.image.pixels.subarray(0, 12)), [7, 7, 7, 7, 7, 7, 200, 200, 200, 200, 200, 200]);
    assert.deepEqual(Array.from(up.image.pixels.subarray(24)), Array.from(up.image.pixels.subarray(0, 12)));
    // 3 → 2: target 0 spans [0, 1.5) and takes source pixel 0 (centre 0.5); target 1 spans [1.5, 3): pixels 1 and 2 (centres 1.5, 2.5).
    const odd = fitImage({ shape: { width: 3, height: 1, channels: 1 }, pixels: Uint8Array.of(10, 20, 40) }, { width: 2, height: 1, channels: 1 });
    assert.deepEqual(Array.from(odd.image.pixels), [10, 30]);
    assert.deepEqual(fitImage(grey, grey.shape).changes, []);
  });
});

describe('image classification from the command line', () => {
  it('trains AdaTape on an IDX folder, evaluates the whole test set with images/s and a heatmap; bad uses fail with one line', () => {
    // 8×8 images: the class is which half holds a bright bar.
    const dir = mkdtempSync(join(tmpdir(), 'adatape-cli-')), rng = new Rng(2);
    writeBarImages(dir, 'train', 64, rng);
    writeBarImages(dir, 't10k', 40, rng);
    const ckpt = join(dir, 'ada.safetensors');
    const train = runCli(dir, 'train', '--task=images', `--dataPath=${dir}`, '--patchSize=4', '--bankPatchSize=2', '--width=16', '--numLayers=1',
      '--steps=3', '--batchSize=8', '--evalBatches=2', `--checkpoint=${ckpt}`, '--json');
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stderr, /64 training and 40 test images of 8×8×1, 2 classes: adatape, .* 4 patches of 4×4 \(bank: 2×2\)/);
    const heat = join(dir, 'reads.png');
    const ev = runCli(dir, 'eval', `--checkpoint=${ckpt}`, `--dataPath=${dir}`, '--evalBatches=0', `--heatmap=${heat}`, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const m = JSON.parse(ev.stdout.trim().split('\n').pop()!);
    assert.equal(m.examples, 40);
    assert.ok(m.examplesPerSecond > 0 && m.tapeMean >= 1, ev.stdout);
    const png = PNG.sync.read(readFileSync(heat));
    // All images, then the 2 classes: mean image over its bank-read heatmap, 8 px × 5 wide each, 6 px apart.
    assert.equal(png.width, 3 * (8 * 5 + 6) - 6);
    assert.equal(png.height, 2 * 8 * 5 + 2 * 6 + 8);
    // The checkpoint records its data (labelled images at that path), so eval needs no --dataPath.
    const again = runCli(dir, 'eval', `--checkpoint=${ckpt}`, '--evalBatches=0', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout.trim().split('\n').pop()!).accuracy, m.accuracy);
    // classify: one image (a bright bar on the right: class 1), given at the model's 8×8 grey and as
    // a 16×16 RGB enlargement (fitted back with a note): the same probabilities; the heatmap of its reads.
    const bar = rightBar();
    const big = new PNG({ width: 16, height: 16 });
    for (let i = 0; i < 256; i++) { const v = bar[(Math.floor(Math.floor(i / 16) / 2)) * 8 + Math.floor((i % 16) / 2)]!; big.data.set([v, v, v, 255], i * 4); }
    writeFileSync(join(dir, 'bar.png'), encodePng({ shape: { width: 8, height: 8, channels: 1 }, pixels: bar }));
    writeFileSync(join(dir, 'bar16.png'), PNG.sync.write(big));
    const one = runCli(dir, 'classify', `--checkpoint=${ckpt}`, `--image=${join(dir, 'bar.png')}`, `--heatmap=${join(dir, 'bar-reads.png')}`, '--json');
    assert.equal(one.code, 0, one.stderr);
    const c1 = JSON.parse(one.stdout.trim().split('\n').pop()!);
    const probs = (c1.probabilities as string).split(' ').map(Number);
    assert.equal(probs.length, 2);
    assert.ok(Math.abs(probs[0]! + probs[1]! - 1) < 1e-5 && c1.predicted === probs.indexOf(Math.max(...probs)) && Math.abs(c1.confidence - Math.max(...probs)) < 1e-5, one.stdout);
    assert.ok(c1.tapeLength >= 1 && c1.bankReads >= 1 && c1.fitted === null, one.stdout);
    const reads = PNG.sync.read(readFileSync(join(dir, 'bar-reads.png')));
    // One group at 8×: the image over its heatmap, 4 × (2 px × 8) wide.
    assert.deepEqual([reads.width, reads.height], [64, 2 * 64 + 2 * 6 + 8]);
    const two = runCli(dir, 'classify', `--checkpoint=${ckpt}`, `--image=${join(dir, 'bar16.png')}`);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /bar16\.png: fitted to the model's 8×8 grey images \(RGB → grey, 16×16 → 8×8\)/);
    assert.match(two.stdout, new RegExp(`bar16\\.png: class ${c1.predicted} \\(${(100 * c1.confidence).toFixed(1)}%\\), tape ${c1.tapeLength} token`));
    failsClearly(runCli(dir, 'classify', `--checkpoint=${ckpt}`), /classify needs --image=FILE\.png/);
    failsClearly(runCli(dir, 'classify', `--checkpoint=${ckpt}`, `--image=${join(dir, 'bar.png')}`, `--heatmap=${join(dir, 'bar.png')}`), /is the run's input file/);
    failsClearly(runCli(dir, 'train', '--task=images'), /--task=images needs --dataPath=DIR/);
    failsClearly(runCli(dir, 'train', '--task=images', `--dataPath=${dir}`, '--patchSize=3'), /patchSize \(3\) must divide the image's 8×8/);
    failsClearly(runCli(dir, 'train', '--task=parity', `--dataPath=${dir}`), /--dataPath is not used with --task=parity/);
    const vit = join(dir, 'vit.safetensors');
    assert.equal(runCli(dir, 'train', '--task=images', `--dataPath=${dir}`, '--model=transformer', '--patchSize=4', '--width=16', '--numLayers=1', '--steps=1',
      '--batchSize=8', '--evalBatches=1', `--checkpoint=${vit}`, '--quiet').code, 0);
    failsClearly(runCli(dir, 'eval', `--checkpoint=${vit}`, `--dataPath=${dir}`, `--heatmap=${heat}`), /--heatmap needs an AdaTape checkpoint with an image input-driven bank/);
    failsClearly(runCli(dir, 'classify', `--checkpoint=${vit}`, `--image=${join(dir, 'bar.png')}`, `--heatmap=${heat}`), /--heatmap needs an AdaTape checkpoint/);
    assert.match(runCli(dir, 'classify', `--checkpoint=${vit}`, `--image=${join(dir, 'bar.png')}`).stdout, /bar\.png: class [01] \(\d+\.\d%\)\n/);
  });
});
