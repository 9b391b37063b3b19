// Progress for long work: a redrawn bar with loss, tokens/s and ETA on a terminal; plain log lines
// otherwise (CI, files). It writes through `write` (the CLI passes stderr, so stdout stays clean for
// --json and samples; a page passes its own).
export interface Progress {
  update(done: number, fields: Record<string, string>): void;
  log(line: string): void;
  finish(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** deadlineSeconds: a time budget that ends the work early; the ETA never exceeds what is left of it. */
export interface ProgressOptions {
  readonly tty: boolean; readonly quiet: boolean; readonly every: number; readonly deadlineSeconds?: number;
  readonly write: (text: string) => void;
  /** The clock, in milliseconds (default performance.now; tests pass their own). */
  readonly now?: () => number;
}

export function createProgress(total: number, label: string, opts: ProgressOptions): Progress {
  const out = { write: opts.write };
  const now = opts.now ?? (() => performance.now());
  const started = now();
  let drawn = false, lastLogged = -1;
  const eta = (done: number): string => {
    const elapsed = (now() - started) / 1000;
    // Never negative: work can run past its announced total.
    let left = done > 0 ? (elapsed / done) * Math.max(0, total - done) : Infinity;
    if (opts.deadlineSeconds) left = Math.min(left, Math.max(0, opts.deadlineSeconds - elapsed));
    return formatDuration(left);
  };
  return {
    update(done, fields) {
      if (opts.quiet) return;
      const text = Object.entries(fields).map(([k, v]) => `  ${k} ${v}`).join('');
      if (opts.tty) {
        const width = 24, filled = Math.round((width * Math.min(done, total)) / total);
        out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${text}  ETA ${eta(done)}\x1b[K`);
        drawn = true;
      } else if (done - lastLogged >= opts.every || done === total) {
        out.write(`${label} ${done}/${total}${text}  ETA ${eta(done)}\n`);
        lastLogged = done;
      }
    },
    log(line) {
      if (opts.quiet) return;
      if (drawn) { out.write('\r\x1b[K'); drawn = false; }
      out.write(`${line}\n`);
    },
    finish() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

/**
 * Progress for work whose total is known only once it starts (an evaluation learns how many blocks
 * it scores from the data): the Progress is made at the first update, logging about `lines` lines
 * without a terminal (each carrying done/total and the ETA).
 */
export function progressWhenTotalKnown(make: (total: number, every: number) => Progress, lines = 20):
  { update(done: number, total: number): void; finish(): void } {
  let p: Progress | null = null;
  return {
    update(done, total) {
      p ??= make(total, Math.max(1, Math.ceil(total / lines)));
      p.update(done, {});
    },
    finish() { p?.finish(); },
  };
}
