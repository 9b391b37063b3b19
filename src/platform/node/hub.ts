// Models from the Hugging Face hub (`hf:OWNER/NAME[@REVISION]`, docs/interop.md) through the hub's
// own client (@huggingface/hub): the repository's file list (sizes, git and LFS hashes), then
// config.json, the weights and the tokenizer files, each into a cache folder
// ($PERCEIVER_AR_CACHE, default ~/.cache/perceiver-ar/hub/OWNER--NAME/REVISION/), with progress.
// A download continues where it stopped (a `.part` file; ranges requested from the hub), is retried
// when the connection drops, and is checked against the size and hash the hub lists (sha256 for LFS
// files, the git blob sha1 for others) before it is renamed into place. A complete folder records
// its files (`.complete.json`); offline (PERCEIVER_AR_OFFLINE=1, or the hub unreachable) it is used as it is.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { downloadFile, listFiles, type ListFileEntry } from '@huggingface/hub';
import { InputError } from '../../errors.js';
import { PORT_WEIGHT_FILES } from '../../train/port-checkpoint.js';

export interface HubSource { readonly repo: string; readonly revision: string }

/** `hf:OWNER/NAME[@REVISION]` as a repository and revision (main by default); null for anything else. */
export function parseHubSource(s: string): HubSource | null {
  if (!s.startsWith('hf:')) return null;
  const m = /^hf:([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/.exec(s);
  if (m?.[3]?.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new InputError(`${s}: the revision '${m[3]}' is not a branch, tag or commit`);
  if (!m) throw new InputError(`${s}: a hub model is hf:OWNER/NAME or hf:OWNER/NAME@REVISION (a branch, tag or commit)`);
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

/** The files a model needs (config and weights) and those it may use (tokenizer, generation settings). */
const WANTED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface HubOptions {
  /** The cache root (default $PERCEIVER_AR_CACHE or ~/.cache/perceiver-ar). */
  readonly cacheDir?: string;
  /** The hub's address (default $HF_ENDPOINT, as Hugging Face's own tools read it, else https://huggingface.co; tests give a loopback server). */
  readonly hubUrl?: string;
  /** Use only what is cached. */
  readonly offline?: boolean;
  /** Bytes done and total of one file, and its name. */
  readonly progress?: (file: string, done: number, total: number) => void;
  readonly log?: (line: string) => void;
  /** Attempts per file when the connection drops (each continues where the last stopped). */
  readonly attempts?: number;
  /** Default $HF_TOKEN. */
  readonly accessToken?: string;
}

export const defaultCacheDir = (): string => process.env.PERCEIVER_AR_CACHE || join(homedir(), '.cache', 'perceiver-ar');

interface Manifest { readonly repo: string; readonly revision: string; readonly files: Record<string, { size: number; hash: string }> }

const folderOf = (cache: string, src: HubSource): string => join(cache, 'hub', src.repo.replace('/', '--'), src.revision.replace(/[/\\]/g, '--'));

/** The hash the hub lists for a file, and how to compute it: sha256 of the bytes (LFS), or git's blob sha1. */
const expected = (e: ListFileEntry): { kind: 'sha256' | 'git-sha1'; hash: string } =>
  e.lfs ? { kind: 'sha256', hash: e.lfs.oid } : { kind: 'git-sha1', hash: e.oid ?? '' };

async function hashFile(path: string, kind: 'sha256' | 'git-sha1', size: number): Promise<string> {
  const h = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Downloads one file into `target` through `target.part`, continuing a partial one; checks size and hash. */
async function fetchFile(src: HubSource, e: ListFileEntry, target: string, o: HubOptions): Promise<void> {
  const part = `${target}.part`, want = expected(e), attempts = o.attempts ?? 5, size = e.lfs?.size ?? e.size;
  mkdirSync(dirname(target), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    if (!existsSync(part)) closeSync(openSync(part, 'w'));
    let have = statSync(part).size;
    if (have > size) { unlinkSync(part); have = 0; }
    try {
      if (have < size) {
        const blob = await downloadFile({ repo: src.repo, path: e.path, revision: src.revision, ...(o.hubUrl ? { hubUrl: o.hubUrl } : {}),
          ...(o.accessToken ? { accessToken: o.accessToken } : {}), xet: false });
        if (!blob) throw new InputError(`hf:${src.repo}@${src.revision}: ${e.path} is listed but the hub does not serve it`);
        if (blob.size !== size) {
          throw new InputError(`hf:${src.repo}@${src.revision}: ${e.path} is served with ${blob.size} bytes, the file list says ${size}; not downloaded`);
        }
        const fd = openSync(part, 'a');
        try {
          const reader = blob.slice(have).stream().getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            writeSync(fd, value);
            have += value.length;
            o.progress?.(e.path, have, size);
          }
        } finally {
          closeSync(fd);
        }
      }
      const got = statSync(part).size;
      if (got !== size) throw new Error(`${e.path}: ${got} of ${size} bytes arrived`); // retried below, as a dropped connection is
      const hash = await hashFile(part, want.kind, size);
      if (hash !== want.hash) {
        unlinkSync(part);
        throw new InputError(`hf:${src.repo}@${src.revision}: ${e.path} does not match the hub's ${want.kind} (${want.hash.slice(0, 12)}…, got ${hash.slice(0, 12)}…); ` +
          'the partial download was deleted: run again');
      }
      renameSync(part, target);
      return;
    } catch (err) {
      if (err instanceof InputError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if (attempt >= attempts) {
        throw new InputError(`hf:${src.repo}@${src.revision}: ${e.path} stopped at ${statSync(part, { throwIfNoEntry: false })?.size ?? 0} of ${size} bytes ` +
          `after ${attempts} attempts (${why}); run again to continue from there`);
      }
      o.log?.(`${e.path}: ${why}; continuing from byte ${existsSync(part) ? statSync(part).size : 0} (attempt ${attempt + 1} of ${attempts})`);
    }
  }
}

/** A folder's record of its complete files, or null (none, or unreadable: then it is not complete). */
function readManifest(path: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    return typeof m === 'object' && m !== null && typeof m.files === 'object' && m.files !== null ? m : null;
  } catch {
    return null;
  }
}

/** What of the repository to fetch: config.json, one weights file (safetensors first), the optional files present. */
function choose(src: HubSource, entries: readonly ListFileEntry[]): ListFileEntry[] {
  const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  if (!files.has('config.json')) throw new InputError(`hf:${src.repo}@${src.revision} has no config.json: not a model of the PyTorch port's layout`);
  const weights = PORT_WEIGHT_FILES.find((f) => files.has(f));
  if (!weights) throw new InputError(`hf:${src.repo}@${src.revision} holds no ${PORT_WEIGHT_FILES.join(' or ')}`);
  return [...WANTED.filter((f) => files.has(f)), weights].map((f) => files.get(f)!);
}

/**
 * The local folder of a hub model: downloaded (or completed) into the cache, or the cached copy
 * offline. Returns the folder, which holds config.json and the weights as a port folder does.
 */
export async function hubModelFolder(src: HubSource, given: HubOptions = {}): Promise<string> {
  const o: HubOptions = {
    ...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}), ...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}), ...given,
  };
  const folder = folderOf(o.cacheDir ?? defaultCacheDir(), src), manifestPath = join(folder, '.complete.json');
  const cached = readManifest(manifestPath);
  const offline = o.offline ?? process.env.PERCEIVER_AR_OFFLINE === '1';
  const useCache = (why: string): string => {
    if (!cached) throw new InputError(`hf:${src.repo}@${src.revision}: ${why}, and it is not in the cache (${folder})`);
    o.log?.(`hf:${src.repo}@${src.revision}: ${why}; using the cached copy in ${folder}`);
    return folder;
  };
  if (offline) return useCache('offline (--offline or PERCEIVER_AR_OFFLINE=1)');
  let entries: ListFileEntry[];
  try {
    entries = [];
    for await (const e of listFiles({ repo: src.repo, revision: src.revision, ...(o.hubUrl ? { hubUrl: o.hubUrl } : {}),
      ...(o.accessToken ? { accessToken: o.accessToken } : {}) })) entries.push(e);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404 || status === 401) throw new InputError(`hf:${src.repo}@${src.revision}: the hub has no such repository or revision (HTTP ${status})`);
    // Only a failed connection falls back to the cache; anything else (a malformed token, a refused request) is said as it is.
    if (status !== undefined || !(err instanceof TypeError && /fetch failed/i.test(err.message))) {
      throw new InputError(`hf:${src.repo}@${src.revision}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return useCache(`the hub cannot be reached (${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''})`);
  }
  const files: Manifest['files'] = {};
  const wanted = choose(src, entries).map((e) => ({ e, target: join(folder, e.path), want: expected(e), size: e.lfs?.size ?? e.size }));
  const fresh = ({ e, target, want, size }: (typeof wanted)[number]): boolean =>
    cached?.files[e.path]?.hash === want.hash && existsSync(target) && statSync(target).size === size;
  // An update in progress is not a complete folder: the record goes until every file is in place again.
  if (wanted.some((w) => !fresh(w)) && existsSync(manifestPath)) unlinkSync(manifestPath);
  for (const w of wanted) {
    files[w.e.path] = { size: w.size, hash: w.want.hash };
    if (!fresh(w)) await fetchFile(src, w.e, w.target, o);
  }
  writeFileSync(`${manifestPath}.tmp`, JSON.stringify({ repo: src.repo, revision: src.revision, files } satisfies Manifest, null, 1));
  renameSync(`${manifestPath}.tmp`, manifestPath);
  return folder;
}
