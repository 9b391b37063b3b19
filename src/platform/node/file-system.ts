// The core's FileSystem over the disk (Node): chunked reads with messages naming the file, atomic
// writes, output checks before long work (files.ts).
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { EntryKind, FileSystem } from '../../io/file-system.js';
import { checkOutputPath, readFileChecked, readFilePrefix, sameFile, writeFileAtomic } from './files.js';

function kind(path: string): EntryKind | null {
  try {
    const s = statSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return null;
  }
}

export const nodeFileSystem: FileSystem = {
  readBytes: readFileChecked,
  readPrefix: readFilePrefix,
  kind,
  list: (dir) => readdirSync(dir).sort(),
  writeAtomic: writeFileAtomic,
  checkOutput: checkOutputPath,
  sameFile,
  join: (...parts) => join(...parts),
  relative: (from, path) => relative(from, path),
  contains: (dir, path) => { const r = relative(resolve(dir), resolve(path)); return r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r); },
};
