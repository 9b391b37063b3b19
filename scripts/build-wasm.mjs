// Builds the kernel module from asm/ twice: a SIMD128 build and a relaxed-SIMD (FMA) build.
// Runs the AssemblyScript compiler from node_modules; no download, no prebuilt binary.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const outDir = join(root, 'build');
mkdirSync(outDir, { recursive: true });

const common = [
  join(root, 'asm', 'index.ts'),
  '-O3', '--noAssert', '--runtime', 'stub', '--uncheckedBehavior', 'always',
  '--importMemory', '--sharedMemory', '--initialMemory', '32', '--maximumMemory', '65536',
  '--enable', 'simd', '--enable', 'threads', '--enable', 'bulk-memory',
];
const builds = [
  { file: 'kernels-simd.wasm', extra: [] },
  { file: 'kernels-relaxed.wasm', extra: ['--enable', 'relaxed-simd'] },
];
for (const b of builds) {
  const out = join(outDir, b.file);
  execFileSync(process.execPath, [asc, ...common, ...b.extra, '-o', out], { stdio: 'inherit' });
  console.log(`built ${out}`);
}
