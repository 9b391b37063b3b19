#!/usr/bin/env node
// Long-range structure in music (issue 14, docs/music.md): the synthetic-music preset (themes that
// return transposed 98 events later) trained with its full context (M 256: the theme is in view
// when its return is played) and with the context cut short (M 64: it is not), then, for each,
// greedy continuations of the 64 validation pieces from each return's first note, scored against
// the truth (music-return.ts), NLL per event on the validation pieces, and one continuation's MIDI
// and piano roll in docs/.
//   node scripts/music-structure.mjs [--steps=3000] [--threads=1] [--only=full,short] [--measure=true] [--curve=true]
// Training logs and checkpoints go to runs/music/; results to docs/music.json. While a run trains,
// each checkpoint it saves (every 1,000 steps) is copied to runs/music/curve/NAME-STEP.safetensors;
// --curve=true scores those copies for the return-accuracy curve (docs/music-return-curve.svg).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from './options.mjs';

const opts = parseOptions(process.argv.slice(2), ['steps', 'threads', 'only', 'measure', 'curve']);
const steps = opts.steps ?? '3000', threads = opts.threads ?? '1';
const RUNS = { full: [], short: ['--contextLength=64', '--numLatents=64'] };
const names = Object.keys(RUNS).filter((n) => !opts.only || opts.only.split(',').includes(n));
const root = join(import.meta.dirname, '..'), cli = join(root, 'dist', 'src', 'cli', 'main.js'), runs = join(root, 'runs', 'music');
const jsonPath = join(root, 'docs', 'music.json');
mkdirSync(runs, { recursive: true });
const latest = () => (existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : { runs: {} });
const save = (name, entry) => { const all = latest(); all.runs[name] = { ...all.runs[name], ...entry }; writeFileSync(jsonPath, JSON.stringify(all, null, 2) + '\n'); };
const cliRun = (args) => {
  console.log(`perceiver-ar ${args.join(' ')}`);
  const p = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) { console.error(`failed (exit ${p.status}):\n${p.stderr.slice(-2000)}`); process.exit(1); }
  return { metrics: JSON.parse(p.stdout.trim().split('\n').pop()), log: p.stderr };
};

/**
 * A training run in a child process; while it runs, every checkpoint it saves (every 1,000 steps)
 * is copied to runs/music/curve/NAME-STEP.safetensors for the return-accuracy curve.
 */
async function trainWithSnapshots(name, args, checkpoint) {
  console.log(`perceiver-ar ${args.join(' ')}`);
  const { readCheckpointInfo } = await import('../dist/src/platform/node/checkpoint.js');
  mkdirSync(join(runs, 'curve'), { recursive: true });
  rmSync(checkpoint, { force: true });
  const seen = new Set();
  const snap = () => {
    try {
      const step = existsSync(checkpoint) ? readCheckpointInfo(checkpoint).state?.step : undefined;
      if (step && !seen.has(step)) { copyFileSync(checkpoint, join(runs, 'curve', `${name}-${step}.safetensors`)); seen.add(step); }
    } catch { /* being written: the next poll takes it */ }
  };
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', log = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { log += d; });
  const timer = setInterval(snap, 10_000);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(timer);
  snap();
  if (code !== 0) { console.error(`failed (exit ${code}):\n${log.slice(-2000)}`); process.exit(1); }
  return { metrics: JSON.parse(stdout.trim().split('\n').pop()), log };
}

