#!/usr/bin/env node
// Long-context copy by a length curriculum (docs/long-context.md): train the mirrored task at
// 1,024 tokens, then 2,048, 4,096, … up to --to, each length warm-started from the previous one's
// weights (--initFrom) and stopped at --accuracy. Every window is placed at positionOffset
// (to − M)/2, so mirrored pairs sit at the positions they occupy in the final --to-token task and
// the learned position map carries over; the last stage (M = to, offset 0) is the real task.
//   node scripts/copy-curriculum.mjs [--to=131072] [--from=1024] [--out=copy-curriculum] [--accuracy=0.99]
//     [--budget=7200 (seconds, whole run)] [--batchSize=4] [--threads=2]
// Resumable: a stage whose result is in OUT/results.json is skipped. Results: OUT/results.json and
// one log per stage; the command of every stage is printed and recorded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from './options.mjs';

const opts = parseOptions(process.argv.slice(2), ['to', 'from', 'out', 'accuracy', 'budget', 'batchSize', 'threads']);
const to = Number(opts.to ?? 131072), from = Number(opts.from ?? 1024), out = opts.out ?? 'copy-curriculum';
const accuracy = Number(opts.accuracy ?? 0.99), budget = Number(opts.budget ?? 7200), batchSize = Number(opts.batchSize ?? 4);
const isPow2 = (n) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
if (!isPow2(to) || !isPow2(from) || from > to || from < 64) { console.error('--from and --to must be powers of two with 64 ≤ from ≤ to'); process.exit(2); }
if (!(accuracy > 0 && accuracy <= 1)) { console.error('--accuracy must be in (0, 1]'); process.exit(2); }
mkdirSync(out, { recursive: true });
const resultsPath = join(out, 'results.json');
const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : { to, from, accuracy, stages: [] };
const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');
const started = Date.now();
let previous = null;
for (let M = from; M <= to; M *= 2) {
  const ckpt = join(out, `copy-${M}.safetensors`);
  const done = results.stages.find((s) => s.contextLength === M);
  if (done && existsSync(ckpt)) { console.log(`M ${M}: done earlier (${(100 * done.accuracy).toFixed(2)}% in ${done.seconds.toFixed(0)} s); skipped`); previous = ckpt; continue; }
  const spent = (Date.now() - started) / 1000 + results.stages.reduce((t, s) => t + s.seconds, 0);
  const left = budget - spent;
  if (left <= 0) { console.log(`budget of ${budget} s spent; stopping before M ${M}`); break; }
  const args = ['train', '--preset=mirrored-1024', `--contextLength=${M}`, `--maxPosition=${to + 1}`, `--positionOffset=${(to - M) / 2}`,
    `--batchSize=${batchSize}`, `--targetAccuracy=${accuracy}`, `--evalEvery=${M >= 8192 ? 50 : 250}`, `--timeBudgetSeconds=${Math.floor(left)}`,
    `--checkpoint=${ckpt}`, ...(M >= 16384 ? ['--checkpointEvery=50'] : []), ...(previous ? [`--initFrom=${previous}`] : []),
    ...(opts.threads ? [`--threads=${opts.threads}`] : []), '--json'];
  console.log(`M ${M}: perceiver-ar ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(join(out, `copy-${M}.log`), `${r.stderr}\n${r.stdout}`);
  if (r.status !== 0) { console.error(`M ${M} failed (exit ${r.status}); see ${join(out, `copy-${M}.log`)}\n${r.stderr.slice(-2000)}`); process.exit(1); }
  const m = JSON.parse(r.stdout.trim().split('\n').pop());
  const curve = [...r.stderr.matchAll(/step (\d+): .*greedy accuracy ([\d.]+)%/g)].map((x) => [Number(x[1]), Number(x[2]) / 100]);
  const stage = { contextLength: M, positionOffset: (to - M) / 2, steps: m.steps, seconds: m.seconds, accuracy: m.accuracy, stopReason: m.stopReason,
    validationLoss: m.validationLoss, command: `perceiver-ar ${args.join(' ')}`, curve };
  results.stages = results.stages.filter((s) => s.contextLength !== M).concat(stage);
  writeFileSync(resultsPath, JSON.stringify(results, null, 2));
  console.log(`M ${M}: ${(100 * m.accuracy).toFixed(2)}% after ${m.steps} steps, ${m.seconds.toFixed(0)} s (${m.stopReason})`);
  if (m.accuracy < accuracy) { console.log(`M ${M} did not reach ${100 * accuracy}%; the curriculum stops here`); break; }
  previous = ckpt;
}
const total = results.stages.reduce((t, s) => t + s.seconds, 0);
console.log(`training time over all stages: ${(total / 60).toFixed(1)} min; results in ${resultsPath}`);
