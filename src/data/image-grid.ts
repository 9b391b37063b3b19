// Images laid out for people to look at: grids of samples and completions, integer enlargement.
import type { Image } from './images.js';

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
