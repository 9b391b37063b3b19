// Image datasets from bytes (Node and browsers): IDX files (raw or gzip'd, e.g. Fashion-MNIST from
// Debian's dataset-fashion-mnist), folders of PNGs, and labelled sets for classification, read
// through a FileSystem (platform/node/file-system.ts on disk, io/file-system.ts in memory).
import { gunzipSync } from 'fflate';
import { DataError } from '../errors.js';
import { baseName, extensionOf, type FileSystem } from '../io/file-system.js';
import { describeShape, type Image, type ImageShape } from './images.js';
import { decodePng } from './png.js';
import { maxOf } from '../tensor/extent.js';

/** An IDX file's bytes, gunzipped when they are gzip'd (path: for messages). */
function idxBytes(raw: Uint8Array, path: string): Uint8Array {
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw new DataError(`IDX file ${path}: a damaged gzip stream (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** An IDX label file (magic 2049, count, then one uint8 label each), raw or gzip'd. */
export function parseIdxLabels(raw: Uint8Array, path: string): Int32Array {
  const bytes = idxBytes(raw, path);
  if (bytes.length < 8) throw new DataError(`IDX file ${path}: ${bytes.length} bytes, too short for an IDX label header (8 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), magic = view.getUint32(0), count = view.getUint32(4);
  if (magic !== 2049) throw new DataError(`IDX file ${path}: magic ${magic} is not 2049 (uint8 labels)${magic === 2051 ? '; this is an image file' : ''}`);
  if (bytes.length < 8 + count) throw new DataError(`IDX file ${path}: truncated: ${count} labels need ${8 + count} bytes, the file has ${bytes.length}`);
  return Int32Array.from(bytes.subarray(8, 8 + count));
}

/** An IDX image file (magic 2051, count, rows, cols, then uint8 data), raw or gzip'd. */
export function parseIdxImages(raw: Uint8Array, path: string): Image[] {
  const bytes = idxBytes(raw, path);
  if (bytes.length < 16) throw new DataError(`IDX file ${path}: ${bytes.length} bytes, too short for an IDX image header (16 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = view.getUint32(0), count = view.getUint32(4), rows = view.getUint32(8), cols = view.getUint32(12);
  if (magic !== 2051) {
    throw new DataError(`IDX file ${path}: magic ${magic} is not 2051 (uint8 images)${magic === 2049 ? '; this is a label file' : ''}`);
  }
  if (count > 0 && (rows === 0 || cols === 0)) throw new DataError(`IDX file ${path}: images of ${rows}×${cols} pixels; both sides must be at least 1`);
  const need = 16 + count * rows * cols;
  if (bytes.length < need) throw new DataError(`IDX file ${path}: truncated: ${count} images of ${rows}×${cols} need ${need} bytes, the file has ${bytes.length}`);
  const shape: ImageShape = { width: cols, height: rows, channels: 1 }, n = rows * cols;
  return Array.from({ length: count }, (_, i) => ({ shape, pixels: bytes.slice(16 + i * n, 16 + (i + 1) * n) }));
}

/** Every PNG of a directory (sorted by name), all of one shape: a different one is named in the error. */
export function readPngDirectory(fs: FileSystem, dir: string): Image[] {
  const files = fs.list(dir).filter((f) => f.toLowerCase().endsWith('.png'));
  if (files.length === 0) throw new DataError(`image directory ${dir}: no .png files`);
  const images = files.map((f) => { const p = fs.join(dir, f); return decodePng(fs.readBytes(p, 'image'), `image ${p}`); });
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
export function readImageDataset(fs: FileSystem, path: string, testFraction: number): ImageDataset {
  const readIdxImages = (p: string): Image[] => parseIdxImages(fs.readBytes(p, 'IDX file'), p);
  const readPngDirectory_ = (d: string): Image[] => readPngDirectory(fs, d);
  if (fs.kind(path) === null) throw new DataError(`image data ${path} does not exist`);
  const split = (images: Image[], what: string): ImageDataset => {
    const cut = Math.max(1, Math.floor(images.length * (1 - testFraction)));
    return { train: images.slice(0, cut), test: images.slice(cut), shape: images[0]!.shape, description: what };
  };
  if (fs.kind(path) === 'file') {
    if (extensionOf(path) === '.png') throw new DataError(`image data ${path} is one PNG file; give the folder that holds the PNGs (a single file must be an IDX file)`);
    const images = readIdxImages(path);
    if (images.length === 0) throw new DataError(`IDX file ${path}: no images (its header counts 0)`);
    return split(images, baseName(path));
  }
  const find = (names: readonly string[]): string | undefined => names.map((n) => fs.join(path, n)).find((p) => fs.kind(p) !== null);
  const idxTrain = find(IDX_NAMES.train), idxTest = find(IDX_NAMES.test);
  if (idxTrain && idxTest) {
    const train = readIdxImages(idxTrain), test = readIdxImages(idxTest);
    if (train.length === 0) throw new DataError(`IDX file ${idxTrain}: no images (its header counts 0)`);
    const a = train[0]!.shape, b = test[0]?.shape ?? a;
    if (a.width !== b.width || a.height !== b.height) {
      throw new DataError(`image data ${path}: the training images (${idxTrain}) are ${describeShape(a)} but the test images (${idxTest}) are ${describeShape(b)}`);
    }
    return { train, test, shape: a, description: `${path} (IDX)` };
  }
  const hasTrain = fs.kind(fs.join(path, 'train')) !== null, hasTest = fs.kind(fs.join(path, 'test')) !== null;
  if (hasTrain !== hasTest && !fs.list(path).some((f) => f.toLowerCase().endsWith('.png'))) {
    throw new DataError(`image data ${path}: it has a ${hasTrain ? 'train/' : 'test/'} folder but no ${hasTrain ? 'test/' : 'train/'} folder; give both, or one folder of PNGs (split by name)`);
  }
  if (hasTrain && hasTest) {
    const train = readPngDirectory_(fs.join(path, 'train')), test = readPngDirectory_(fs.join(path, 'test'));
    const a = train[0]!.shape, b = test[0]!.shape;
    if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
      throw new DataError(`image data ${path}: train/ is ${describeShape(a)} but test/ is ${describeShape(b)}`);
    }
    return { train, test, shape: a, description: `${path} (PNG)` };
  }
  return split(readPngDirectory_(path), `${path} (PNG)`);
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
export function readLabelledImages(fs: FileSystem, path: string): LabelledImageDataset {
  if (fs.kind(path) !== 'directory') throw new DataError(`labelled image data ${path} is not a directory`);
  const find = (names: readonly string[]): string | undefined => names.map((n) => fs.join(path, n)).find((p) => fs.kind(p) !== null);
  const idx = [find(IDX_NAMES.train), find(IDX_LABELS.train), find(IDX_NAMES.test), find(IDX_LABELS.test)];
  if (idx.every((p) => p !== undefined)) {
    const split = (images: string, labels: string): LabelledSplit => {
      const s = { images: parseIdxImages(fs.readBytes(images, 'IDX file'), images), labels: parseIdxLabels(fs.readBytes(labels, 'IDX file'), labels) };
      if (s.images.length !== s.labels.length) throw new DataError(`${images} holds ${s.images.length} images but ${labels} ${s.labels.length} labels`);
      if (s.images.length === 0) throw new DataError(`IDX file ${images}: no images`);
      return s;
    };
    const train = split(idx[0]!, idx[1]!), test = split(idx[2]!, idx[3]!), a = train.images[0]!.shape, b = test.images[0]!.shape;
    if (a.width !== b.width || a.height !== b.height) {
      throw new DataError(`labelled image data ${path}: the training images (${idx[0]}) are ${describeShape(a)} but the test images (${idx[2]}) are ${describeShape(b)}`);
    }
    const classes = Math.max(maxOf(train.labels), maxOf(test.labels)) + 1;
    return { train, test, shape: train.images[0]!.shape, classes: Array.from({ length: classes }, (_, i) => String(i)), description: `${path} (IDX)` };
  }
  if (idx.some((p) => p !== undefined)) {
    throw new DataError(`labelled image data ${path}: IDX classification needs train-images, train-labels, t10k-images and t10k-labels ` +
      '(-idx3-ubyte / -idx1-ubyte, optionally .gz); some are missing');
  }
  const folders = (dir: string): string[] => (fs.kind(dir) === 'directory' ? fs.list(dir).filter((f) => fs.kind(fs.join(dir, f)) === 'directory') : []);
  const classes = folders(fs.join(path, 'train'));
  if (classes.length < 2) {
    throw new DataError(`labelled image data ${path}: no IDX files and no train/ directory with a folder of PNGs per class (at least 2 classes)`);
  }
  if (folders(fs.join(path, 'test')).join('/') !== classes.join('/')) {
    throw new DataError(`labelled image data ${path}: test/ must have the same class folders as train/ (${classes.join(', ')})`);
  }
  const split = (name: string): LabelledSplit => {
    const images: Image[] = [], labels: number[] = [];
    classes.forEach((cls, i) => { for (const img of readPngDirectory(fs, fs.join(path, name, cls))) { images.push(img); labels.push(i); } });
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
