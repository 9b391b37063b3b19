// A static HTTP server for this package on 127.0.0.1 (tests, `bench browser`): files under `root`
// at /isolated/… with the two headers that make a page cross-origin isolated (threads, shared
// memory), and at /plain/… without them; `pages` are served as given at both prefixes. It reads
// nothing outside `root` (by name or through a symbolic link), answers only requests addressed to
// 127.0.0.1 or localhost at its port, and fetches nothing.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.map': 'application/json', '.json': 'application/json',
};

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, worker threads). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export interface DevServer { readonly url: string; close(): Promise<void> }

/**
 * Serves `root`; `pages` maps a path (e.g. '/page.html') to HTML made for its prefix ('/isolated'
 * or '/plain') and query; `mounts` maps a path prefix to a folder under root ('/playground/' →
 * 'dist/playground/page/'). Port 0: any free port.
 */
export function serveRoot(root: string, pages: Readonly<Record<string, (prefix: string, query: URLSearchParams) => string>> = {}, port = 0,
  mounts: Readonly<Record<string, string>> = {}): Promise<DevServer> {
  const top = normalize(root.endsWith(sep) ? root : root + sep), realTop = realpathSync(top) + sep;
  let own = '';
  const server: Server = createServer((req, res) => {
    // Only requests addressed to this server by its own name (no DNS rebinding onto the package's files).
    if (req.headers.host !== own && req.headers.host !== own.replace('127.0.0.1', 'localhost')) { res.writeHead(421); res.end(); return; }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1'), m = /^\/(isolated|plain)(\/.*)$/.exec(url.pathname);
    if (!m) { res.writeHead(404); res.end(); return; }
    const prefix = `/${m[1]}`, rest = m[2]!, headers = m[1] === 'isolated' ? ISOLATION_HEADERS : {};
    const page = pages[rest];
    if (page) { res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }); res.end(page(prefix, url.searchParams)); return; }
    let decoded: string;
    try { decoded = decodeURIComponent(rest); } catch { res.writeHead(400, headers); res.end(); return; }
    const mount = Object.keys(mounts).find((m) => decoded.startsWith(m));
    if (mount) decoded = `/${mounts[mount]}${decoded.slice(mount.length)}`;
    // Inside the root by name and by real path (a symbolic link out of it is not followed).
    const file = normalize(join(top, decoded));
    let body: Buffer;
    try {
      if (!file.startsWith(top) || !statSync(file).isFile() || !realpathSync(file).startsWith(realTop)) throw new Error('not served');
      body = readFileSync(file);
    } catch {
      res.writeHead(404, headers); res.end(); return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    url: `http://${own = `127.0.0.1:${(server.address() as AddressInfo).port}`}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })));
}
