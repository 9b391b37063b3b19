// File helpers: atomic writes (temporary file, fsync, rename) so an interrupted save never leaves
// a broken file, and reads with messages that name the file.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** Writes bytes to path atomically: either the old file or the complete new one exists afterwards. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 26));
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if (existsSync(tmp)) unlinkSync(tmp);
    throw new Error(`could not write ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Directory fsync is best-effort (not supported everywhere); the rename itself is atomic.
  }
}

export function readFileChecked(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new Error(`${what} ${path} is not a file`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error(`${what} ${path} is empty`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
