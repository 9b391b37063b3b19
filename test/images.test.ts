// Images (spec images §1–§5): the codec's layout and round trips, PNG and IDX reading, bad files,
// pixel-only sampling, and a tiny image model that learns a pattern.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import * as fastPng from 'fast-png';
import { createEngine } from '../src/node.js';
import { cropRows } from '../src/data/crops.js';
import { imageSource } from '../src/data/image-source.js';
import { decodeImage, encodeImage, imageCodec, imageCoordinates, type Image, type ImageShape } from '../src/data/images.js';
import { syntheticImages } from '../src/data/synthetic-images.js';
import { MODEL_DEFAULTS, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { decodePng, encodePng, readIdxImages, readImageDataset, readPngDirectory } from '../src/platform/node/image-files.js';
import { generate } from '../src/sample/generate.js';
import { TRAIN_DEFAULTS } from '../src/train/config.js';
import { evaluateImages } from '../src/train/evaluate-images.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/tensor/rng.js';
import { failsClearly, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'perceiver-ar-images-'));
const randomImage = (shape: ImageShape, seed: number): Image => {
  const rng = new Rng(seed), pixels = new Uint8Array(shape.width * shape.height * shape.channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  return { shape, pixels };
};
const idx = (count: number, rows: number, cols: number, magic = 2051, cut = 0): Uint8Array => {
  const out = new Uint8Array(16 + count * rows * cols);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic); v.setUint32(4, count); v.setUint32(8, rows); v.setUint32(12, cols);
  for (let i = 16; i < out.length; i++) out[i] = (i * 7) % 256;
  return out.subarray(0, out.length - cut);
};

describe('image codec', () => {
  it('lays out a 2×2 RGB image as the hand-written table (SOS, then raster order, channel innermost)', () => {
    const at = imageCoordinates({ width: 2, height: 2, channels: 3 });
    const table = [[1, 1, 1],
      [2, 2, 2], [2, 2, 3], [2, 2, 4], [3, 2, 2], [3, 2, 3], [3, 2, 4],
      [2, 3, 2], [2, 3, 3], [2, 3, 4], [3, 3, 2], [3, 3, 3], [3, 3, 4]];
    assert.deepEqual(Array.from({ length: 13 }, (_, e) => at(e + 1)), table);
    const img = randomImage({ width: 2, height: 2, channels: 3 }, 1);
    const ids = encodeImage(img);
    assert.equal(ids.length, 13);
    assert.equal(ids[0], 2);
    assert.deepEqual(Array.from(ids.subarray(1)), Array.from(img.pixels, (p) => p + 3));
  });

  it('decodes ids back to the same pixels; reserved ids become 0; pixel-only sampling masks PAD/EOS/SOS', () => {
    const img = randomImage({ width: 3, height: 2, channels: 1 }, 2), ids = encodeImage(img);
    assert.deepEqual(decodeImage(ids.subarray(1), img.shape).pixels, img.pixels);
    assert.deepEqual(Array.from(decodeImage([0, 1, 2, 3, 258, 100], img.shape).pixels), [0, 0, 0, 0, 255, 97]);
    const allowed = imageCodec(img.shape).allowedAt(5)!;
    assert.deepEqual([allowed[0], allowed[1], allowed[2], allowed[3], allowed[258]], [0, 0, 0, 1, 1]);
  });
});

describe('image crops (spec §3)', () => {
  it('a crop holds the events before its end at their event index and coordinates, starting at SOS when the prefix fits', () => {
    const shape: ImageShape = { width: 2, height: 2, channels: 1 }, codec = imageCodec(shape);
    const seq = encodeImage({ shape, pixels: Uint8Array.of(10, 20, 30, 40) }); // [2, 13, 23, 33, 43]
    const b = cropRows([seq, seq], [5, 3], 3, codec);
    // Row 0 ends at event 5 with a context of 3: inputs are events 2, 3, 4; row 1 ends at 3: events 1, 2 (from SOS), padded.
    assert.deepEqual(Array.from(b.tokens), [13, 23, 33, 2, 13, 0]);
    assert.deepEqual(Array.from(b.positions), [2, 3, 4, 1, 2, 0]);
    assert.deepEqual(Array.from(b.targets), [23, 33, 43, 13, 23, 0]);
    assert.deepEqual(Array.from(b.coordinates!.subarray(0, 9)), [2, 2, 2, 3, 2, 2, 2, 3, 2]);
    assert.deepEqual(Array.from(b.coordinates!.subarray(9, 15)), [1, 1, 1, 2, 2, 2]);
    assert.throws(() => cropRows([seq], [6], 3, codec), /crop end 6 must be an event in \[2, 5\]/);
  });
});

