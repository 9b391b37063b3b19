// PNG bytes ↔ images through the pure-JS `fast-png` package (Node and browsers alike).
// Conventions: greyscale PNGs (with or without alpha) are 1-channel, every other colour type
// 3-channel RGB; alpha is dropped (not composited), palettes are expanded, 1/2/4-bit samples are
// stretched to 0–255 and 16-bit samples reduced to 8 bits (rounded: v / 257). Chunk CRCs are
// checked; interlaced PNGs with fewer than 8 bits per sample are refused (fast-png's Adam7 path
// does not handle them). Before anything is inflated or allocated, the chunk layout is walked and
// the declared size is checked against a limit and against what the compressed data can hold
// (checkPngLayout), so a damaged or hostile header costs nothing.
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

/** The most pixels a PNG may declare (8192 × 8192): larger images are refused before any allocation. */
export const MAX_PNG_PIXELS = 8192 * 8192;

/** deflate's largest compression ratio (258-byte matches coded in 2 bits): no IDAT inflates to more. */
const MAX_DEFLATE_RATIO = 1032;

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS_OF_COLOUR_TYPE: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** What checkPngLayout read from the chunks: the header's facts and how many compressed bytes the IDAT chunks hold. */
export interface PngLayout { readonly width: number; readonly height: number; readonly depth: number; readonly interlaced: boolean; readonly idatBytes: number }

/**
 * Walks a PNG's chunks without inflating anything: signature, chunk lengths within the file, IHDR
 * first, sides of at least 1 and at most MAX_PNG_PIXELS pixels, IDAT present and large enough to
 * inflate to the rows the header declares (DataError naming `what` otherwise).
 */
export function checkPngLayout(bytes: Uint8Array, what: string): PngLayout {
  const fail = (msg: string): never => { throw new DataError(`${what}: ${msg}`); };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file (it does not start with the PNG signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), type = (at: number): string => String.fromCharCode(...bytes.subarray(at + 4, at + 8));
  let at = 8, idatBytes = 0, header: Omit<PngLayout, 'idatBytes'> | null = null, colourType = 0, ended = false;
  while (at < bytes.length && !ended) {
    if (bytes.length - at < 12) fail(`truncated: a chunk at byte ${at} is cut off`);
    const length = view.getUint32(at), name = type(at);
    if (at + 12 + length > bytes.length) fail(`truncated: chunk ${name} at byte ${at} declares ${length} bytes, ${bytes.length - at - 12} remain`);
    if (header === null && name !== 'IHDR') fail(`the first chunk is ${name}, not the IHDR header`);
    if (name === 'IHDR') {
      if (length !== 13) fail(`the IHDR header has ${length} bytes, not 13`);
      header = { width: view.getUint32(at + 8), height: view.getUint32(at + 12), depth: bytes[at + 16]!, interlaced: bytes[at + 20] === 1 };
      colourType = bytes[at + 17]!;
    } else if (name === 'IDAT') {
      idatBytes += length;
    } else if (name === 'IEND') {
      ended = true;
    }
    at += 12 + length;
  }
  if (header === null) fail('no IHDR header');
  const { width, height, depth, interlaced } = header!;
  if (width === 0 || height === 0) fail(`the header declares ${width}×${height} pixels; both sides must be at least 1`);
  if (width * height > MAX_PNG_PIXELS) fail(`the header declares ${width}×${height} pixels; at most ${MAX_PNG_PIXELS.toLocaleString('en-US')} (8192×8192) are read`);
  if (idatBytes === 0) fail('no image data (no IDAT chunk)');
  const channels = CHANNELS_OF_COLOUR_TYPE[colourType];
  if (channels === undefined) fail(`colour type ${colourType} is not a PNG colour type (0, 2, 3, 4 or 6)`);
  // Non-interlaced rows: a filter byte and the packed samples each (an interlaced image needs a little more).
  const rawBytes = height * (1 + Math.ceil((width * channels! * depth) / 8));
  if (rawBytes > idatBytes * MAX_DEFLATE_RATIO + 1024) {
    fail(`the header declares ${width}×${height} pixels (${rawBytes.toLocaleString('en-US')} bytes of rows) but its image data is ${idatBytes} compressed bytes, ` +
      'too few to hold them: the file is truncated or damaged');
  }
  return { ...header!, idatBytes };
}

/** A decoder's error in words about the file (fast-png's own messages name no file and little cause). */
function damageOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e), crc = /CRC mismatch for chunk (\w+)/.exec(text);
  if (crc) return `chunk ${crc[1]} is damaged (its checksum does not match)`;
  if (/filter/i.test(text)) return 'its image data ends early or is damaged (rows are missing)';
  if (/decompress|zlib|inflate|invalid|stream|distance|code/i.test(text)) return 'its compressed image data (IDAT) is damaged';
  return `not a readable PNG (${text})`;
}

/** Decodes PNG bytes (what = the file, for messages). */
export function decodePng(bytes: Uint8Array, what: string): Image {
  const layout = checkPngLayout(bytes, what);
  if (layout.interlaced && layout.depth < 8) {
    throw new DataError(`${what}: an interlaced (Adam7) PNG with ${layout.depth}-bit samples is not supported; save it without interlacing or with 8-bit samples`);
  }
  let png: DecodedPng;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (e) {
    throw new DataError(`${what}: ${damageOf(e)}`);
  }
  if (png.width !== layout.width || png.height !== layout.height) throw new DataError(`${what}: decoded as ${png.width}×${png.height}, its header says ${layout.width}×${layout.height}`);
  const need = Math.ceil((png.width * png.channels * png.depth) / 8) * png.height / (png.depth === 16 ? 2 : 1);
  if (!png.palette && png.data.length < need) throw new DataError(`${what}: its image data ends early (${png.data.length} of ${need} samples): the file is truncated or damaged`);
  const { width, height } = png, count = width * height;
  let data: Uint8Array, from: number;
  if (png.palette) {
    try {
      data = convertIndexedToRgb(png);
    } catch (e) {
      throw new DataError(`${what}: ${damageOf(e)}`);
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
