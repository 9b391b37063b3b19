// A loopback stand-in for the Hugging Face hub (127.0.0.1): the URL layout its client uses —
// GET /api/models/OWNER/NAME/tree/REV (the file list: sizes, git blob sha1, LFS sha256) and
// GET /OWNER/NAME/resolve/REV/PATH (ranges, Content-Range, ETag) — over files held in memory, with
// faults to inject: a connection dropped part-way through a file, a size or hash the list gets wrong.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubFile { readonly bytes: Uint8Array; readonly lfs: boolean }
export interface Faults {
  /** Requests for PATH whose body is cut after this many bytes (the connection then dropped), once each. */
  readonly dropAfter?: Record<string, number[]>;
  /** PATH → the size the file list claims instead of the true one. */
  readonly listedSize?: Record<string, number>;
  /** PATH → the hash the file list claims instead of the true one. */
  readonly listedHash?: Record<string, string>;
}

export interface HubServer {
  readonly url: string;
  /** Every data request: path and first byte asked for. */
  readonly requests: { path: string; start: number }[];
  close(): Promise<void>;
}

const sha = (kind: 'sha1' | 'sha256', ...parts: (string | Uint8Array)[]): string => {
  const h = createHash(kind);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export async function startHubServer(repo: string, revision: string, files: Record<string, HubFile>, faults: Faults = {}): Promise<HubServer> {
  const requests: { path: string; start: number }[] = [];
  const drops = Object.fromEntries(Object.entries(faults.dropAfter ?? {}).map(([k, v]) => [k, [...v]]));
  const entries = Object.entries(files).map(([path, f]) => {
    const gitOid = sha('sha1', `blob ${f.bytes.length}\0`, f.bytes), lfsOid = sha('sha256', f.bytes), size = faults.listedSize?.[path] ?? f.bytes.length;
    const hash = faults.listedHash?.[path];
    return f.lfs ? { type: 'file', path, size, oid: gitOid, lfs: { oid: hash ?? lfsOid, size, pointerSize: 130 } } : { type: 'file', path, size, oid: hash ?? gitOid };
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === `/api/models/${repo}/tree/${encodeURIComponent(revision)}` || url.pathname === `/api/models/${repo}/tree/${revision}`) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(entries));
      return;
    }
    const prefix = `/${repo}/resolve/${revision}/`;
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const file = url.pathname.startsWith(prefix) ? files[path] : undefined;
    if (!file) { res.writeHead(404, { 'X-Error-Code': url.pathname.startsWith(prefix) ? 'EntryNotFound' : 'RepoNotFound' }).end('not found'); return; }
    const size = file.bytes.length, range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0, end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    const body = file.bytes.subarray(start, end + 1);
    const etag = `"${file.lfs ? sha('sha256', file.bytes) : sha('sha1', `blob ${size}\0`, file.bytes)}"`;
    const headers: Record<string, string | number> = { 'Content-Length': body.length, ETag: etag, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (file.lfs) headers['X-Linked-ETag'] = etag;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    if (body.length > 1) requests.push({ path, start });
    res.writeHead(range ? 206 : 200, headers);
    const cut = body.length > 1 ? drops[path]?.shift() : undefined;
    if (cut !== undefined && cut < body.length) {
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
