#!/usr/bin/env node
// AdaTape on images (spec adatape §2, issue 13 item 6): Fashion-MNIST classification by a small ViT
// over 7×7 patches (the no-tape control: for image input the 'no-tape' and 'transformer' networks
// are the same ViT), AdaTape with an input-driven bank (the image in 4×4 patches, own position
// table and Dense) and with a learnable bank, and a Universal Transformer ViT with ACT. Each run is
// `perceiver-ar train --task=images …` in its own process with a checkpoint under runs/; then
// (--measure=true) every checkpoint is evaluated on the whole test set with forward images/s and,
// for the input-driven bank, the bank-read heatmap (docs/adatape-images-heatmap.png).
//   node scripts/adatape-images.mjs [--dataPath=/usr/share/datasets/fashion-mnist] [--steps=3000] [--threads=1] [--only=vit,…]
//     [--seed=0] [--measure=true] [--measureThreads=2]
// Results accumulate in docs/adatape-images.json (finished runs are skipped); the table is printed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from './options.mjs';

const opts = parseOptions(process.argv.slice(2), ['dataPath', 'steps', 'threads', 'only', 'measure', 'measureThreads', 'seed']);
const dataPath = opts.dataPath ?? '/usr/share/datasets/fashion-mnist', steps = opts.steps ?? '3000', threads = opts.threads ?? '1', seed = opts.seed ?? '0';
const RUNS = {
  vit: ['--model=transformer'],
  'adatape-input': ['--model=adatape', '--bank=input'],
  'adatape-learnable': ['--model=adatape', '--bank=learnable', '--bankSize=32'],
  'uvit-act': ['--model=universal', '--maxSteps=6'],
};
const names = Object.keys(RUNS).filter((n) => !opts.only || opts.only.split(',').includes(n));
/** Results and checkpoints of seed 0 go under the run's name, other seeds under NAME-seedS. */
const idOf = (name) => (seed === '0' ? name : `${name}-seed${seed}`);
const root = join(import.meta.dirname, '..'), cli = join(root, 'dist', 'src', 'cli', 'main.js'), runsDir = join(root, 'runs', 'adatape-images');
const jsonPath = join(root, 'docs', 'adatape-images.json');
mkdirSync(runsDir, { recursive: true });
const latest = () => (existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : { runs: {} });
const cliRun = (args) => {
  console.log(`perceiver-ar ${args.join(' ')}`);
  const p = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) { console.error(`failed (exit ${p.status}):\n${p.stderr.slice(-2000)}`); process.exit(1); }
  return { metrics: JSON.parse(p.stdout.trim().split('\n').pop()), log: p.stderr };
};
const save = (name, entry) => {
  const all = latest();
  all.runs[name] = { ...all.runs[name], ...entry };
  writeFileSync(jsonPath, JSON.stringify(all, null, 2) + '\n');
};

for (const name of opts.measure === 'true' ? [] : names) {
  const key = `${steps}|${seed}`, id = idOf(name);
  if (latest().runs[id]?.key === key) continue;
  const checkpoint = join(runsDir, `${id}.safetensors`);
  const args = ['train', '--task=images', `--dataPath=${dataPath}`, ...RUNS[name], `--steps=${steps}`, `--seed=${seed}`, `--threads=${threads}`,
    `--checkpoint=${checkpoint}`, '--json'];
  const { metrics: m, log } = cliRun(args);
  const curve = [...log.matchAll(/step (\d+): .*test accuracy ([\d.]+)%.*?(?:tape ([\d.]+) ± ([\d.]+))?$/gm)]
    .map((x) => ({ step: Number(x[1]), accuracy: Number(x[2]) / 100, tape: x[3] ? Number(x[3]) : null }));
  console.log(`  → ${(100 * m.accuracy).toFixed(2)}% on the first 2,048 test images, ${m.seconds.toFixed(0)} s`);
  save(id, { key, seed: Number(seed), command: `perceiver-ar ${args.join(' ').replaceAll(`${root}/`, '')}`, trainSeconds: m.seconds, trainThreads: Number(threads), steps: m.steps, curve,
    date: new Date().toISOString().slice(0, 10) });
}

if (opts.measure === 'true') {
  for (const name of names) {
    const id = idOf(name), checkpoint = join(runsDir, `${id}.safetensors`);
    if (!existsSync(checkpoint)) { console.error(`${checkpoint} is missing: train it first`); process.exit(1); }
    const heat = id === 'adatape-input' ? [`--heatmap=${join(root, 'docs', 'adatape-images-heatmap.png')}`] : [];
    const args = ['eval', `--checkpoint=${checkpoint}`, `--dataPath=${dataPath}`, '--evalBatches=0', '--batchSize=128',
      `--threads=${opts.measureThreads ?? '2'}`, ...heat, '--json'];
    // Twice: the first pass warms the engine and the caches; the second is the figure.
    cliRun(args);
    const { metrics: m } = cliRun(args);
    console.log(`  → ${(100 * m.accuracy).toFixed(2)}%, ${m.examplesPerSecond.toFixed(0)} images/s${m.tapeMean === null ? '' : `, tape ${m.tapeMean.toFixed(2)}`}`);
    const perClass = id.startsWith('adatape') || id.startsWith('uvit') ? await tapeByClass(checkpoint) : null;
    if (perClass) console.log(`  tape length by class: ${perClass.map((x) => x.toFixed(2)).join(', ')}`);
    save(id, { tapeByClass: perClass, eval: { command: `perceiver-ar ${args.join(' ').replaceAll(`${root}/`, '')}`, accuracy: m.accuracy, crossEntropy: m.crossEntropy, examples: m.examples,
      imagesPerSecond: m.examplesPerSecond, tapeMean: m.tapeMean, tapeVariance: m.tapeVariance, threads: Number(opts.measureThreads ?? '2') } });
  }
}

const all = latest().runs;
console.log('\n| model | test accuracy | forward images/s | mean tape / ACT steps | training |\n|---|---:|---:|---:|---:|');
for (const [name, r] of Object.entries(all)) {
  const e = r.eval;
  console.log(`| ${name} | ${e ? `${(100 * e.accuracy).toFixed(2)}%` : '—'} | ${e ? e.imagesPerSecond.toFixed(0) : '—'} | ` +
    `${e?.tapeMean != null ? e.tapeMean.toFixed(2) : '—'} | ${r.steps} steps, ${(r.trainSeconds / 60).toFixed(1)} min |`);
}

/** Mean tape length (AdaTape) or ACT steps (UViT) per test class, over the whole test set. */
async function tapeByClass(checkpoint) {
  const { createEngine } = await import('../dist/src/node.js');
  const { loadClassifierCheckpoint } = await import('../dist/src/platform/node/checkpoint.js');
  const { readLabelledImages } = await import('../dist/src/platform/node/image-files.js');
  const { imageClassTestSet } = await import('../dist/src/data/image-classes.js');
  const engine = await createEngine({ threads: Number(opts.measureThreads ?? '2') });
  try {
    const { model } = loadClassifierCheckpoint(checkpoint, engine), data = readLabelledImages(dataPath);
    const sums = new Float64Array(data.classes.length), counts = new Float64Array(data.classes.length);
    for (const batch of imageClassTestSet(data.test, 128)) {
      const r = model.forward(batch);
      for (let b = 0; b < batch.batchSize; b++) { sums[batch.labels[b]] += r.tapeLengths[b]; counts[batch.labels[b]]++; }
    }
    return Array.from(sums, (x, i) => x / counts[i]);
  } finally {
    await engine.dispose();
  }
}