describe('image files', () => {
  it('PNG → ids → PNG keeps every pixel, grey and RGB', () => {
    for (const channels of [1, 3] as const) {
      const img = randomImage({ width: 5, height: 3, channels }, 3 + channels);
      const back = decodePng(encodePng(img), 'x');
      assert.deepEqual(back.shape, img.shape);
      const again = decodePng(encodePng(decodeImage(encodeImage(back).subarray(1), back.shape)), 'y');
      assert.deepEqual(again.pixels, img.pixels);
    }
  });

  it('drops alpha (RGBA → RGB, grey+alpha → grey)', () => {
    for (const colorType of [6, 4] as const) {
      const png = new PNG({ width: 2, height: 1 });
      png.data.set([10, 10, 10, 0, 200, 200, 200, 255]);
      const img = decodePng(new Uint8Array(PNG.sync.write(png, { colorType })), 'alpha');
      assert.deepEqual(Array.from(img.pixels), colorType === 6 ? [10, 10, 10, 200, 200, 200] : [10, 200]);
    }
  });

  it('16-bit, 1/2/4-bit and palette PNGs decode as pngjs decodes them (the conventions kept when the decoder changed to fast-png)', () => {
    const pixels = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + k * 101) % 256);
    // 16-bit grey and RGB written by pngjs from 8-bit data; pngjs reads them back to 8 bits.
    for (const colorType of [0, 2] as const) {
      const png = new PNG({ width: 3, height: 2 });
      png.data.set(pixels(24, colorType).map((v, i) => (i % 4 === 3 ? 255 : v)));
      const bytes = PNG.sync.write(png, { colorType, bitDepth: 16 });
      const theirs = PNG.sync.read(bytes), ours = decodePng(new Uint8Array(bytes), '16-bit');
      const ch = colorType === 0 ? 1 : 3;
      assert.deepEqual(Array.from(ours.pixels), Array.from({ length: 6 * ch }, (_, i) => theirs.data[Math.floor(i / ch) * 4 + (i % ch)]));
    }
    // 1/2/4-bit grey and a palette image, written by fast-png's encoder.
    for (const depth of [1, 2, 4] as const) {
      const max = (1 << depth) - 1, values = Array.from({ length: 10 }, (_, i) => (i * 3) % (max + 1));
      const rowBytes = Math.ceil((5 * depth) / 8), data = new Uint8Array(2 * rowBytes);
      values.forEach((v, i) => {
        const y = Math.floor(i / 5), bit = (i % 5) * depth, at = y * rowBytes + (bit >> 3);
        data[at] = data[at]! | (v << (8 - depth - (bit & 7)));
      });
      const img = decodePng(fastPng.encode({ width: 5, height: 2, data, depth, channels: 1 }), `${depth}-bit`);
      assert.deepEqual(Array.from(img.pixels), values.map((v) => Math.round((v * 255) / max)), `${depth}-bit`);
    }
    const interlaced = fastPng.encode({ width: 5, height: 3, data: Uint8Array.from({ length: 45 }, (_, i) => (i * 7) % 256), depth: 8, channels: 3 }, { interlace: 'Adam7' });
    assert.deepEqual(Array.from(decodePng(interlaced, 'adam7').pixels), Array.from({ length: 45 }, (_, i) => (i * 7) % 256));
    const lowInterlaced = Uint8Array.from(fastPng.encode({ width: 5, height: 2, data: new Uint8Array(2), depth: 1, channels: 1 }));
    lowInterlaced[28] = 1;
    assert.throws(() => decodePng(lowInterlaced, 'low.png'), /low\.png: an interlaced \(Adam7\) PNG with 1-bit samples is not supported/);
    const damaged = Uint8Array.from(encodePng({ shape: { width: 2, height: 2, channels: 1 }, pixels: Uint8Array.of(1, 2, 3, 4) }));
    damaged[damaged.length - 20]! ^= 0xff;
    assert.throws(() => decodePng(damaged, 'crc.png'), /crc\.png: chunk IDAT is damaged \(its checksum does not match\)/);
    const palette: [number, number, number][] = [[255, 0, 0], [0, 128, 255], [7, 8, 9]];
    const indexed = decodePng(fastPng.encode({ width: 3, height: 1, data: Uint8Array.of(2, 0, 1), depth: 8, channels: 1, palette }), 'palette');
    assert.deepEqual([indexed.shape.channels, Array.from(indexed.pixels)], [3, [7, 8, 9, 255, 0, 0, 0, 128, 255]]);
  });

  it('reads IDX images raw and gzip’d; refuses a wrong magic, a label file and truncated data with one clear message', () => {
    writeFileSync(join(dir, 'a.idx'), idx(3, 2, 4));
    writeFileSync(join(dir, 'a.idx.gz'), gzipSync(idx(3, 2, 4)));
    const raw = readIdxImages(join(dir, 'a.idx')), gz = readIdxImages(join(dir, 'a.idx.gz'));
    assert.equal(raw.length, 3);
    assert.deepEqual(raw[0]!.shape, { width: 4, height: 2, channels: 1 });
    assert.deepEqual(gz[2]!.pixels, raw[2]!.pixels);
    writeFileSync(join(dir, 'bad.idx'), idx(3, 2, 4, 1234));
    assert.throws(() => readIdxImages(join(dir, 'bad.idx')), /magic 1234 is not 2051/);
    writeFileSync(join(dir, 'labels.idx'), idx(3, 2, 4, 2049));
    assert.throws(() => readIdxImages(join(dir, 'labels.idx')), /this is a label file/);
    writeFileSync(join(dir, 'short.idx'), idx(3, 2, 4, 2051, 5));
    assert.throws(() => readIdxImages(join(dir, 'short.idx')), /truncated: 3 images of 2×4 need 40 bytes, the file has 35/);
    // No images, or images with a side of 0: one line naming the file (not a TypeError from images[0]).
    writeFileSync(join(dir, 'none.idx'), idx(0, 8, 8));
    assert.throws(() => readImageDataset(join(dir, 'none.idx'), 0.1), /^DataError: IDX file .*none\.idx: no images \(its header counts 0\)$/m);
    writeFileSync(join(dir, 'flat.idx'), idx(3, 0, 0));
    assert.throws(() => readImageDataset(join(dir, 'flat.idx'), 0.1), /flat\.idx: images of 0×0 pixels; both sides must be at least 1/);
  });

  it('IDX training and test images of different shapes are refused, naming both files', () => {
    const d = join(dir, 'mixed-idx');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'train-images-idx3-ubyte'), idx(4, 8, 8));
    writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx(2, 6, 6));
    assert.throws(() => readImageDataset(d, 0.1), /the training images \(.*train-images-idx3-ubyte\) are 8×8 grey but the test images \(.*t10k-images-idx3-ubyte\) are 6×6 grey/);
    writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx(2, 8, 8));
    assert.equal(readImageDataset(d, 0.1).test.length, 2, 'the same shape reads');
    writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx(0, 6, 6));
    assert.equal(readImageDataset(d, 0.1).test.length, 0, 'an empty test file: training without validation, as before');
  });

  it('a model whose latents outnumber an example\'s inputs (the fashion-mnist preset on 8×8 images) trains, with a notice saying so', async () => {
    const e = await createEngine({ threads: 1 });
    try {
      const shape: ImageShape = { width: 8, height: 8, channels: 1 };
      const source = imageSource([randomImage(shape, 1), randomImage(shape, 2)], [randomImage(shape, 3)], shape, '8×8 test images');
      const config: ModelConfig = { ...MODEL_DEFAULTS, vocabSize: 259, contextLength: 784, numLatents: 196, numLayers: 1, width: 16, embedDim: 16, numHeads: 2,
        crossAttendHeads: 2, position: 'learned', positionDims: 3, maxPosition: 34, dropout: 0 };
      const trainer = new Trainer(e, new PerceiverAR(e, config, 1), { ...TRAIN_DEFAULTS, batchSize: 2, steps: 1 }, source);
      assert.equal(trainer.notices.length, 1);
      assert.match(trainer.notices[0]!, /numLatents 196 is more than 8×8 test images: .* has inputs per example \(64\): the first 132 latents of every row have no input/);
      assert.ok(Number.isFinite(trainer.trainStep().loss), 'and it trains');
      assert.deepEqual(new Trainer(e, new PerceiverAR(e, { ...config, numLatents: 64 }, 1), { ...TRAIN_DEFAULTS, batchSize: 2, steps: 1 }, source).notices, []);
    } finally {
      await e.dispose();
    }
  });

  it('reads a directory of PNGs of one size; names the first file that differs; refuses an empty directory and broken files', () => {
    const pngs = join(dir, 'pngs');
    mkdirSync(pngs);
    for (let i = 0; i < 3; i++) writeFileSync(join(pngs, `img${i}.png`), encodePng(randomImage({ width: 4, height: 4, channels: 3 }, i)));
    assert.equal(readPngDirectory(pngs).length, 3);
    const split = readImageDataset(pngs, 0.34);
    assert.deepEqual([split.train.length, split.test.length], [1, 2]);
    writeFileSync(join(pngs, 'img9.png'), encodePng(randomImage({ width: 5, height: 4, channels: 3 }, 9)));
    assert.throws(() => readPngDirectory(pngs), /img9\.png is 5×4 RGB but img0\.png is 4×4 RGB/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => readPngDirectory(empty), /no \.png files/);
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'a.png'), encodePng(randomImage({ width: 4, height: 4, channels: 1 }, 1)));
    writeFileSync(join(broken, 'text.png'), 'not an image');
    assert.throws(() => readPngDirectory(broken), /image .*broken[\\/]text\.png: not a PNG file \(it does not start with the PNG signature\)/);
  });
});

