// Images (data=images: IDX files or PNGs; data=synthetic-images: the built-in 32×32 RGB set), as
// raster subpixel sequences with x/y/channel coordinates (spec images §1–§4): bits/dim on the test
// images, PNG grids of samples and of completions of test images from their first rows.
import { DataError, UsageError } from '../../errors.js';
import { checkOutputAgainst, type FileSystem } from '../../io/file-system.js';
import { progressWhenTotalKnown } from '../../io/progress.js';
import type { PerceiverAR } from '../../models/perceiver-ar/model.js';
import { flagOption, intOption, invalidOption, outputOption, pathOption, refusedOption } from '../../options.js';
import { generate } from '../../sample/generate.js';
import { evaluateImages } from '../../train/evaluate-images.js';
import { readImageDataset } from '../image-datasets.js';
import { imageGrid, scaleImage } from '../image-grid.js';
import { imageSource } from '../image-source.js';
import { decodeImage, describeShape, encodeImage, imageCodec, subpixelCount, type Image, type ImageShape } from '../images.js';
import { DATA_PATH, IMAGE_FILES, VALIDATION_FRACTION } from '../keys.js';
import { keysOf, type DataConfig, type DataKey, type SequenceData, type SequenceModality } from '../modality.js';
import { decodePng, encodePng } from '../png.js';
import { fitImage, fitNotice } from '../image-fit.js';
import { syntheticImages } from '../synthetic-images.js';
import { perceiverModel, SAMPLING_OPTIONS } from './token-streams.js';
import { BYTE_OFFSET, PAD } from '../vocab.js';

interface ImageData { readonly dataPath: string; readonly validationFraction: number; readonly imageShape: string }

/** An image shape as the imageShape key stores it: WIDTHxHEIGHTxCHANNELS. */
const shapeKey = (s: ImageShape): string => `${s.width}x${s.height}x${s.channels}`;

/**
 * The images a model was trained on (WIDTHxHEIGHTxCHANNELS, e.g. 28x28x1): set by training from the
 * data and stored in the checkpoint, so eval, generate and a resumed run refuse images of another
 * shape; '' (older checkpoints, or before the data is read) takes the data's shape.
 */
const IMAGE_SHAPE: DataKey = {
  default: '', help: 'the images\' WIDTHxHEIGHTxCHANNELS (set from the data by training; other shapes are refused)',
  check: (v: string) => (typeof v === 'string' && (v === '' || /^[1-9]\d*x[1-9]\d*x[13]$/.test(v)) ? null : 'must be WIDTHxHEIGHTxCHANNELS (channels 1 or 3), e.g. 28x28x1'),
};

/** Refuses images whose shape is not the one the data config names (what: where they come from). */
function checkImageShape(c: DataConfig, shape: ImageShape, what: string): void {
  const want = keysOf<ImageData>(c).imageShape;
  if (want && want !== shapeKey(shape)) {
    const [w, h, ch] = want.split('x').map(Number) as [number, number, number];
    throw new DataError(`${what} holds ${describeShape(shape)} images, but the model was trained on ${describeShape({ width: w, height: h, channels: ch as 1 | 3 })} ` +
      `images (imageShape ${want}); give images of that shape`);
  }
}

const SYNTHETIC_SHAPE = { width: 32, height: 32, channels: 3 } as const, SYNTHETIC_TRAIN = 4000, SYNTHETIC_TEST = 256;

/** The test images of a data config (the built-in set, or the test split of a dataset) and their shape. */
function testImages(c: DataConfig, fs: FileSystem): { images: Image[]; shape: ImageShape; description: string } {
  if (c.data === 'synthetic-images') {
    checkImageShape(c, SYNTHETIC_SHAPE, 'the synthetic image set');
    const images = syntheticImages(SYNTHETIC_TEST, 2);
    return { images, shape: images[0]!.shape, description: 'synthetic 32×32 RGB test images' };
  }
  const d = keysOf<ImageData>(c), set = readImageDataset(fs, d.dataPath, d.validationFraction);
  checkImageShape(c, set.shape, `image data ${d.dataPath}`);
  if (set.test.length === 0) throw new UsageError(`${set.description} has no test images; give --dataPath with a test split`);
  return { images: set.test, shape: set.shape, description: `${set.description}, test split` };
}

function openImages(c: DataConfig, vocabSize: number, fs: FileSystem): SequenceData & { readonly testImages: readonly Image[] } {
  if (vocabSize < 256 + BYTE_OFFSET) throw new DataError(`image data needs vocabSize ≥ ${256 + BYTE_OFFSET} (pixel values + PAD/EOS/SOS), got ${vocabSize}`);
  if (c.data === 'synthetic-images') {
    checkImageShape(c, SYNTHETIC_SHAPE, 'the synthetic image set');
    const source = imageSource(syntheticImages(SYNTHETIC_TRAIN, 1), syntheticImages(SYNTHETIC_TEST, 2), SYNTHETIC_SHAPE, 'synthetic 32×32 RGB images');
    return { source, codec: source.codec, testImages: source.testImages, dataConfig: { ...c, imageShape: shapeKey(SYNTHETIC_SHAPE) } };
  }
  const d = keysOf<ImageData>(c), set = readImageDataset(fs, d.dataPath, d.validationFraction);
  checkImageShape(c, set.shape, `image data ${d.dataPath}`);
  const source = imageSource(set.train, set.test, set.shape, set.description);
  return { source, codec: source.codec, testImages: source.testImages, dataConfig: { ...c, imageShape: shapeKey(set.shape) } };
}

