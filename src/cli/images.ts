// `perceiver-ar eval | generate` for image checkpoints (docs/images.md): bits/dim on the test images,
// and PNG grids of samples or of completions of test images from their first rows.
import { decodeImage, encodeImage, imageCodec, subpixelCount, type Image, type ImageShape } from '../data/images.js';
import { syntheticImages } from '../data/synthetic-images.js';
import { PAD } from '../data/vocab.js';
import type { PerceiverAR } from '../models/perceiver-ar/model.js';
import { imageGrid, readImageDataset, scaleImage, writePng } from '../platform/node/image-files.js';
import { checkOutputPath } from '../platform/node/files.js';
import { generate } from '../sample/generate.js';
import type { CheckpointInfo } from '../train/checkpoint.js';
import type { DataConfig } from '../train/config.js';
import { evaluateImages } from '../train/evaluate-images.js';
import { takeFlag, takeNumber, takePath, UsageError, type Args, isInt, type Metrics } from './args.js';
import { createProgress } from './progress.js';


export const isImageData = (d: DataConfig | null): boolean => d?.data === 'images' || d?.data === 'synthetic-images';

/** The test images of the data a checkpoint trained on (or of --dataPath), and their shape. */
function testImages(data: DataConfig, dataPath: string | undefined): { images: Image[]; shape: ImageShape; description: string } {
  if (dataPath === undefined && data.data === 'synthetic-images') {
    const images = syntheticImages(256, 2);
    return { images, shape: images[0]!.shape, description: 'synthetic 32×32 RGB test images' };
  }
  const d = readImageDataset(dataPath ?? data.dataPath, data.validationFraction);
  if (d.test.length === 0) throw new UsageError(`${d.description} has no test images; give --dataPath with a test split`);
  return { images: d.test, shape: d.shape, description: `${d.description}, test split` };
}


export function imageEvalCommand(model: PerceiverAR, info: CheckpointInfo, args: Args): Metrics {
  const c = model.config;
  const numLatents = takeNumber(args, 'numLatents', isInt(1, c.contextLength), `an integer in [1, ${c.contextLength}]`) ?? c.numLatents;
  const stride = takeNumber(args, 'stride', isInt(1, numLatents), `an integer in [1, numLatents = ${numLatents}]`) ?? Math.max(1, Math.floor(numLatents / 2));
  const batchSize = takeNumber(args, 'batchSize', isInt(1), 'an integer ≥ 1') ?? 4;
  const maxImages = takeNumber(args, 'maxImages', isInt(0), 'an integer ≥ 0 (0 = every test image)') ?? 0;
  const dataPath = takePath(args, 'dataPath'), json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const [extra] = args.keys();
  if (extra !== undefined) throw new UsageError(`unknown option --${extra} for an image eval; allowed: --stride --numLatents --batchSize --maxImages --dataPath --json --quiet`);
  const { images, description } = testImages(info.data!, dataPath);
  const progress = createProgress(1, 'eval', { tty: process.stderr.isTTY === true && !json, quiet: quiet || json, every: 1 });
  const r = evaluateImages(model, images, { stride, numLatents, batchSize, maxImages, onProgress: (done, total) => progress.update(done, { of: String(total) }) });
  progress.finish();
  if (!Number.isFinite(r.bitsPerDim)) throw new RangeError(`eval: bits/dim is not finite (${r.bitsPerDim}): the model's outputs overflow float32`);
  return { mode: 'images', stride, numLatents, bitsPerDim: r.bitsPerDim, pixelOnlyBitsPerDim: r.pixelBitsPerDim, images: r.images, subpixels: r.subpixels,
    seconds: r.seconds, data: `${description}${maxImages > 0 ? ` (first ${r.images})` : ''}` };
}

/**
 * Samples (or completions of test images from their first `complete` rows) written as a PNG grid.
 * Sampling is restricted to pixel ids unless --fullVocab (then reserved ids decode to 0).
 */