describe('image models', async () => {
  const engine = await createEngine({ threads: 2 });
  const tiny = (M: number, N: number): ModelConfig => ({
    ...MODEL_DEFAULTS, vocabSize: 259, contextLength: M, numLatents: N, numLayers: 1, width: 32, embedDim: 32, numHeads: 2, crossAttendHeads: 2,
    mlpRatio: 2, position: 'learned', positionDims: 3, maxPosition: 8, dropout: 0,
  });

  it('sampling never emits reserved ids (pixel-only by default)', () => {
    const shape: ImageShape = { width: 4, height: 4, channels: 3 }, codec = imageCodec(shape);
    const model = new PerceiverAR(engine, tiny(48, 8), 1);
    new Rng(1).fillUniform(model.params.get('head.w').value, 2);
    model.params.get('head.b').value.fill(0).set([30, 30, 30]);
    const sample = (allowed: boolean): Int32Array => generate(model, [2], { maxNewTokens: 48, temperature: 1, topK: 0, topP: 1, seed: 3, stopAtEos: false,
      cached: true, coordinates: codec.coordinates, ...(allowed ? { allowedTokens: codec.allowedAt } : {}) }).tokens;
    const r = sample(true);
    assert.ok(r.every((t) => t >= 3 && t <= 258), `reserved ids sampled: ${Array.from(r).filter((t) => t < 3)}`);
    // The same model unrestricted: the reserved ids' logits (+30) win almost every draw, so the check above can fail.
    assert.ok(Array.from(sample(false)).filter((t) => t < 3).length > 40, 'unrestricted sampling draws reserved ids');
  });

  it('a tiny image model learns a checkerboard pattern (bits/dim far below 8 on held-out images)', () => {
    // 4×4 grey checkerboards of value 0/200 with a random phase and a small noise: ~1 bit per image plus the noise.
    const shape: ImageShape = { width: 4, height: 4, channels: 1 }, rng = new Rng(7);
    const board = (): Image => {
      const phase = rng.int(2), pixels = new Uint8Array(16);
      for (let i = 0; i < 16; i++) pixels[i] = ((Math.floor(i / 4) + (i % 4) + phase) % 2) * 200 + rng.int(2);
      return { shape, pixels };
    };
    const train = Array.from({ length: 200 }, board), test = Array.from({ length: 20 }, board);
    const model = new PerceiverAR(engine, tiny(16, 8), 2);
    const before = evaluateImages(model, test, { stride: 8, numLatents: 8, batchSize: 8, maxImages: 0 }).bitsPerDim;
    const trainer = new Trainer(engine, model, { ...TRAIN_DEFAULTS, batchSize: 16, learningRate: 3e-3, warmupSteps: 20, evalBatches: 1 },
      imageSource(train, test, shape, 'checkerboards'));
    for (let i = 0; i < 250; i++) trainer.trainStep();
    const r = evaluateImages(model, test, { stride: 8, numLatents: 8, batchSize: 8, maxImages: 0 });
    assert.equal(r.subpixels, 20 * 16);
    assert.ok(before > 7, `untrained: ${before} bits/dim`);
    assert.ok(r.bitsPerDim < 1.5, `trained: ${r.bitsPerDim} bits/dim`);
  });

  it('pixel-only bits/dim renormalises over the 256 pixel ids: equal to the full loss when reserved ids have no mass, far lower when they have most', () => {
    const shape: ImageShape = { width: 3, height: 2, channels: 1 }, images = [randomImage(shape, 1), randomImage(shape, 2)];
    const model = new PerceiverAR(engine, tiny(6, 4), 3), bias = model.params.get('head.b').value;
    bias.fill(0).set([-200, -200, -200]);
    const none = evaluateImages(model, images, { stride: 4, numLatents: 4, batchSize: 2, maxImages: 0 });
    assert.ok(Math.abs(none.pixelBitsPerDim - none.bitsPerDim) < 1e-6, `${none.pixelBitsPerDim} vs ${none.bitsPerDim}`);
    bias.fill(0).set([12, 12, 12]);
    const most = evaluateImages(model, images, { stride: 4, numLatents: 4, batchSize: 2, maxImages: 0 });
    // Each target's full loss gains log2 of (256 + 3e12 ≈ 3·e^12 over 256 pixel ids): ≈ log2(1 + 3·e^12/256) bits.
    const gap = Math.log2(1 + (3 * Math.exp(12)) / 256);
    assert.ok(Math.abs(most.bitsPerDim - most.pixelBitsPerDim - gap) < 0.3, `gap ${most.bitsPerDim - most.pixelBitsPerDim} vs about ${gap}`);
  });

  it('the synthetic RGB images mirror their top half', () => {
    const [img] = syntheticImages(1, 5, { width: 8, height: 8, channels: 3 });
    const px = (x: number, y: number): number => img!.pixels[(y * 8 + x) * 3]!;
    let same = 0;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 8; x++) if (Math.abs(px(x, y) - px(x, 7 - y)) < 4) same++;
    assert.equal(same, 24);
  });
});

