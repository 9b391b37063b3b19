// A heatmap as an RGB image: values [rows·cols] (raster order) shaded on the viridis colour scale
// from 0 (dark blue) to the largest value (yellow), each cell a cell×cell square with a 1-pixel
// dark grid line, and a colour bar (0 → max, left to right) under the grid.
import type { Image } from './images.js';
import { maxOf } from '../tensor/extent.js';

// Viridis at 0, 0.25, 0.5, 0.75, 1 (matplotlib's table, sampled).
const STOPS: readonly (readonly [number, number, number])[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** The viridis colour of t in [0, 1] (linear between the stops). */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
  const a = STOPS[i]!, b = STOPS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as [number, number, number];
}

type Put = (x: number, y: number, rgb: readonly number[]) => void;

/** An RGB canvas of width × height, white, with a pixel setter. */
function canvas(width: number, height: number): { image: Image; put: Put } {
  const pixels = new Uint8Array(width * height * 3).fill(255);
  const put: Put = (x, y, c) => { const o = (y * width + x) * 3; pixels[o] = c[0]!; pixels[o + 1] = c[1]!; pixels[o + 2] = c[2]!; };
  return { image: { shape: { width, height, channels: 3 }, pixels }, put };
}

/** Draws a rows×cols grid of cell×cell squares at (x0, y0), value / max on viridis, 1-pixel dark grid lines. */
function drawCells(put: Put, x0: number, y0: number, values: readonly number[], rows: number, cols: number, cell: number, max: number): void {
  for (let y = 0; y < rows * cell; y++) {
    for (let x = 0; x < cols * cell; x++) {
      const edge = x % cell === 0 || y % cell === 0;
      put(x0 + x, y0 + y, edge ? [30, 30, 30] : viridis(values[Math.floor(y / cell) * cols + Math.floor(x / cell)]! / max));
    }
  }
}

/** The colour bar (0 → max, left to right) over the full width, rows y0..height. */
function drawBar(put: Put, width: number, y0: number, height: number): void {
  for (let y = y0; y < height; y++) for (let x = 0; x < width; x++) put(x, y, viridis(x / Math.max(1, width - 1)));
}

const largestFinite = (values: readonly number[]): number => Math.max(maxOf(values.filter(Number.isFinite), 0), 0) || 1;

export function heatmapImage(values: readonly number[], rows: number, cols: number, cell: number): Image {
  if (values.length !== rows * cols) throw new RangeError(`heatmapImage: ${values.length} values for a ${rows}×${cols} grid`);
  if (!Number.isInteger(cell) || cell < 2) throw new RangeError(`heatmapImage: cell must be an integer ≥ 2, got ${cell}`);
  const width = cols * cell, barTop = rows * cell + 4, height = barTop + Math.max(6, cell >> 1), { image, put } = canvas(width, height);
  drawCells(put, 0, 0, values, rows, cols, cell, largestFinite(values));
  drawBar(put, width, barTop, height);
  return image;
}

/**
 * Bank reads per class as one picture: one column per group (e.g. all images, then each class),
 * the group's mean image on top (greyscale or RGB, enlarged `scale`×) and its read heatmap below,
 * cell-aligned with the image (each bank patch of side `patch` pixels is one cell), all on one
 * colour scale (0 → the largest value of any group), with the colour bar along the bottom.
 * means: [group] images of width W = cols·patch and height H = rows·patch; values: [group][rows·cols].
 */
export function bankReadFigure(means: readonly Image[], values: readonly (readonly number[])[], rows: number, cols: number, patch: number, scale: number): Image {
  if (means.length !== values.length || means.length === 0) throw new RangeError(`bankReadFigure: ${means.length} images for ${values.length} heatmaps`);
  const cell = patch * scale, tileW = cols * cell, tileH = rows * cell, gap = 6, max = largestFinite(values.flat());
  const width = means.length * (tileW + gap) - gap, barTop = 2 * tileH + 2 * gap, height = barTop + 8, { image, put } = canvas(width, height);
  means.forEach((img, g) => {
    const { width: W, height: H, channels: Ch } = img.shape;
    if (W !== cols * patch || H !== rows * patch) throw new RangeError(`bankReadFigure: image ${g} is ${W}×${H}, the grid needs ${cols * patch}×${rows * patch}`);
    if (values[g]!.length !== rows * cols) throw new RangeError(`bankReadFigure: heatmap ${g} has ${values[g]!.length} values for a ${rows}×${cols} grid`);
    const x0 = g * (tileW + gap);
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const src = (Math.floor(y / scale) * W + Math.floor(x / scale)) * Ch;
        put(x0 + x, y, Ch === 1 ? [img.pixels[src]!, img.pixels[src]!, img.pixels[src]!] : [img.pixels[src]!, img.pixels[src + 1]!, img.pixels[src + 2]!]);
      }
    }
    drawCells(put, x0, tileH + gap, values[g]!, rows, cols, cell, max);
  });
  drawBar(put, width, barTop, height);
  return image;
}