if (opts.curve === 'true') {
  const { readdirSync } = await import('node:fs');
  const { createEngine } = await import('../dist/src/node.js');
  const { loadCheckpoint } = await import('../dist/src/platform/node/checkpoint.js');
  const { syntheticMusicSplit } = await import('../dist/src/data/synthetic-music.js');
  const { returnAccuracy } = await import('../dist/src/train/music-return.js');
  const engine = await createEngine({ threads: Number(threads) }), pieces = syntheticMusicSplit('validation'), all = latest();
  all.curve ??= {};
  for (const f of readdirSync(join(runs, 'curve')).filter((x) => x.endsWith('.safetensors')).sort()) {
    const key = f.replace('.safetensors', '');
    if (all.curve[key]) continue;
    const s = returnAccuracy(loadCheckpoint(join(runs, 'curve', f), engine).model, pieces);
    all.curve[key] = { eventAccuracy: s.eventAccuracy, noteAccuracy: s.noteAccuracy, recallAccuracy: s.recallAccuracy };
    console.log(`${key}: events ${(100 * s.eventAccuracy).toFixed(1)}%, notes ${(100 * s.noteAccuracy).toFixed(1)}%, recalled ${(100 * s.recallAccuracy).toFixed(1)}%`);
  }
  writeFileSync(jsonPath, JSON.stringify({ ...latest(), curve: all.curve }, null, 2) + '\n');
  await engine.dispose();
  // docs/music-return-curve.svg: recall and exact-note accuracy of the returns against training steps.
  const { lineChartsSvg } = await import('../dist/bench/context-chart.js');
  const series = (metric) => ['full', 'short'].map((name) => ({
    name: name === 'full' ? 'context 256 (theme in view)' : 'context 64 (theme out of view)',
    points: Object.entries(all.curve).filter(([k]) => k.startsWith(`${name}-`)).map(([k, v]) => [Number(k.split('-')[1]), 100 * v[metric]]).sort((a, b) => a[0] - b[0]),
  }));
  writeFileSync(join(root, 'docs', 'music-return-curve.svg'), lineChartsSvg([
    { title: 'return notes recalled from the theme', xLabel: 'training step', yLabel: '% of notes', series: series('recallAccuracy'), logY: false },
    { title: 'return notes exact (transposed)', xLabel: 'training step', yLabel: '% of notes', series: series('noteAccuracy'), logY: false },
  ]));
} else if (opts.measure !== 'true') {
  for (const name of names) {
    const checkpoint = join(runs, `synthetic-${name}.safetensors`);
    const args = ['train', '--preset=synthetic-music', ...RUNS[name], `--steps=${steps}`, '--checkpointEvery=1000', `--threads=${threads}`, `--checkpoint=${checkpoint}`, '--json'];
    const { metrics: m, log } = await trainWithSnapshots(name, args, checkpoint);
    writeFileSync(join(runs, `synthetic-${name}.log`), log);
    console.log(`  → validation ${m.nats.toFixed(4)} nats/event after ${m.steps} steps, ${(m.seconds / 60).toFixed(1)} min`);
    save(name, { command: `perceiver-ar ${args.join(' ').replaceAll(`${root}/`, '')}`, steps: m.steps, trainSeconds: m.seconds, validationNats: m.nats, date: new Date().toISOString().slice(0, 10) });
  }
} else {
  const { createEngine } = await import('../dist/src/node.js');
  const { loadCheckpoint } = await import('../dist/src/platform/node/checkpoint.js');
  const { syntheticMusicSplit } = await import('../dist/src/data/synthetic-music.js');
  const { returnAccuracy } = await import('../dist/src/train/music-return.js');
  const { writeMusic } = await import('../dist/src/data/modalities/music.js');
  const { nodeFileSystem } = await import('../dist/src/platform/node/file-system.js');
  const { continueEvents } = await import('../dist/src/sample/continue-music.js');
  const { pianoRoll } = await import('../dist/src/data/pianoroll.js');
  const { writePng } = await import('../dist/src/platform/node/image-files.js');
  const engine = await createEngine({ threads: Number(threads) });
  // The validation pieces of data=synthetic-music, with their ground truth.
  const pieces = syntheticMusicSplit('validation');
  for (const name of names) {
    const checkpoint = join(runs, `synthetic-${name}.safetensors`);
    const { model } = loadCheckpoint(checkpoint, engine);
    const started = performance.now();
    const score = returnAccuracy(model, pieces);
    const { metrics: nll } = cliRun(['eval', `--checkpoint=${checkpoint}`, `--threads=${threads}`, '--json']);
    console.log(`${name}: return events ${(100 * score.eventAccuracy).toFixed(1)}%, notes ${(100 * score.noteAccuracy).toFixed(1)}%, ` +
      `recalled from the theme ${(100 * score.recallAccuracy).toFixed(1)}%, ` +
      `NLL ${nll.nats.toFixed(4)} nats/event (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    // Piece 0: prompt through its second return's first note, greedy continuation to the return's end → docs/music-return-NAME.mid/.png.
    const p = pieces[0], ret = p.returns[1];
    const m = continueEvents(model, p.events.subarray(0, ret.start + 1),
      { maxNewTokens: ret.end - ret.start - 1, seconds: 0, temperature: 0, topK: 0, topP: 1, seed: 0, cached: true });
    writeMusic(nodeFileSystem, join(root, 'runs', 'music', `return-${name}.mid`), m);
    // The figures in docs/: this cycle only (its theme, episode and return), prompt blue, continuation orange.
    const from = p.notes[48].start, splitAt = p.notes[80].start - from;
    const cycle = (notes) => notes.filter((n) => n.start >= from - 1e-9 && n.start < p.notes[95].end).map((n) => ({ ...n, start: n.start - from, end: n.end - from }));
    const look = { splitAt, pixelsPerSecond: 80, pixelsPerPitch: 6 };
    writePng(join(root, 'docs', `music-return-${name}.png`), pianoRoll(cycle(m.notes), look));
    writePng(join(root, 'docs', 'music-return-truth.png'), pianoRoll(cycle(p.notes), look));
    save(name, { eventAccuracy: score.eventAccuracy, noteAccuracy: score.noteAccuracy, recallAccuracy: score.recallAccuracy, returnEvents: score.events, returnNotes: score.notes,
      nats: nll.nats, bitsPerEvent: nll.bitsPerEvent, validationPieces: nll.pieces });
  }
  await engine.dispose();
}
