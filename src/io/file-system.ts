// The file access the core needs, as a small interface: Node implements it over the disk
// (platform/node/file-system.ts); a page or a test implements it over files it holds in memory
// (memoryFileSystem). Paths are plain strings joined with '/' (Node's adapter accepts its own).
// Everything is synchronous: a browser reads its File/Blob objects into memory first.
import { InputError } from '../errors.js';

export type EntryKind = 'file' | 'directory' | 'other';

export interface FileSystem {
  /** A whole file's bytes; InputError naming `what` and the path when it is missing, empty or not a file. */
  readBytes(path: string, what: string): Uint8Array;
  /** Up to `length` bytes from the start of a file (a checkpoint's header without its tensors), and the file's size. */
  readPrefix(path: string, length: number, what: string): { readonly bytes: Uint8Array; readonly size: number };
  /** What is at `path`, or null when nothing is. */
  kind(path: string): EntryKind | null;
  /** The names in a directory, sorted. */
  list(dir: string): string[];
  /** Writes bytes so that either the old file or the complete new one exists afterwards. */
  writeAtomic(path: string, bytes: Uint8Array): void;
  /** Checks before long work that `path` can be written (InputError naming `what` otherwise). */
  checkOutput(path: string, what: string): void;
  /** Whether two paths name the same file. */
  sameFile(a: string, b: string): boolean;
  join(...parts: string[]): string;
  /** `path` relative to `from` (a directory above it). */
  relative(from: string, path: string): string;
  /** `path` relative to the directory `dir`, '/'-separated, when it lies inside it (at any depth; not `dir` itself); null otherwise. */
  within(dir: string, path: string): string | null;
}

export const baseName = (path: string): string => path.replace(/[\\/]+$/, '').replace(/^.*[\\/]/, '');
export const extensionOf = (path: string): string => { const m = /\.[^./\\]*$/.exec(baseName(path)); return m ? m[0].toLowerCase() : ''; };

/**
 * Checks an output path before any work: it can be written (fs.checkOutput), it is none of the
 * `inputs` (the run's files and its data, read now or kept by its checkpoint), and — when
 * `dataFiles` matches the paths, relative to a data folder and '/'-separated, of the files its
 * reader takes from it (a dataset's PNGs, a corpus's MIDI files) — it is no existing such file
 * inside an input folder (writing it would destroy data), nor a new one inside a folder in `reads`
 * (the folders this run reads: the file would join the data).
 * Other files in a data folder (a checkpoint kept beside the data) may be written. InputError
 * naming both.
 */
export function checkOutputAgainst(fs: FileSystem, path: string, what: string, inputs: readonly (string | undefined)[], dataFiles?: RegExp,
  reads: readonly (string | undefined)[] = inputs): void {
  fs.checkOutput(path, what);
  const exists = fs.kind(path) === 'file';
  for (const input of inputs) {
    if (!input) continue;
    if (fs.sameFile(path, input)) throw new InputError(`${what} ${path} is the run's input file ${input}; writing it would overwrite it — give another path`);
    const inside = dataFiles && fs.kind(input) === 'directory' ? fs.within(input, path) : null;
    if (inside === null || !dataFiles!.test(inside)) continue;
    if (exists) throw new InputError(`${what} ${path} is a data file inside the run's input folder ${input}; writing it would overwrite data — give another path`);
    if (reads.includes(input)) {
      throw new InputError(`${what} ${path} would be a new data file inside the run's input folder ${input}, read with the data from then on — give another path`);
    }
  }
}

/** Every file under `dir` (recursively, sorted by path) whose name passes `keep`. */
export function listFilesDeep(fs: FileSystem, dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of fs.list(d)) {
      const p = fs.join(d, name), k = fs.kind(p);
      if (k === 'directory') walk(p);
      else if (k === 'file' && keep(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** 'a/./b/../c/' → 'a/c'; a leading '/' is the root the map's paths are relative to. */
const normalise = (path: string): string => {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
};

/**
 * A file system over bytes held in memory, keyed by '/'-separated paths ('data/train/a.png');
 * directories are implied by the paths. Writes go into the same map. For pages (files dropped
 * or fetched, read into memory first) and for tests.
 */
export function memoryFileSystem(files: Map<string, Uint8Array> | Record<string, Uint8Array> = new Map()): FileSystem & { readonly files: Map<string, Uint8Array> } {
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of files instanceof Map ? files : Object.entries(files)) map.set(normalise(k), v);
  for (const k of map.keys()) {
    const parent = k.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/')).find((p) => map.has(p));
    if (parent !== undefined) throw new InputError(`memoryFileSystem: '${parent}' is a file and also a directory of '${k}'`);
  }
  const isDir = (p: string): boolean => p === '' || [...map.keys()].some((k) => k.startsWith(`${p}/`));
  const kind = (path: string): EntryKind | null => {
    const p = normalise(path);
    return map.has(p) ? 'file' : isDir(p) ? 'directory' : null;
  };
  const read = (path: string, what: string): Uint8Array => {
    if (path === '') throw new InputError(`${what}: the path is empty`);
    const p = normalise(path), k = kind(p);
    if (k === null) throw new InputError(`${what} ${path} does not exist`);
    if (k !== 'file') throw new InputError(`${what} ${path} is not a file`);
    const bytes = map.get(p)!;
    if (bytes.length === 0) throw new InputError(`${what} ${path} is empty`);
    return bytes;
  };
  return {
    files: map,
    readBytes: read,
    readPrefix: (path, length, what) => { const b = read(path, what); return { bytes: b.subarray(0, length), size: b.length }; },
    kind,
    list: (dir) => {
      if (kind(dir) !== 'directory') throw new InputError(`${dir} is not a directory`);
      const d = normalise(dir), prefix = d === '' ? '' : `${d}/`;
      return [...new Set([...map.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split('/')[0]!))].sort();
    },
    writeAtomic: (path, bytes) => {
      if (kind(path) === 'directory') throw new InputError(`could not write ${path}: it is a directory`);
      const parent = normalise(path).split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/')).find((p) => map.has(p));
      if (parent !== undefined) throw new InputError(`could not write ${path}: ${parent} is a file`);
      map.set(normalise(path), Uint8Array.from(bytes));
    },
    checkOutput: (path, what) => {
      if (path === '') throw new InputError(`${what} ${path}: the path is empty`);
      if (kind(path) === 'directory') throw new InputError(`${what} ${path}: is a directory; give a file path`);
    },
    sameFile: (a, b) => normalise(a) === normalise(b),
    join: (...parts) => normalise(parts.join('/')),
    relative: (from, path) => { const f = normalise(from), p = normalise(path); return f && p.startsWith(`${f}/`) ? p.slice(f.length + 1) : p; },
    within: (dir, path) => { const d = normalise(dir), p = normalise(path); return p !== d && (d === '' || p.startsWith(`${d}/`)) ? p.slice(d === '' ? 0 : d.length + 1) : null; },
  };
}
