// `npm run playground`: bundles the playground page (playground/page/main.ts) and the session
// worker with esbuild, then serves the package on 127.0.0.1 with the two cross-origin isolation
// headers (threads in the page) and prints the address. Nothing is fetched from anywhere else.
import { fileURLToPath } from 'node:url';
import { serveRoot } from '../src/platform/node/dev-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the bundles go (inside dist/, served beside the page's index.html through the pages map). */
export const PLAYGROUND_OUT = 'dist/playground/page';

/** Bundles the page and the session worker; returns the server (its URL: `${url}/isolated/playground/`). */
export async function startPlayground(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const esbuild = await import('esbuild');
  const common = { bundle: true, format: 'esm' as const, platform: 'browser' as const, logLevel: 'error' as const, sourcemap: true };
  await esbuild.build({ ...common, entryPoints: [`${ROOT}playground/page/main.ts`], outfile: `${ROOT}${PLAYGROUND_OUT}/main.js` });
  await esbuild.build({ ...common, entryPoints: [`${ROOT}dist/src/platform/browser/session-worker.js`], outfile: `${ROOT}${PLAYGROUND_OUT}/session-worker.js` });
  const { readFileSync } = await import('node:fs');
  const html = readFileSync(`${ROOT}playground/page/index.html`, 'utf8');
  return serveRoot(ROOT, { '/playground/': () => html, '/playground/index.html': () => html }, port, { '/playground/': `${PLAYGROUND_OUT}/` });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT ?? 5173);
  const server = await startPlayground(port);
  console.log(`playground: ${server.url}/isolated/playground/ (cross-origin isolated: threads on; ${server.url}/plain/playground/ without)`);
}
