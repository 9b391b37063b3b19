// What the commands hand to modalities and trainers: the file system, notices, streamed output and
// progress, all through the terminal (stderr for notices and progress, stdout for results).
import type { RunContext } from '../data/modality.js';
import { createProgress, type Progress } from '../io/progress.js';
import { nodeFileSystem } from '../platform/node/file-system.js';
import { terminal } from '../platform/node/terminal.js';
import { flagOption, pathOption, stringOption, type Options, type OptionSpec } from '../options.js';

/** Options every command takes (the engine's are read before the command runs). */
export const ENGINE_OPTIONS: OptionSpec[] = [
  stringOption('threads'), stringOption('backend'), stringOption('simd'), stringOption('blas'),
];
export const OUTPUT_OPTIONS: OptionSpec[] = [flagOption('json'), flagOption('quiet')];
export const CHECKPOINT_OPTION = pathOption('checkpoint');

/** Progress on stderr: a redrawn bar on a terminal, log lines otherwise; silent with `quiet`. */
export function progressOn(total: number, label: string, o: { readonly json: boolean; readonly quiet: boolean; readonly every?: number; readonly deadlineSeconds?: number }): Progress {
  return createProgress(total, label, { tty: terminal.errIsTTY() && !o.json, quiet: o.quiet, every: o.every ?? 1, write: terminal.err,
    ...(o.deadlineSeconds === undefined ? {} : { deadlineSeconds: o.deadlineSeconds }) });
}

/** The run context of a command with --json / --quiet (notices and progress silent under either) that reads `inputs`. */
export function runContext(options: Options, inputs: readonly string[] = []): RunContext {
  const json = options.flag('json'), quiet = options.flag('quiet') || json;
  return {
    fs: nodeFileSystem, json, inputs,
    log: quiet ? () => undefined : (line) => terminal.err(`${line}\n`),
    write: (text) => terminal.out(text),
    progress: (total, label, every = 1) => progressOn(total, label, { json, quiet, every }),
  };
}

/** The engine notes that say a slower path was taken than the machine should have (printed once per command). */
export function fallbackNotes(notes: readonly string[]): string[] {
  return notes.filter((n) => n.startsWith('native BLAS unavailable') || n.startsWith('attention tile products stay in wasm') || n.startsWith('wasm unavailable'));
}
