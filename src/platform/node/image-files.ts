// Reading and writing images (Node): PNG through the pure-JS `pngjs` package, IDX files (raw or
// gzip'd, e.g. Fashion-MNIST from Debian's dataset-fashion-mnist), and image datasets from a path.
// PNG conventions: greyscale PNGs (with or without alpha) are 1-channel, every other colour type
// 3-channel RGB; alpha is dropped (not composited), palettes are expanded, 16-bit samples are
// reduced to 8 bits (pngjs's rescaling: the high byte, rounded).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describeShape, type Image, type ImageShape } from '../../data/images.js';
import { DataError } from '../../errors.js';
import { readFileChecked, writeFileAtomic } from './files.js';

/** Decodes PNG bytes (what = the file, for messages). */
export function decodePng(bytes: Uint8Array, what: string): Image {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    throw new DataError(`${what}: not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  // pngjs reports `color` false for greyscale colour types (0, 4); the decoded data is always RGBA.
  const channels: 1 | 3 = (png as unknown as { color: boolean }).color ? 3 : 1;
  const { width, height } = png, n = width * height, pixels = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) pixels[i * channels + c] = png.data[i * 4 + c]!;
  return { shape: { width, height, channels }, pixels };
}

export function readPng(path: string): Image {
  return decodePng(readFileChecked(path, 'image'), `image ${path}`);
}

/** PNG bytes of an image (8-bit greyscale or RGB). */
export function encodePng(image: Image): Uint8Array {
  const { width, height, channels } = image.shape, png = new PNG({ width, height, colorType: channels === 1 ? 0 : 2, inputColorType: 6 });
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = image.pixels[i * channels + (channels === 1 ? 0 : c)]!;
    png.data[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2, inputColorType: 6 }));
}

export function writePng(path: string, image: Image): void {
  writeFileAtomic(path, encodePng(image));
}

/** Images laid out in a grid with a 2-pixel border (for samples and completions); grey images stay grey. */
export function imageGrid(images: readonly Image[], columns: number): Image {
  if (images.length === 0) throw new RangeError('imageGrid: no images');
  const s = images[0]!.shape, pad = 2, cols = Math.min(columns, images.length), rows = Math.ceil(images.length / cols);
  const W = cols * (s.width + pad) + pad, H = rows * (s.height + pad) + pad, Ch = s.channels;
  const pixels = new Uint8Array(W * H * Ch).fill(128);
  images.forEach((img, i) => {
    const ox = pad + (i % cols) * (s.width + pad), oy = pad + Math.floor(i / cols) * (s.height + pad);
    for (let y = 0; y < s.height; y++) pixels.set(img.pixels.subarray(y * s.width * Ch, (y + 1) * s.width * Ch), ((oy + y) * W + ox) * Ch);
  });
  return { shape: { width: W, height: H, channels: Ch }, pixels };
}

/** Nearest-neighbour enlargement by an integer factor (small images are unreadable at 1:1). */
export function scaleImage(image: Image, factor: number): Image {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`scale must be an integer ≥ 1, got ${factor}`);
  if (factor === 1) return image;
  const { width: W, height: H, channels: Ch } = image.shape, w = W * factor, pixels = new Uint8Array(w * H * factor * Ch);
  for (let y = 0; y < H * factor; y++) {
    for (let x = 0; x < w; x++) {
      const from = ((Math.floor(y / factor) * W) + Math.floor(x / factor)) * Ch;
      for (let c = 0; c < Ch; c++) pixels[(y * w + x) * Ch + c] = image.pixels[from + c]!;
    }
  }
  return { shape: { width: w, height: H * factor, channels: Ch }, pixels };
}

/** An IDX file's bytes, gunzipped when it is gzip'd. */
function idxBytes(path: string): Uint8Array {
  const bytes = readFileChecked(path, 'IDX file');
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (e) {
    throw new DataError(`IDX file ${path}: a damaged gzip stream (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** An IDX label file (magic 2049, count, then one uint8 label each), raw or gzip'd. */
export function readIdxLabels(path: string): Int32Array {
  const bytes = idxBytes(path);
  if (bytes.length < 8) throw new DataError(`IDX file ${path}: ${bytes.length} bytes, too short for an IDX label header (8 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), magic = view.getUint32(0), count = view.getUint32(4);
  if (magic !== 2049) throw new DataError(`IDX file ${path}: magic ${magic} is not 2049 (uint8 labels)${magic === 2051 ? '; this is an image file' : ''}`);
  if (bytes.length < 8 + count) throw new DataError(`IDX file ${path}: truncated: ${count} labels need ${8 + count} bytes, the file has ${bytes.length}`);
  return Int32Array.from(bytes.subarray(8, 8 + count));
}

/** An IDX image file (magic 2051, count, rows, cols, then uint8 data), raw or gzip'd. */
export function readIdxImages(path: string): Image[] {
  const bytes = idxBytes(path);
  if (bytes.length < 16) throw new DataError(`IDX file ${path}: ${bytes.length} bytes, too short for an IDX image header (16 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = view.getUint32(0), count = view.getUint32(4), rows = view.getUint32(8), cols = view.getUint32(12);
  if (magic !== 2051) {
    throw new DataError(`IDX file ${path}: magic ${magic} is not 2051 (uint8 images)${magic === 2049 ? '; this is a label file' : ''}`);
  }
  const need = 16 + count * rows * cols;
  if (bytes.length < need) throw new DataError(`IDX file ${path}: truncated: ${count} images of ${rows}×${cols} need ${need} bytes, the file has ${bytes.length}`);
  const shape: ImageShape = { width: cols, height: rows, channels: 1 }, n = rows * cols;
  return Array.from({ length: count }, (_, i) => ({ shape, pixels: bytes.slice(16 + i * n, 16 + (i + 1) * n) }));
}

/** Every PNG of a directory (sorted by name), all of one shape: a different one is named in the error. */
export function readPngDirectory(dir: string): Image[] {
  const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (files.length === 0) throw new DataError(`image directory ${dir}: no .png files`);
  const images = files.map((f) => readPng(join(dir, f)));
  const first = images[0]!.shape;
  images.forEach((img, i) => {
    const s = img.shape;
    if (s.width !== first.width || s.height !== first.height || s.channels !== first.channels) {
      throw new DataError(`image directory ${dir}: ${files[i]} is ${describeShape(s)} but ${files[0]} is ${describeShape(first)}; ` +
        'every image must have one size and colour type');
    }
  });
  return images;
}

export interface ImageDataset {
  readonly train: Image[];
  readonly test: Image[];
  readonly shape: ImageShape;
  readonly description: string;
}

const IDX_NAMES = { train: ['train-images-idx3-ubyte.gz', 'train-images-idx3-ubyte'], test: ['t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte'] };

/**
 * An image dataset from a path, split as the files give it: a directory with the IDX files of
 * (Fashion-)MNIST (train-images… and t10k-images…), a directory with train/ and test/ folders of
 * PNGs, a single IDX file (the last `testFraction` of its images held out) or a directory of PNGs
 * (the last `testFraction` of the files, by name, held out).
 */
export function readImageDataset(path: string, testFraction: number): ImageDataset {
  if (!existsSync(path)) throw new DataError(`image data ${path} does not exist`);
  const split = (images: Image[], what: string): ImageDataset => {
    const cut = Math.max(1, Math.floor(images.length * (1 - testFraction)));
    return { train: images.slice(0, cut), test: images.slice(cut), shape: images[0]!.shape, description: what };
  };
  if (statSync(path).isFile()) return split(readIdxImages(path), basename(path));
  const find = (names: readonly string[]): string | undefined => names.map((n) => join(path, n)).find((p) => existsSync(p));
  const idxTrain = find(IDX_NAMES.train), idxTest = find(IDX_NAMES.test);
  if (idxTrain && idxTest) {
    const train = readIdxImages(idxTrain), test = readIdxImages(idxTest);
    if (train.length === 0) throw new DataError(`IDX file ${idxTrain}: no images`);
    return { train, test, shape: train[0]!.shape, description: `${path} (IDX)` };
  }
  if (existsSync(join(path, 'train')) && existsSync(join(path, 'test'))) {
    const train = readPngDirectory(join(path, 'train')), test = readPngDirectory(join(path, 'test'));
    const a = train[0]!.shape, b = test[0]!.shape;
    if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
      throw new DataError(`image data ${path}: train/ is ${describeShape(a)} but test/ is ${describeShape(b)}`);
    }
    return { train, test, shape: a, description: `${path} (PNG)` };
  }
  return split(readPngDirectory(path), `${path} (PNG)`);
}

export interface LabelledSplit {
  readonly images: Image[];
  readonly labels: Int32Array;
}

export interface LabelledImageDataset {
  readonly train: LabelledSplit;
  readonly test: LabelledSplit;
  readonly shape: ImageShape;
  /** Class names: label i is classes[i]. */
  readonly classes: readonly string[];
  readonly description: string;
}

const IDX_LABELS = { train: ['train-labels-idx1-ubyte.gz', 'train-labels-idx1-ubyte'], test: ['t10k-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte'] };

/**
 * A labelled image dataset (classification): a directory with the four IDX files of
 * (Fashion-)MNIST, or train/ and test/ directories with one folder of PNGs per class (the sorted
 * folder names are the classes; both splits must have the same folders).
 */
export function readLabelledImages(path: string): LabelledImageDataset {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new DataError(`labelled image data ${path} is not a directory`);
  const find = (names: readonly string[]): string | undefined => names.map((n) => join(path, n)).find((p) => existsSync(p));
  const idx = [find(IDX_NAMES.train), find(IDX_LABELS.train), find(IDX_NAMES.test), find(IDX_LABELS.test)];
  if (idx.every((p) => p !== undefined)) {
    const split = (images: string, labels: string): LabelledSplit => {
      const s = { images: readIdxImages(images), labels: readIdxLabels(labels) };
      if (s.images.length !== s.labels.length) throw new DataError(`${images} holds ${s.images.length} images but ${labels} ${s.labels.length} labels`);
      if (s.images.length === 0) throw new DataError(`IDX file ${images}: no images`);
      return s;
    };
    const train = split(idx[0]!, idx[1]!), test = split(idx[2]!, idx[3]!);
    const classes = Math.max(...train.labels, ...test.labels) + 1;
    return { train, test, shape: train.images[0]!.shape, classes: Array.from({ length: classes }, (_, i) => String(i)), description: `${path} (IDX)` };
  }
  if (idx.some((p) => p !== undefined)) {
    throw new DataError(`labelled image data ${path}: IDX classification needs train-images, train-labels, t10k-images and t10k-labels ` +
      '(-idx3-ubyte / -idx1-ubyte, optionally .gz); some are missing');
  }
  const folders = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort() : []);
  const classes = folders(join(path, 'train'));
  if (classes.length < 2) {
    throw new DataError(`labelled image data ${path}: no IDX files and no train/ directory with a folder of PNGs per class (at least 2 classes)`);
  }
  if (folders(join(path, 'test')).join('/') !== classes.join('/')) {
    throw new DataError(`labelled image data ${path}: test/ must have the same class folders as train/ (${classes.join(', ')})`);
  }
  const split = (name: string): LabelledSplit => {
    const images: Image[] = [], labels: number[] = [];
    classes.forEach((cls, i) => { for (const img of readPngDirectory(join(path, name, cls))) { images.push(img); labels.push(i); } });
    return { images, labels: Int32Array.from(labels) };
  };
  const train = split('train'), test = split('test'), shape = train.images[0]!.shape;
  for (const img of [...train.images, ...test.images]) {
    if (img.shape.width !== shape.width || img.shape.height !== shape.height || img.shape.channels !== shape.channels) {
      throw new DataError(`labelled image data ${path}: images of ${describeShape(img.shape)} and ${describeShape(shape)}; every image must have one size`);
    }
  }
  return { train, test, shape, classes, description: `${path} (PNG class folders)` };
}
