// PNG bytes ↔ images through the pure-JS `fast-png` package (Node and browsers alike).
// Conventions: greyscale PNGs (with or without alpha) are 1-channel, every other colour type
// 3-channel RGB; alpha is dropped (not composited), palettes are expanded, 1/2/4-bit samples are
// stretched to 0–255 and 16-bit samples reduced to 8 bits (rounded: v / 257). Chunk CRCs are
// checked; interlaced PNGs with fewer than 8 bits per sample are refused (fast-png's Adam7 path
// does not handle them).
import { convertIndexedToRgb, decode, encode, type DecodedPng } from 'fast-png';
import { DataError } from '../errors.js';
import type { Image } from './images.js';

/** Samples of a decoded PNG as one 8-bit value each (unpacking 1/2/4-bit rows, reducing 16-bit). */
function samples8(png: DecodedPng): Uint8Array {
  const n = png.width * png.height * png.channels, out = new Uint8Array(n);
  if (png.depth === 8) { out.set(png.data.subarray(0, n)); return out; }
  if (png.depth === 16) { for (let i = 0; i < n; i++) out[i] = Math.round(png.data[i]! / 257); return out; }
  const depth = png.depth, perRow = png.width * png.channels, rowBytes = Math.ceil((perRow * depth) / 8), max = (1 << depth) - 1;
  for (let y = 0; y < png.height; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth, byte = png.data[y * rowBytes + (bit >> 3)]!;
      out[y * perRow + i] = Math.round((((byte >> (8 - depth - (bit & 7))) & max) * 255) / max);
    }
  }
  return out;
}

/** Decodes PNG bytes (what = the file, for messages). */
export function decodePng(bytes: Uint8Array, what: string): Image {
  // IHDR (the first chunk): bit depth at byte 24, interlace method at byte 28.
  if (bytes.length > 28 && bytes[28] === 1 && bytes[24]! < 8) {
    throw new DataError(`${what}: an interlaced (Adam7) PNG with ${bytes[24]}-bit samples is not supported; save it without interlacing or with 8-bit samples`);
  }
  let png: DecodedPng;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (e) {
    throw new DataError(`${what}: not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height } = png, count = width * height;
  let data: Uint8Array, from: number;
  if (png.palette) {
    try {
      data = convertIndexedToRgb(png);
    } catch (e) {
      throw new DataError(`${what}: not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
    }
    from = data.length / count;
  } else {
    data = samples8(png);
    from = png.channels;
  }
  // 1 grey, 2 grey + alpha → 1 channel; 3 RGB, 4 RGBA → 3 channels.
  const channels: 1 | 3 = from <= 2 ? 1 : 3, pixels = new Uint8Array(count * channels);
  for (let i = 0; i < count; i++) for (let c = 0; c < channels; c++) pixels[i * channels + c] = data[i * from + c]!;
  return { shape: { width, height, channels }, pixels };
}

/** PNG bytes of an image (8-bit greyscale or RGB). */
export function encodePng(image: Image): Uint8Array {
  const { width, height, channels } = image.shape;
  return encode({ width, height, data: image.pixels, depth: 8, channels });
}
