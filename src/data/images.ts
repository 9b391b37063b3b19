// Images as Perceiver AR sequences (spec images §1–§2): an H×W image with Ch channels (1 grey,
// 3 RGB) becomes [SOS, subpixel + 3 …] in raster order with the channel innermost (no EOS); each
// event carries coordinates (x, y, channel), shifted by +1 for SOS, which is (1, 1, 1):
//   subpixel s (0-based) = row r, column c, channel k  →  event 2 + s at (c + 2, r + 2, k + 2).
// Pure data code: no file access (platform/node/image-files.ts reads PNG and IDX files).
import type { Codec } from './codec.js';
import { BYTE_OFFSET, PAD, SOS } from './vocab.js';

export interface ImageShape {
  readonly width: number;
  readonly height: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: 1 | 3;
}

/** One image: width·height·channels 8-bit subpixels, raster order, channel innermost. */
export interface Image {
  readonly shape: ImageShape;
  readonly pixels: Uint8Array;
}

export const subpixelCount = (s: ImageShape): number => s.width * s.height * s.channels;
/** Events of an encoded image: SOS and every subpixel. */
export const imageEvents = (s: ImageShape): number => 1 + subpixelCount(s);
export const describeShape = (s: ImageShape): string => `${s.width}×${s.height} ${s.channels === 1 ? 'grey' : 'RGB'}`;

export function checkShape(s: ImageShape): ImageShape {
  if (!Number.isInteger(s.width) || s.width < 1 || !Number.isInteger(s.height) || s.height < 1) {
    throw new RangeError(`image shape: width and height must be positive integers, got ${s.width}×${s.height}`);
  }
  if (s.channels !== 1 && s.channels !== 3) throw new RangeError(`image shape: channels must be 1 (grey) or 3 (RGB), got ${String(s.channels)}`);
  return s;
}

/** [SOS, subpixel + 3 …]: imageEvents(shape) ids. */
export function encodeImage(image: Image): Int32Array {
  const n = subpixelCount(image.shape);
  if (image.pixels.length !== n) throw new RangeError(`encodeImage: ${describeShape(image.shape)} needs ${n} subpixels, got ${image.pixels.length}`);
  const ids = new Int32Array(n + 1);
  ids[0] = SOS;
  for (let i = 0; i < n; i++) ids[i + 1] = image.pixels[i]! + BYTE_OFFSET;
  return ids;
}

/**
 * Subpixel ids (without SOS) back to an image; missing subpixels and reserved ids (which a model
 * sampling with the full vocabulary may emit) become 0, as the reference's decoder clamps them.
 */
export function decodeImage(ids: ArrayLike<number>, shape: ImageShape): Image {
  const n = subpixelCount(shape), pixels = new Uint8Array(n);
  for (let i = 0; i < Math.min(n, ids.length); i++) {
    const v = ids[i]! - BYTE_OFFSET;
    pixels[i] = v >= 0 && v < 256 ? v : 0;
  }
  return { shape, pixels };
}

/** (x, y, channel) of event e (1-based; e = 1 is SOS), as spec images §2. */
export function imageCoordinates(shape: ImageShape): (event: number) => [number, number, number] {
  const { width: W, channels: Ch } = shape;
  return (e) => {
    if (e <= 1) return [1, 1, 1];
    const s = e - 2;
    return [(Math.floor(s / Ch) % W) + 2, Math.floor(s / (W * Ch)) + 2, (s % Ch) + 2];
  };
}

/** The largest coordinate an image of this shape has (a coordinate table needs maxPosition ≥ it). */
export const maxImageCoordinate = (s: ImageShape): number => Math.max(s.width, s.height, s.channels) + 1;

/** The image codec: vocabulary 259, three coordinates, and only pixel ids to sample (never PAD, EOS or SOS). */
export function imageCodec(shape: ImageShape): Codec {
  checkShape(shape);
  const pixelIds = new Uint8Array(256 + BYTE_OFFSET).fill(1, BYTE_OFFSET);
  pixelIds[PAD] = 0;
  return {
    kind: 'images', description: describeShape(shape), vocabSize: 256 + BYTE_OFFSET, coordinateDims: 3, maxCoordinate: maxImageCoordinate(shape),
    coordinates: imageCoordinates(shape), allowedAt: () => pixelIds, sequenceLength: imageEvents(shape),
  };
}
