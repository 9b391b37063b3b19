// Generated RGB images with structure at a distance (for tests and an RGB demo: no RGB dataset is
// reachable here). Each image: a background colour, a horizontal band whose colour is the
// background's complement, and a filled square in the top half that is mirrored, in the same
// colour, in the bottom half — so the bottom half is determined by the top half (long-range
// structure), and the band links the two halves' colours. Values are exact multiples of 16 plus a
// small noise, so a model has something to learn at every scale.
import { Rng } from '../tensor/rng.js';
import { checkShape, type Image, type ImageShape } from './images.js';

export function syntheticImages(count: number, seed: number, shape: ImageShape = { width: 32, height: 32, channels: 3 }): Image[] {
  checkShape(shape);
  const { width: W, height: H, channels: Ch } = shape;
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const bg = Array.from({ length: Ch }, () => 16 * rng.int(16));
    const band = bg.map((v) => 240 - v);
    const square = Array.from({ length: Ch }, () => 16 * rng.int(16));
    const size = 3 + rng.int(Math.max(1, Math.floor(Math.min(W, H) / 4)));
    const x0 = rng.int(Math.max(1, W - size)), y0 = rng.int(Math.max(1, Math.floor(H / 2) - size));
    const bandRow = Math.floor(H / 2) - 1;
    const pixels = new Uint8Array(W * H * Ch);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const mirrorY = H - 1 - y;
        const inSquare = x >= x0 && x < x0 + size && ((y >= y0 && y < y0 + size) || (mirrorY >= y0 && mirrorY < y0 + size));
        const colour = inSquare ? square : y === bandRow || y === bandRow + 1 ? band : bg;
        for (let c = 0; c < Ch; c++) pixels[(y * W + x) * Ch + c] = Math.min(255, colour[c]! + rng.int(4));
      }
    }
    return { shape, pixels };
  });
}
