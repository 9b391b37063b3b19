// The layering rules of docs/architecture.md, checked on the source: the core is platform-neutral
// (it bundles for browsers with no Node import), there is no import circle, models import nothing
// from the layers above them, and the modality registry is consistent.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { DATA_DEFAULTS, DATA_KEYS, MODALITIES, validateDataConfig } from '../src/data/registry.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Code without comments and string contents (enough for these checks). */
const code = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/(['"`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');

/** Relative imports of a source file, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'/gm)]
    .map((m) => resolve(dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts')));
}

const rel = (p: string): string => relative(src, p);
const files = sources(src);
/** The core: all but the platform adapters, the command line and the Node entry. */
const core = files.filter((f) => !rel(f).startsWith('platform/') && !rel(f).startsWith('cli/') && rel(f) !== 'node.ts');

describe('layers', () => {
  it('nothing under src/ outside src/platform/ imports a Node module or uses process or Buffer', () => {
    const bad: string[] = [];
    for (const f of files.filter((x) => !rel(x).startsWith('platform/'))) {
      const text = readFileSync(f, 'utf8');
      if (/from\s+'(node:|fs'|path'|os'|zlib'|worker_threads'|koffi')/.test(text)) bad.push(`${rel(f)}: imports a Node module`);
      if (/\bprocess\.|\bBuffer\b/.test(code(text))) bad.push(`${rel(f)}: uses process or Buffer`);
    }
    assert.deepEqual(bad, []);
  });

  it('the core does not import platform or CLI code', () => {
    const bad = core.flatMap((f) => importsOf(f).filter((i) => rel(i).startsWith('platform/') || rel(i).startsWith('cli/')).map((i) => `${rel(f)} → ${rel(i)}`));
    assert.deepEqual(bad, []);
  });

  it('models import nothing from data, train, sample, cli or platform', () => {
    const above = ['data/', 'train/', 'sample/', 'cli/', 'platform/', 'presets.ts'];
    const bad = files.filter((f) => rel(f).startsWith('models/'))
      .flatMap((f) => importsOf(f).filter((i) => above.some((a) => rel(i).startsWith(a))).map((i) => `${rel(f)} → ${rel(i)}`));
    assert.deepEqual(bad, []);
  });

  it('no import circle', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const state = new Map<string, 'open' | 'done'>(), circles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') { circles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' → ')); return; }
      state.set(f, 'open');
      for (const i of graph.get(f) ?? []) visit(i, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    assert.deepEqual(circles, []);
  });

  it('the main entry bundles for browsers (esbuild, platform=browser) with no Node import', async () => {
    const reached: string[] = [];
    const result = await build({
      entryPoints: [join(src, 'index.ts')], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent',
      plugins: [{
        name: 'watch-node-imports',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (a) => {
            if (/^node:|^(fs|path|os|zlib|worker_threads|koffi|child_process|crypto)$/.test(a.path)) reached.push(`${a.path} (from ${relative(root, a.importer)})`);
            return undefined;
          });
        },
      }],
    });
    assert.deepEqual(reached, [], 'Node modules reached from the main entry');
    assert.equal(result.errors.length, 0);
    assert.ok(result.outputFiles[0]!.contents.length > 100_000, 'the bundle holds the library');
  });

  it('the Node entry is the only one that reaches the platform adapters', async () => {
    const result = await build({ entryPoints: [join(src, 'node.ts')], bundle: true, write: false, platform: 'node', format: 'esm', logLevel: 'silent',
      external: ['koffi'], metafile: true });
    assert.ok(Object.keys(result.metafile!.inputs).some((p) => p.includes('platform/node/engine.ts')));
  });
});

describe('modality registry', () => {
  it('one module per kind of data, each named once; shared keys are one definition', () => {
    const names = MODALITIES.map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    for (const m of MODALITIES) for (const [k, def] of Object.entries(m.keys)) assert.equal(DATA_KEYS.get(k), def, `${m.name}.${k}`);
    assert.deepEqual(Object.keys(DATA_DEFAULTS).sort(), ['data', ...DATA_KEYS.keys()].sort());
  });

  it('validates a data config against its modality, with messages that say what to do', () => {
    assert.throws(() => validateDataConfig({ data: 'nope' }), /data must be one of 'mirrored', 'text'/);
    assert.throws(() => validateDataConfig({ data: 'text' }), /dataPath is required when data is 'text'/);
    assert.throws(() => validateDataConfig({ data: 'subword', dataPath: 'a.txt' }), /tokenizer is required when data is 'subword'/);
    assert.throws(() => validateDataConfig({ data: 'text', dataPath: 'a', alphabet: 8 }), /alphabet is not used by text data .*alphabet applies to the mirrored task only/);
    assert.throws(() => validateDataConfig({ data: 'mirrored', bogus: 1 }), /unknown key 'bogus'/);
    assert.throws(() => validateDataConfig({ data: 'music', dataPath: 'd', augment: 'yes' }), /augment must be true or false/);
    const c = validateDataConfig({ data: 'subword', dataPath: 'a.txt', tokenizer: 't.json' });
    assert.equal(c.validationFraction, 0.05);
    assert.equal(validateDataConfig({ data: 'labelled-images' }, { requireInputs: false }).dataPath, '');
  });
});
