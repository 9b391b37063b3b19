// The layering rules of docs/architecture.md, checked on the source: the core is platform-neutral
// (it bundles for browsers with no Node import), there is no import circle, models import nothing
// from the layers above them, and the modality registry is consistent.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { DATA_DEFAULTS, DATA_KEYS, MODALITIES, validateDataConfig } from '../src/data/registry.js';

const NODE_BUILTINS = new Set(builtinModules);

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

/** Every module specifier a source file names: static and type imports, re-exports, dynamic import() and require(). */
function specifiersOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(/\b(?:from|import|require)\s*\(?\s*(['"])([^'"]+)\1/g)].map((m) => m[2]!);
}

/** Relative imports of a source file, as absolute .ts paths. */
function importsOf(file: string): string[] {
  return specifiersOf(file).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/**
 * The layers, lowest first (docs/architecture.md); a module may import its own layer and those
 * below. Utilities (errors, options, io, tensor) are importable from everywhere.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'options.ts', 'io/', 'tensor/', 'types/'],
  ['kernels/', 'engine.ts'],
  ['nn/'],
  ['models/'],
  ['data/', 'train/', 'sample/', 'presets.ts'],
  ['index.ts'],
  ['platform/'],
  ['node.ts', 'cli/'],
];
const layerOf = (f: string): number => LAYERS.findIndex((l) => l.some((p) => rel(f) === p || rel(f).startsWith(p)));

const rel = (p: string): string => relative(src, p);
const files = sources(src);
/** The core: all but the platform adapters, the command line and the Node entry. */
const core = files.filter((f) => !rel(f).startsWith('platform/') && !rel(f).startsWith('cli/') && rel(f) !== 'node.ts');

describe('layers', () => {
  it('nothing under src/ outside src/platform/ imports a Node module or uses process or Buffer', () => {
    const bad: string[] = [];
    for (const f of files.filter((x) => !rel(x).startsWith('platform/'))) {
      const text = readFileSync(f, 'utf8');
      for (const s of specifiersOf(f)) if (!s.startsWith('.') && (s.startsWith('node:') || NODE_BUILTINS.has(s) || s === 'koffi')) bad.push(`${rel(f)}: imports ${s}`);
      if (/\bprocess\.|\bBuffer\b/.test(code(text))) bad.push(`${rel(f)}: uses process or Buffer`);
    }
    assert.deepEqual(bad, []);
  });

  it('the core does not import platform or CLI code', () => {
    const bad = core.flatMap((f) => importsOf(f).filter((i) => rel(i).startsWith('platform/') || rel(i).startsWith('cli/')).map((i) => `${rel(f)} → ${rel(i)}`));
    assert.deepEqual(bad, []);
  });

  it('imports point down the layers (models import nothing from data, train or sample; nn nothing from models; …)', () => {
    assert.deepEqual(files.filter((f) => layerOf(f) < 0).map(rel), [], 'every source file has a layer');
    const bad = files.flatMap((f) => importsOf(f).filter((i) => layerOf(i) > layerOf(f)).map((i) => `${rel(f)} → ${rel(i)}`));
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
      entryPoints: [join(src, 'index.ts')], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent', metafile: true,
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
    assert.deepEqual(Object.keys(result.metafile!.inputs).filter((p) => p.includes('src/platform/') || p.includes('src/cli/')), [],
      'no platform or CLI module in the browser bundle');
  });

  it('the Node entry reaches the platform adapters', async () => {
    const result = await build({ entryPoints: [join(src, 'node.ts')], bundle: true, write: false, platform: 'node', format: 'esm', logLevel: 'silent',
      external: ['koffi'], metafile: true });
    assert.ok(Object.keys(result.metafile!.inputs).some((p) => p.includes('platform/node/engine.ts')));
  });
});

describe('modality registry', () => {
  it('one module per kind of data, each named once; every data key has a default', () => {
    const names = MODALITIES.map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(Object.keys(DATA_DEFAULTS).sort(), ['data', ...DATA_KEYS.keys()].sort());
    for (const [k, def] of DATA_KEYS) assert.equal(def.check(def.default as never), null, `${k}'s default passes its own check`);
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
