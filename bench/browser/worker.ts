// The browser side of `bench browser`, bundled with esbuild and run in a module Worker of an
// isolated page: the browser engine at the thread count the page asks for, then measureSpeed.
import { createBrowserEngine } from '../../src/platform/browser/engine.js';
import { measureSpeed } from '../speed.js';

const scope = globalThis as unknown as { postMessage(m: unknown): void; location: { search: string } };

async function main(): Promise<void> {
  const q = new URLSearchParams(scope.location.search);
  const e = await createBrowserEngine({ threads: Number(q.get('threads') ?? '2'), kernelsUrl: q.get('kernels')!, workerUrl: q.get('poolWorker')! });
  const figures = measureSpeed(e, (line) => scope.postMessage({ progress: line }));
  scope.postMessage({ figures, threads: e.info.threads, simd: e.info.simd, notes: e.info.notes, stats: e.threadStats?.() ?? null });
  await e.dispose();
}
main().catch((err: unknown) => scope.postMessage({ error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }));