/** Tile i of a grid of `columns` square RGB tiles of `side` pixels (2-pixel borders), enlarged `scale` times, at 1:1. */
function gridTile(grid: Image, i: number, columns: number, side: number, scale: number): Uint8Array {
  const W = grid.shape.width, ox = (2 + (i % columns) * (side + 2)) * scale, oy = (2 + Math.floor(i / columns) * (side + 2)) * scale;
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) for (let c = 0; c < 3; c++) out[(y * side + x) * 3 + c] = grid.pixels[((oy + y * scale) * W + ox + x * scale) * 3 + c]!;
  }
  return out;
}

describe('CLI: image checkpoints', () => {
  it('trains on synthetic RGB images with a sample PNG, evaluates bits/dim and writes sample and completion grids', () => {
    const cli = (...args: string[]) => runCli(dir, ...args), ckpt = join(dir, 'rgb.safetensors');
    const t = cli('train', '--preset=synthetic-rgb-32', '--numLayers=1', '--width=32', '--embedDim=32', '--numLatents=32', '--steps=2',
      '--evalBatches=1', '--sample', `--checkpoint=${ckpt}`, '--json');
    assert.equal(t.code, 0, t.stderr);
    const png = decodePng(new Uint8Array(readFileSync(join(dir, 'rgb-samples.png'))), 'samples');
    assert.deepEqual(png.shape, { width: 4 * (4 * 34 + 2), height: 4 * (4 * 34 + 2), channels: 3 });
    // 16 different samples, each filling its tile (no tile left at the grid's grey), every 4×4 block one pixel.
    const samples = Array.from({ length: 16 }, (_, i) => gridTile(png, i, 4, 32, 4));
    assert.equal(new Set(samples.map((t) => Buffer.from(t).toString('hex'))).size, 16, 'the samples differ');
    for (const t of samples) assert.ok(t.some((v) => v !== 128), 'a sample tile is not blank');
    // Enlarged 4×: every pixel of a tile is a 4×4 block of one value.
    const W = png.shape.width, ox = 2 * 4, oy = 2 * 4;
    for (let y = 0; y < 32 * 4; y++) {
      for (let x = 0; x < 32 * 4; x++) {
        const at = ((oy + y) * W + ox + x) * 3, corner = ((oy + y - (y % 4)) * W + ox + x - (x % 4)) * 3;
        assert.equal(png.pixels[at], png.pixels[corner], `pixel (${x}, ${y}) of the first sample`);
      }
    }
    const e = cli('eval', `--checkpoint=${ckpt}`, '--maxImages=2', '--json');
    assert.equal(e.code, 0, e.stderr);
    const m = JSON.parse(e.stdout);
    assert.equal(m.subpixels, 2 * 3072);
    assert.ok(m.bitsPerDim > 6, e.stdout);
    const g = cli('generate', `--checkpoint=${ckpt}`, '--count=1', '--complete=30', '--fullVocab', '--scale=1', '--out=c.png', '--json');
    assert.equal(g.code, 0, g.stderr);
    const grid = decodePng(new Uint8Array(readFileSync(join(dir, 'c.png'))), 'c');
    assert.deepEqual(grid.shape, { width: 3 * 34 + 2, height: 36, channels: 3 });
    // original | given | completed: the first test image, its first 30 rows over grey, the same 30 rows then 2 sampled ones.
    const original = syntheticImages(256, 2)[0]!.pixels, rowBytes = 32 * 3, given = 30 * rowBytes;
    const [shown, masked, completed] = [0, 1, 2].map((i) => gridTile(grid, i, 3, 32, 1));
    assert.deepEqual(shown, original);
    assert.deepEqual(masked!.subarray(0, given), original.subarray(0, given));
    assert.ok(masked!.subarray(given).every((v) => v === 128), 'the rows to complete are grey');
    assert.deepEqual(completed!.subarray(0, given), original.subarray(0, given));
    assert.ok(completed!.subarray(given).some((x) => x !== 128), 'the last 2 rows were sampled (not left grey)');
    failsClearly(cli('generate', `--checkpoint=${ckpt}`, '--complete=40'), /--complete=40: the images have 32 rows/);
    // Was silently dropped: an image checkpoint's sample length is the image, so --maxNewTokens is refused.
    failsClearly(cli('generate', `--checkpoint=${ckpt}`, '--maxNewTokens=5'), /--maxNewTokens does not apply to image checkpoints/);
  });
});

