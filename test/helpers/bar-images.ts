// Labelled 8×8 grey images for classifier tests, as IDX files: class 0 has a bright bar in column
// 1, class 1 in column 6 (which half holds the bar is the class).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../../src/tensor/rng.js';

/** Writes `${prefix}-images-idx3-ubyte` and `${prefix}-labels-idx1-ubyte` (n images, classes drawn from rng) into dir. */
export function writeBarImages(dir: string, prefix: string, n: number, rng: Rng): void {
  const img = new Uint8Array(16 + n * 64), lab = new Uint8Array(8 + n), vi = new DataView(img.buffer), vl = new DataView(lab.buffer);
  vi.setUint32(0, 2051); vi.setUint32(4, n); vi.setUint32(8, 8); vi.setUint32(12, 8); vl.setUint32(0, 2049); vl.setUint32(4, n);
  for (let i = 0; i < n; i++) {
    const cls = rng.int(2);
    lab[8 + i] = cls;
    for (let y = 0; y < 8; y++) img[16 + i * 64 + y * 8 + (cls ? 6 : 1)] = 250;
  }
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), img);
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), lab);
}

/** One image of class 1 (the bar in column 6), 8×8 grey pixels. */
export function rightBar(): Uint8Array {
  const bar = new Uint8Array(64);
  for (let y = 0; y < 8; y++) bar[y * 8 + 6] = 250;
  return bar;
}
