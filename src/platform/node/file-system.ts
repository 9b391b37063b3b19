// The core's FileSystem over the disk (Node): chunked reads with messages naming the file, atomic
// writes, output checks before long work (files.ts).
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
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
  within: (dir, path) => {
    // Through symbolic links: the folder's real path, and the real path of the file's folder (which exists for an output).
    const real = (p: string): string => { try { return realpathSync(p); } catch { return resolve(p); } };
    const r = relative(real(dir), join(real(dirname(resolve(path))), basename(path)));
    return r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r) ? r.split(sep).join('/') : null;
  },
};
