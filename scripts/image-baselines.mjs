// Count baselines for bits/dim on an image test set (spec images §7): counts fitted on the training
// images, add-k smoothed, scored on every test subpixel. Usage (after npm run build):
//   node scripts/image-baselines.mjs [--dataPath=/usr/share/datasets/fashion-mnist] [--k=0.5] [--json=true]
import { readImageDataset } from '../dist/src/platform/node/image-files.js';
import { parseOptions } from './options.mjs';

const given = parseOptions(process.argv.slice(2), ['dataPath', 'k', 'json']);
const opts = { dataPath: given.dataPath ?? '/usr/share/datasets/fashion-mnist', k: Number(given.k ?? 0.5), json: given.json === 'true' };
const { train, test, shape } = readImageDataset(opts.dataPath, 0.1);
const W = shape.width, Ch = shape.channels, n = shape.width * shape.height * Ch;

/** A model: context(image pixels, i) → a context id; counts over (context, value). */
function fit(contexts, context) {
  const counts = new Float64Array(contexts * 256), totals = new Float64Array(contexts);
  for (const img of train) for (let i = 0; i < n; i++) { const c = context(img.pixels, i); counts[c * 256 + img.pixels[i]]++; totals[c]++; }
  let bits = 0;
  for (const img of test) {
    for (let i = 0; i < n; i++) {
      const c = context(img.pixels, i);
      bits -= Math.log2((counts[c * 256 + img.pixels[i]] + opts.k) / (totals[c] + 256 * opts.k));
    }
  }
  return bits / (test.length * n);
}
// Neighbours in the same channel; 256 marks "outside the image".
const left = (p, i) => ((i / Ch | 0) % W === 0 ? 256 : p[i - Ch]);
const up = (p, i) => (i < W * Ch ? 256 : p[i - W * Ch]);
const q = (v, d) => (v === 256 ? 256 / d : Math.floor(v / d));
const rows = [
  ['uniform', 8],
  ['one global histogram', fit(1, () => 0)],
  ['per-position histogram', fit(n, (_, i) => i)],
  ['p(x | left neighbour)', fit(257, left)],
  ['p(x | left/16, up/16)', fit(17 * 17, (p, i) => q(left(p, i), 16) * 17 + q(up(p, i), 16))],
  ['p(x | left/8, up/8)', fit(33 * 33, (p, i) => q(left(p, i), 8) * 33 + q(up(p, i), 8))],
];
if (opts.json) console.log(JSON.stringify({ data: opts.dataPath, k: opts.k, trainImages: train.length, testImages: test.length, rows }));
else {
  console.log(`count baselines on ${opts.dataPath}: ${train.length} training / ${test.length} test images, add-${opts.k} smoothing`);
  console.log('| model | bits/dim |\n|---|---:|');
  for (const [name, b] of rows) console.log(`| ${name} | ${b.toFixed(3)} |`);
}
