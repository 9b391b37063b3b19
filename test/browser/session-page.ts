// The page script of the session test (bundled with esbuild by test/browser.test.ts): the page's
// own thread uses BrowserSession from 'perceiver-ar/browser'; the test calls window.runSession.
import { BrowserSession } from 'perceiver-ar/browser';

interface Run { readonly checkpointUrl: string; readonly sessionWorker: string; readonly kernels: string; readonly poolWorker: string; readonly prompt: number[] }

(globalThis as unknown as { runSession: (r: Run) => Promise<unknown> }).runSession = async (r) => {
  const session = await BrowserSession.open(r.sessionWorker, { threads: 2, kernelsUrl: r.kernels, workerUrl: r.poolWorker });
  const summary = await session.loadCheckpoint(await fetch(r.checkpointUrl), 'tiny.safetensors');
  const options = { maxNewTokens: 20, temperature: 1, seed: 4, stopAtEos: false };
  const streamed: number[] = [];
  for await (const token of session.generate(r.prompt, options)) streamed.push(token);
  // Aborted after 3 tokens of a long generation: the loop ends with an AbortError, and the session works again.
  const controller = new AbortController(), aborted: number[] = [];
  let abortError = '';
  try {
    for await (const token of session.generate(r.prompt, { ...options, maxNewTokens: 100_000 }, controller.signal)) {
      aborted.push(token);
      if (aborted.length === 3) controller.abort();
    }
  } catch (e) {
    abortError = `${(e as Error).name}: ${(e as Error).message}`;
  }
  const again: number[] = [];
  for await (const token of session.generate(r.prompt, options)) again.push(token);
  const saved = await session.saveCheckpoint();
  let badFile = '';
  try { await session.loadCheckpoint(new Blob([new Uint8Array([1, 2, 3])]), 'broken.safetensors'); } catch (e) { badFile = (e as Error).message; }
  session.dispose();
  return { info: session.info, summary, streamed, aborted: aborted.length, abortError, again, saved: Array.from(saved), badFile };
};
