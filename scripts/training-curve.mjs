// A training curve from `perceiver-ar train` logs (the "step N: … validation X nats/token (Y bits)"
// lines) as an SVG, with optional horizontal reference lines. Usage (after npm run build):
//   node scripts/training-curve.mjs --log=train.log[,other.log] --out=curve.svg [--title=…] [--ref="name:value,…"] [--yLabel=…]
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { lineChartsSvg } from '../dist/bench/context-chart.js';
import { parseOptions } from './options.mjs';

const o = parseOptions(process.argv.slice(2), ['log', 'out', 'title', 'ref', 'yLabel']);
if (!o.log || !o.out) { console.error('usage: node scripts/training-curve.mjs --log=FILE[,FILE] --out=FILE.svg [--title=…] [--ref="name:value,…"]'); process.exit(2); }
const series = o.log.split(',').map((file) => {
  const points = [...readFileSync(file, 'utf8').matchAll(/step (\d+): train loss [\d.]+, validation [\d.]+ nats\/token \(([\d.]+) bits\)/g)]
    .map((m) => [Number(m[1]), Number(m[2])]);
  return { name: o.log.includes(',') ? file.split('/').pop() : 'validation', points };
});
const steps = series.flatMap((s) => s.points.map(([x]) => x));
const refs = (o.ref ?? '').split(',').filter(Boolean).map((r) => {
  const [name, value] = r.split(':');
  return { name, points: [[Math.min(...steps), Number(value)], [Math.max(...steps), Number(value)]] };
});
writeFileSync(o.out, lineChartsSvg([{ title: o.title ?? 'validation', xLabel: 'step', yLabel: o.yLabel ?? 'bits per target', series: [...series, ...refs], logY: false }]));
console.log(`wrote ${o.out}: ${series.map((s) => `${s.name} (${s.points.length} points)`).join(', ')}`);