describe('CLI: generating from an image checkpoint without its dataset, and completing your own image', () => {
  it('samples from the stored image shape with the data folder gone; --image is fitted to the model (with a note) and completed', () => {
    const data = join(dir, 'own-pngs'), ckpt = join(dir, 'own.safetensors'), rng = new Rng(5);
    mkdirSync(data);
    for (let i = 0; i < 6; i++) writeFileSync(join(data, `${i}.png`), encodePng({ shape: { width: 8, height: 8, channels: 1 }, pixels: Uint8Array.from({ length: 64 }, () => rng.int(256)) }));
    const t = runCli(dir, 'train', '--preset=fashion-mnist', '--data=images', `--dataPath=${data}`, '--contextLength=65', '--numLatents=16', '--numLayers=1',
      '--width=32', '--embedDim=32', '--steps=1', '--evalEvery=0', '--evalBatches=1', '--quiet', `--checkpoint=${ckpt}`);
    assert.equal(t.code, 0, t.stderr);
    const moved = `${data}-moved`;
    renameSync(data, moved);
    const s = runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--count=2', '--scale=1', `--out=${join(dir, 'own-samples.png')}`);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(decodePng(new Uint8Array(readFileSync(join(dir, 'own-samples.png'))), 'samples').shape, { width: 2 * 10 + 2, height: 12, channels: 1 });
    // Completion of test images needs the data: one line naming it.
    failsClearly(runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--complete=4'), /own-pngs/);
    // Your own image: 16×16 RGB, each 2×2 block one grey value → fitted to 8×8 grey exactly.
    const mine = new Uint8Array(16 * 16 * 3), small = Uint8Array.from({ length: 64 }, () => rng.int(256));
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) mine.fill(small[(y >> 1) * 8 + (x >> 1)]!, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
    writeFileSync(join(dir, 'mine.png'), encodePng({ shape: { width: 16, height: 16, channels: 3 }, pixels: mine }));
    const c = runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--complete=3', `--image=${join(dir, 'mine.png')}`, '--count=2', '--scale=1', `--out=${join(dir, 'mine-done.png')}`);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /mine\.png: fitted to the model's 8×8 grey images \(RGB → grey, 16×16 → 8×8\)/);
    const grid = decodePng(new Uint8Array(readFileSync(join(dir, 'mine-done.png'))), 'completions');
    // Grey tiles of side 8 in a 3-column grid with 2-pixel borders.
    const tile = (i: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, p) => grid.pixels[(2 + Math.floor(i / 3) * 10 + (p >> 3)) * grid.shape.width + 2 + (i % 3) * 10 + (p & 7)]!);
    const [original, given, completed] = [0, 1, 2].map(tile);
    assert.deepEqual(original, small, 'the original tile is the fitted image');
    assert.deepEqual(given!.subarray(0, 24), small.subarray(0, 24));
    assert.deepEqual(completed!.subarray(0, 24), small.subarray(0, 24), 'the completion keeps the first 3 rows');
    assert.equal(grid.shape.height, 2 * 10 + 2, 'two completions, one row each');
    failsClearly(runCli(dir, 'generate', `--checkpoint=${ckpt}`, `--image=${join(dir, 'mine.png')}`), /--image=.*mine\.png is an image to complete: give --complete=ROWS/);
    failsClearly(runCli(dir, 'generate', `--checkpoint=${ckpt}`, '--complete=3', `--image=${join(dir, 'missing.png')}`), /missing\.png/);
  });
});

