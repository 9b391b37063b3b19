// File helpers: atomic writes (temporary file, fsync, rename) so an interrupted save never leaves
// a broken file, a check of an output path before long work starts, and reads with messages that
// name the file.
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';

/** The largest file readFileChecked can hold (one typed array: 4 GiB in Node 20). */
export const MAX_FILE_BYTES = 2 ** 32 - 1;

/**
 * The temporary file an atomic write of `path` goes through: short (any legal name has a legal
 * temporary name) and the same for every write of that path, so a write killed midway leaves one
 * stale file that the next write of the same path replaces, instead of a new one each time.
 */
export function temporaryPathFor(path: string): string {
  const digest = createHash('sha256').update(basename(path)).digest('hex').slice(0, 16);
  return join(dirname(path), `.perceiver-ar-${digest}.partial`);
}

/** Temporary files of `path` left by killed writes of earlier versions (`.NAME.tmp-PID-TIME`). */
function staleTemporaries(path: string): string[] {
  const prefix = `.${basename(path)}.tmp-`;
  try {
    return readdirSync(dirname(path)).filter((f) => f.startsWith(prefix)).map((f) => join(dirname(path), f));
  } catch {
    return [];
  }
}

/** Writes bytes to path atomically: either the old file or the complete new one exists afterwards. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = temporaryPathFor(path);
  let fd = -1;
  try {
    if (existsSync(path) && !statSync(path).isFile()) throw new Error('it exists and is not a regular file');
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
    throw new InputError(`could not write ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const stale of staleTemporaries(path)) {
    try { unlinkSync(stale); } catch { /* another process's, or already gone */ }
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Directory fsync is best-effort (not supported everywhere); the rename itself is atomic.
  }
}

const reason = (e: unknown): string => (e instanceof Error ? e.message.replace(/^[A-Z]+: /, '') : String(e));

/** Whether two paths name the same file (by device and inode when both exist). */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a), y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Checks, before any long work, that `path` can be written by writeFileAtomic: it is not a
 * directory, FIFO or device, its directory exists and takes new files, and the name is legal.
 * Creates nothing that outlives the check.
 */
export function checkOutputPath(path: string, what: string): void {
  const fail = (msg: string): never => { throw new InputError(`${what} ${path}: ${msg}`); };
  if (path === '') fail('the path is empty');
  if (existsSync(path)) {
    const s = statSync(path);
    if (s.isDirectory()) fail('is a directory; give a file path');
    if (!s.isFile()) fail('exists and is not a regular file (a FIFO, socket or device); give a file path');
  }
  const dir = dirname(path);
  if (!existsSync(dir)) fail(`directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) fail(`${dir} is not a directory`);
  const probe = (p: string, flags: string): void => {
    let fd = -1;
    try {
      fd = openSync(p, flags);
    } catch (e) {
      fail(`cannot be written (${reason(e)})`);
    } finally {
      if (fd >= 0) { closeSync(fd); unlinkSync(p); }
    }
  };
  const tmp = temporaryPathFor(path);
  if (!existsSync(tmp)) probe(tmp, 'wx');
  if (!existsSync(path)) probe(path, 'wx');
}

/** A whole file's bytes (up to MAX_FILE_BYTES; read in chunks, since one read stops at 2 GiB). */
export function readFileChecked(path: string, what: string): Uint8Array {
  if (path === '') throw new InputError(`${what}: the path is empty`);
  if (!existsSync(path)) throw new InputError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new InputError(`${what} ${path} is not a file`);
  return readChunked(path, what, 1 << 30);
}

/** Reads a regular file in chunks of chunkBytes into one array (exported for tests of the chunking). */
export function readChunked(path: string, what: string, chunkBytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new InputError(`${what} ${path} is empty`);
    if (size > MAX_FILE_BYTES) throw new InputError(`${what} ${path} is ${(size / 2 ** 30).toFixed(1)} GiB; at most 4 GiB can be read`);
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, out, at, Math.min(chunkBytes, size - at), at);
      if (n === 0) throw new InputError(`${what} ${path} changed while it was read (ended at byte ${at} of ${size})`);
      at += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Up to `length` bytes from the start of a file (a checkpoint's header without its tensors). */
export function readFilePrefix(path: string, length: number, what: string): { bytes: Uint8Array; size: number } {
  if (path === '') throw new InputError(`${what}: the path is empty`);
  if (!existsSync(path)) throw new InputError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new InputError(`${what} ${path} is not a file`);
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new InputError(`${what} ${path} is empty`);
    const out = new Uint8Array(Math.min(size, length));
    let at = 0;
    while (at < out.length) {
      const n = readSync(fd, out, at, out.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return { bytes: out.subarray(0, at), size };
  } finally {
    closeSync(fd);
  }
}