/** Where `train --sample` writes its grid of 16 samples: beside the checkpoint, or samples.png. */
const samplesPngPath = (checkpointPath: string | null): string => (checkpointPath ? checkpointPath.replace(/(\.safetensors)?$/, '-samples.png') : 'samples.png');

export interface ImageSampleOptions {
  readonly count: number; readonly complete: number; readonly temperature: number; readonly topK: number; readonly topP: number;
  readonly seed: number; readonly fullVocab: boolean; readonly cached: boolean; readonly columns: number; readonly scale: number | undefined;
}

/**
 * Samples, or completions of `images` from their first `complete` rows (original | given |
 * completed), as one grid image. Sampling is restricted to pixel ids unless fullVocab (then
 * reserved ids decode to 0).
 */
export function imageSamples(model: PerceiverAR, images: readonly Image[], o: ImageSampleOptions, onImage?: (done: number) => void):
  { grid: Image; seconds: number; subpixelsPerSecond: number } {
  const { count, complete, temperature, topK, topP, seed, fullVocab, cached } = o, shape = images[0]!.shape;
  if (complete >= shape.height) throw new UsageError(`--complete=${complete}: the images have ${shape.height} rows; give fewer`);
  const codec = imageCodec(shape), total = subpixelCount(shape), given = complete * shape.width * shape.channels;
  const tiles: Image[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const original = images[i % images.length]!;
    const prompt = Array.from(encodeImage(original).subarray(0, 1 + given));
    const r = generate(model, prompt, {
      maxNewTokens: total - given, temperature, topK, topP, seed: seed + i, stopAtEos: false, cached,
      coordinates: codec.coordinates, ...(fullVocab ? {} : { allowedTokens: codec.allowedAt }),
    });
    const result = decodeImage([...prompt.slice(1), ...Array.from(r.tokens)], shape);
    if (complete > 0) {
      const masked = decodeImage([...prompt.slice(1), ...new Array<number>(total - given).fill(PAD)], shape);
      masked.pixels.fill(128, given);
      tiles.push(original, masked, result);
    } else {
      tiles.push(result);
    }
    onImage?.(i + 1);
  }
  const grid = scaleImage(imageGrid(tiles, complete > 0 ? 3 : o.columns), o.scale ?? (shape.width <= 64 ? 4 : 1));
  const seconds = (performance.now() - started) / 1000;
  return { grid, seconds, subpixelsPerSecond: (count * (total - given)) / seconds };
}

/** The model's image shape as its data config stores it (null for checkpoints older than the imageShape key). */
function storedShape(c: DataConfig): ImageShape | null {
  if (c.data === 'synthetic-images') return SYNTHETIC_SHAPE;
  const key = keysOf<ImageData>(c).imageShape;
  if (!key) return null;
  const [width, height, channels] = key.split('x').map(Number) as [number, number, 1 | 3];
  return { width, height, channels };
}

/**
 * The images generation starts from: the user's image (--image, fitted to the model's shape with a
 * notice) to complete; one blank image of the model's shape for samples from scratch (no data
 * read: a checkpoint samples without its dataset); otherwise the test images.
 */
function imagesToGenerate(c: DataConfig, fs: FileSystem, complete: number, imagePath: string | undefined, log: (line: string) => void): Image[] {
  const shape = storedShape(c);
  if (imagePath !== undefined) {
    const want = shape ?? testImages(c, fs).shape, fitted = fitImage(decodePng(fs.readBytes(imagePath, 'image'), `image ${imagePath}`), want);
    const notice = fitNotice(imagePath, fitted, want);
    if (notice) log(notice);
    return [fitted.image];
  }
  if (complete === 0 && shape) return [{ shape, pixels: new Uint8Array(subpixelCount(shape)) }];
  return testImages(c, fs).images;
}

