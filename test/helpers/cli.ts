// Running the built CLI in a child process, and the shape of a clear failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Runs `perceiver-ar ARGS --threads=1` in `cwd` (ARGS may set --threads=N themselves). */
export function runCli(cwd: string, ...args: string[]): CliResult {
  const threads = args.some((a) => a.startsWith('--threads=')) ? [] : ['--threads=1'];
  const r = spawnSync(process.execPath, [CLI, ...args, ...threads], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The command failed with a 'perceiver-ar: …' message matching `pattern` and no stack trace; one
 * line unless `lines` allows a list (a config with several problems names each on its own line).
 */
export function failsClearly(r: { code: number; stderr: string }, pattern: RegExp, lines = 1): void {
  assert.notEqual(r.code, 0, 'a non-zero exit');
  assert.match(r.stderr, pattern);
  assert.ok(r.stderr.startsWith('perceiver-ar: '), r.stderr);
  assert.ok(r.stderr.trim().split('\n').length <= lines, `at most ${lines} line(s) expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace expected:\n${r.stderr}`);
}
