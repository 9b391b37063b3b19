// A user's own image brought to the shape a model takes: colour to grey (ITU-R BT.601 luma) or grey
// to colour, and resized (each target pixel the mean of the source pixels whose centres fall in it
// when shrinking, the nearest one when enlarging). What was changed is returned in words, for a
// notice: the model sees the fitted image, and the user should know it is not the file itself.
import { describeShape, type Image, type ImageShape } from './images.js';

export interface FittedImage {
  readonly image: Image;
  /** What was done ('RGB → grey', '280×280 → 28×28'); empty when the image already had the shape. */
  readonly changes: readonly string[];
}

function toChannels(image: Image, channels: 1 | 3): Image {
  const { width, height, channels: from } = image.shape, n = width * height, px = image.pixels;
  if (from === channels) return image;
  const pixels = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    if (channels === 1) pixels[i] = Math.round(0.299 * px[3 * i]! + 0.587 * px[3 * i + 1]! + 0.114 * px[3 * i + 2]!);
    else pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = px[i]!;
  }
  return { shape: { width, height, channels }, pixels };
}

/** Source index range [lo, hi) of the pixels whose centres fall in target cell t of `to` cells over `from` pixels (at least one: the nearest). */
function span(t: number, to: number, from: number): [number, number] {
  const lo = Math.ceil(((t * from) / to) - 0.5), hi = Math.ceil((((t + 1) * from) / to) - 0.5);
  if (hi > lo) return [lo, hi];
  const nearest = Math.min(from - 1, Math.floor(((t + 0.5) * from) / to));
  return [nearest, nearest + 1];
}

function resize(image: Image, width: number, height: number): Image {
  const { width: W, height: H, channels: Ch } = image.shape, pixels = new Uint8Array(width * height * Ch);
  for (let y = 0; y < height; y++) {
    const [y0, y1] = span(y, height, H);
    for (let x = 0; x < width; x++) {
      const [x0, x1] = span(x, width, W);
      for (let c = 0; c < Ch; c++) {
        let sum = 0;
        for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) sum += image.pixels[(sy * W + sx) * Ch + c]!;
        pixels[(y * width + x) * Ch + c] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return { shape: { width, height, channels: Ch }, pixels };
}

/** `image` converted and resized to `shape`. */
export function fitImage(image: Image, shape: ImageShape): FittedImage {
  const changes: string[] = [], s = image.shape;
  let out = image;
  if (s.channels !== shape.channels) {
    out = toChannels(out, shape.channels);
    changes.push(shape.channels === 1 ? 'RGB → grey' : 'grey → RGB');
  }
  if (s.width !== shape.width || s.height !== shape.height) {
    out = resize(out, shape.width, shape.height);
    changes.push(`${s.width}×${s.height} → ${shape.width}×${shape.height}`);
  }
  return { image: out, changes };
}

/** A notice about a fitted image (what: the file), or null when nothing was changed. */
export const fitNotice = (what: string, f: FittedImage, shape: ImageShape): string | null =>
  (f.changes.length ? `${what}: fitted to the model's ${describeShape(shape)} images (${f.changes.join(', ')})` : null);