function imageModality(name: 'images' | 'synthetic-images'): SequenceModality {
  const synthetic = name === 'synthetic-images';
  return {
    name, task: 'sequence',
    noun: synthetic ? 'the synthetic images' : 'image data',
    summary: synthetic ? 'the built-in generated 32×32 RGB images' : 'an image dataset (--dataPath: IDX files of (Fashion-)MNIST, or PNGs of one size; docs/images.md)',
    keys: synthetic ? { imageShape: IMAGE_SHAPE } : { dataPath: DATA_PATH, validationFraction: VALIDATION_FRACTION, imageShape: IMAGE_SHAPE },
    ...(synthetic ? { withPath: 'images' } : {
      help: {
        generate: 'Image checkpoints: --count=16 --out=samples.png [--complete=ROWS [--image=FILE.png] --scale=N --columns=N --fullVocab --dataPath]: a PNG\n' +
          '  grid of samples, or of test images (or your --image, fitted to the model\'s shape) completed from their first ROWS rows (original | given | completed).',
        eval: 'Images: bits/dim on the test images [--stride --numLatents --maxImages --batchSize --dataPath].',
      },
    }),
    inputs: (c) => (synthetic ? [] : [String(c.dataPath)]),
    dataFiles: IMAGE_FILES,
    open: (c, vocabSize, ctx) => openImages(c, vocabSize, ctx.fs),
    evalOptions: (c) => [intOption('numLatents', 1, c.contextLength), intOption('stride', 1, c.contextLength, 'an integer in [1, numLatents]'),
      intOption('batchSize', 1), intOption('maxImages', 0, Infinity, 'an integer ≥ 0 (0 = every test image)')],
    evaluate: (req) => {
      const model = perceiverModel(req.model, 'images'), c = model.config, o = req.options;
      const numLatents = o.number('numLatents') ?? c.numLatents;
      const stride = o.number('stride') ?? Math.max(1, Math.floor(numLatents / 2));
      if (stride > numLatents) invalidOption('stride', stride, `an integer in [1, numLatents = ${numLatents}]`);
      const batchSize = o.number('batchSize') ?? 4, maxImages = o.number('maxImages') ?? 0;
      const { images, description } = testImages(req.data, req.ctx.fs);
      const progress = progressWhenTotalKnown((total, every) => req.ctx.progress(total, 'eval', every));
      const r = evaluateImages(model, images, { stride, numLatents, batchSize, maxImages, onProgress: (done, total) => progress.update(done, total) });
      progress.finish();
      if (!Number.isFinite(r.bitsPerDim)) throw new RangeError(`eval: bits/dim is not finite (${r.bitsPerDim}): the model's outputs overflow float32`);
      return { mode: 'images', stride, numLatents, bitsPerDim: r.bitsPerDim, pixelOnlyBitsPerDim: r.pixelBitsPerDim, images: r.images, subpixels: r.subpixels,
        seconds: r.seconds, data: `${description}${maxImages > 0 ? ` (first ${r.images})` : ''}` };
    },
    generateReads: synthetic ? [] : ['dataPath'],
    generateOptions: () => [intOption('count', 1, 1024), intOption('complete', 0, Infinity, 'an integer ≥ 0 (rows given)'), ...SAMPLING_OPTIONS, outputOption('out'),
      intOption('columns', 1, 64), intOption('scale', 1, 16), flagOption('fullVocab'), flagOption('uncached'), pathOption('image', '.png'),
      refusedOption('maxNewTokens', '--maxNewTokens does not apply to image checkpoints: each sample is a whole image (or the rows after --complete=ROWS)')],
    generate: (req) => {
      const o = req.options, count = o.number('count') ?? 16, complete = o.number('complete') ?? 0, out = o.string('out') ?? 'samples.png';
      const imagePath = o.string('image');
      if (imagePath !== undefined && complete === 0) throw new UsageError(`--image=${imagePath} is an image to complete: give --complete=ROWS (the rows kept from it)`);
      checkOutputAgainst(req.ctx.fs, out, 'output', [...req.ctx.inputs, imagePath], IMAGE_FILES);
      const images = imagesToGenerate(req.data, req.ctx.fs, complete, imagePath, req.ctx.log);
      const progress = req.ctx.progress(count, 'generate', 1);
      const r = imageSamples(req.model, images, {
        count, complete, temperature: o.number('temperature') ?? 1, topK: o.number('topK') ?? 0, topP: o.number('topP') ?? 1, seed: o.number('seed') ?? 0,
        fullVocab: o.flag('fullVocab'), cached: !o.flag('uncached'), columns: o.number('columns') ?? (complete > 0 ? 3 : Math.ceil(Math.sqrt(count))),
        scale: o.number('scale'),
      }, (done) => progress.update(done, {}));
      progress.finish();
      req.ctx.fs.writeAtomic(out, encodePng(r.grid));
      if (!req.ctx.json) req.ctx.write(`wrote ${out}: ${count} ${complete > 0 ? `completions from the first ${complete} rows (original | given | completed)` : 'samples'}\n`);
      return { out, count, complete, seconds: r.seconds, subpixelsPerSecond: r.subpixelsPerSecond, restricted: !o.flag('fullVocab') };
    },
    sampleOutputs: (checkpointPath) => [samplesPngPath(checkpointPath)],
    sample: (req) => {
      const out = samplesPngPath(req.checkpointPath);
      const images = (req.opened as ReturnType<typeof openImages>).testImages;
      const r = imageSamples(req.model, images, { count: 16, complete: 0, temperature: 1, topK: 0, topP: 1, seed: req.seed, fullVocab: false, cached: true,
        columns: 4, scale: undefined });
      req.ctx.fs.writeAtomic(out, encodePng(r.grid));
      return [`wrote ${out}: 16 samples`];
    },
  };
}

export const imagesModality = imageModality('images');
export const syntheticImagesModality = imageModality('synthetic-images');