export function imageGenerateCommand(model: PerceiverAR, info: CheckpointInfo, args: Args): Metrics {
  const count = takeNumber(args, 'count', isInt(1, 1024), 'an integer in [1, 1024]') ?? 16;
  const complete = takeNumber(args, 'complete', isInt(0), 'an integer ≥ 0 (rows given)') ?? 0;
  const temperature = takeNumber(args, 'temperature', (n) => n >= 0, 'a number ≥ 0 (0 = greedy)') ?? 1;
  const topK = takeNumber(args, 'topK', isInt(0), 'an integer ≥ 0') ?? 0, topP = takeNumber(args, 'topP', (n) => n > 0 && n <= 1, 'a number in (0, 1]') ?? 1;
  const seed = takeNumber(args, 'seed', isInt(0), 'an integer ≥ 0') ?? 0;
  const out = takePath(args, 'out') ?? 'samples.png', dataPath = takePath(args, 'dataPath');
  const fullVocab = takeFlag(args, 'fullVocab'), cached = !takeFlag(args, 'uncached'), json = takeFlag(args, 'json'), quiet = takeFlag(args, 'quiet');
  const columns = takeNumber(args, 'columns', isInt(1, 64), 'an integer in [1, 64]') ?? (complete > 0 ? 3 : Math.ceil(Math.sqrt(count)));
  const scale = takeNumber(args, 'scale', isInt(1, 16), 'an integer in [1, 16]');
  if (args.has('maxNewTokens')) {
    throw new UsageError('--maxNewTokens does not apply to image checkpoints: each sample is a whole image (or the rows after --complete=ROWS)');
  }
  const [extra] = args.keys();
  if (extra !== undefined) {
    throw new UsageError(`unknown option --${extra} for image generation; allowed: --count --complete --temperature --topK --topP --seed --out --columns --scale ` +
      '--fullVocab --uncached --dataPath --json --quiet');
  }
  checkOutputPath(out, 'output');
  const { images } = testImages(info.data!, dataPath);
  const progress = createProgress(count, 'generate', { tty: process.stderr.isTTY === true && !json, quiet: quiet || json, every: 1 });
  const r = writeImageSamples(model, images, { count, complete, temperature, topK, topP, seed, fullVocab, cached, columns, scale, out },
    (done) => progress.update(done, {}));
  progress.finish();
  if (!json) console.log(`wrote ${out}: ${count} ${complete > 0 ? `completions from the first ${complete} rows (original | given | completed)` : 'samples'}`);
  return { out, count, complete, seconds: r.seconds, subpixelsPerSecond: r.subpixelsPerSecond, restricted: !fullVocab };
}

export interface ImageSampleOptions {
  readonly count: number; readonly complete: number; readonly temperature: number; readonly topK: number; readonly topP: number;
  readonly seed: number; readonly fullVocab: boolean; readonly cached: boolean; readonly columns: number; readonly scale: number | undefined;
  readonly out: string;
}

/** Samples, or completions of `images` from their first rows, written to a PNG grid. */
export function writeImageSamples(model: PerceiverAR, images: readonly Image[], o: ImageSampleOptions, onImage?: (done: number) => void):
  { seconds: number; subpixelsPerSecond: number } {
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
    const ids = [...prompt.slice(1), ...Array.from(r.tokens)];
    const result = decodeImage(ids, shape);
    if (complete > 0) {
      const masked = decodeImage([...prompt.slice(1), ...new Array<number>(total - given).fill(PAD)], shape);
      masked.pixels.fill(128, given);
      tiles.push(original, masked, result);
    } else {
      tiles.push(result);
    }
    onImage?.(i + 1);
  }
  writePng(o.out, scaleImage(imageGrid(tiles, complete > 0 ? 3 : o.columns), o.scale ?? (shape.width <= 64 ? 4 : 1)));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, subpixelsPerSecond: (count * (total - given)) / seconds };
}
