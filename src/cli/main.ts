#!/usr/bin/env node
// The perceiver-ar command. Today: `info` (engine backend, SIMD build, threads). Training,
// generation and evaluation commands arrive with the model (see docs/engine.md for status).
import { readFileSync } from 'node:fs';
import { createEngine, type EngineOptions } from '../index.js';

const COMMANDS = ['info'] as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseOptions(args: readonly string[]): { json: boolean; engine: EngineOptions } {
  let json = false;
  const engine: { threads?: number; backend?: EngineOptions['backend']; simd?: EngineOptions['simd'] } = {};
  for (const a of args) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    const key = m?.[1], value = m?.[2];
    if (key === 'json' && value === undefined) json = true;
    else if (key === 'threads' && value !== undefined) engine.threads = Number(value);
    else if (key === 'backend' && (value === 'auto' || value === 'wasm' || value === 'reference')) engine.backend = value;
    else if (key === 'simd' && (value === 'auto' || value === 'relaxed-simd' || value === 'simd128')) engine.simd = value;
    else {
      throw new Error(`unknown or invalid option '${a}'; allowed: --json, --threads=N (1-64), ` +
        `--backend=auto|wasm|reference, --simd=auto|relaxed-simd|simd128`);
    }
  }
  return { json, engine };
}

async function info(args: readonly string[]): Promise<void> {
  const { json, engine: options } = parseOptions(args);
  const engine = await createEngine(options);
  try {
    const report = { version: packageVersion(), node: process.versions.node, ...engine.info };
    if (json) { console.log(JSON.stringify(report)); return; }
    console.log(`perceiver-ar ${report.version} (Node ${report.node})`);
    console.log(`backend: ${report.backend}`);
    console.log(`simd:    ${report.simd}`);
    console.log(`threads: ${report.threads}`);
    for (const n of report.notes) console.log(`note:    ${n}`);
  } finally {
    await engine.dispose();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'info': await info(rest); return 0;
    case undefined: case '--help': case 'help':
      console.log(`usage: perceiver-ar <${COMMANDS.join('|')}> [options]\n  info  engine backend, SIMD build and threads ` +
        `(--json, --threads=N, --backend=…, --simd=…)`);
      return command === undefined ? 2 : 0;
    default:
      console.error(`perceiver-ar: unknown command '${command}'; available: ${COMMANDS.join(', ')}`);
      return 2;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(`perceiver-ar: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