describe('CLI: bad image data (one clear line each, nothing written)', () => {
  const cli = (...args: string[]) => runCli(dir, ...args);
  const quick = ['--preset=fashion-mnist', '--numLayers=1', '--width=32', '--embedDim=32', '--steps=1', '--evalEvery=0', '--evalBatches=1', '--quiet'];
  it('refuses corrupt, truncated and non-PNG files, wrong IDX data, an empty directory, mixed sizes and a context too short', () => {
    const bad = join(dir, 'bad-pngs');
    mkdirSync(bad);
    const good = encodePng(randomImage({ width: 28, height: 28, channels: 1 }, 1));
    writeFileSync(join(bad, 'a.png'), good);
    writeFileSync(join(bad, 'b.png'), good.subarray(0, good.length - 20));
    failsClearly(cli('train', ...quick, `--dataPath=${bad}`, '--checkpoint=x.safetensors'), /image .*b\.png: truncated: chunk IDAT at byte 33 declares \d+ bytes, \d+ remain/);
    writeFileSync(join(bad, 'b.png'), 'hello');
    failsClearly(cli('train', ...quick, `--dataPath=${bad}`), /b\.png: not a PNG file/);
    writeFileSync(join(bad, 'b.png'), encodePng(randomImage({ width: 27, height: 28, channels: 1 }, 2)));
    failsClearly(cli('train', ...quick, `--dataPath=${bad}`), /b\.png is 27×28 grey but a\.png is 28×28 grey/);
    mkdirSync(join(dir, 'none'));
    failsClearly(cli('train', ...quick, `--dataPath=${join(dir, 'none')}`), /no \.png files/);
    writeFileSync(join(dir, 'cli-bad.idx'), idx(3, 28, 28, 1234));
    failsClearly(cli('train', ...quick, `--dataPath=${join(dir, 'cli-bad.idx')}`), /magic 1234 is not 2051/);
    writeFileSync(join(dir, 'cli-short.idx'), gzipSync(idx(3, 28, 28, 2051, 100)));
    failsClearly(cli('train', ...quick, `--dataPath=${join(dir, 'cli-short.idx')}`), /truncated/);
    writeFileSync(join(bad, 'b.png'), good);
    failsClearly(cli('train', ...quick, `--dataPath=${bad}`, '--contextLength=100', '--numLatents=50'), /contextLength 100 is too short .* raise contextLength to 784/);
    assert.deepEqual(readdirSync(dir).filter((f) => f === 'x.safetensors' || f.endsWith('.partial')), [], 'nothing written');
  });
});
