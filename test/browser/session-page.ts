// The page script of the session test (bundled with esbuild by test/browser.test.ts): the page's
// own thread uses BrowserSession from 'perceiver-ar/browser'; the test calls window.runSession.
import { BrowserSession } from 'perceiver-ar/browser';

const collect = async (tokens: AsyncIterable<number>): Promise<number[]> => { const out: number[] = []; for await (const t of tokens) out.push(t); return out; };

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
  // Left after 2 tokens: the generation stops with the loop, and the next call is unaffected.
  let left = 0;
  for await (const _ of session.generate(r.prompt, { ...options, maxNewTokens: 100_000 })) if (++left === 2) break;
  const afterBreak = await collect(session.generate(r.prompt, options));
  // A call waiting its turn behind another is aborted while it waits: it ends at once with an
  // AbortError, and the call before it is unharmed (its worker is not restarted).
  const waiting = new AbortController(), first = collect(session.generate(r.prompt, options));
  const second = collect(session.generate(r.prompt, options, waiting.signal)).then(() => 'finished', (e: Error) => e.name);
  waiting.abort();
  const both = [await first, await second];
  const saved = await session.saveCheckpoint();
  let badFile = '';
  try { await session.loadCheckpoint(new Blob([new Uint8Array([1, 2, 3])]), 'broken.safetensors'); } catch (e) { badFile = (e as Error).message; }
  const afterBadFile = await collect(session.generate(r.prompt, options));
  session.dispose();
  return { info: session.info, summary, streamed, aborted: aborted.length, abortError, again, afterBreak, both, saved: Array.from(saved), badFile, afterBadFile };
};

interface TrainRun { readonly sessionWorker: string; readonly kernels: string; readonly poolWorker: string }

(globalThis as unknown as { runTraining: (r: TrainRun) => Promise<unknown> }).runTraining = async (r) => {
  const session = await BrowserSession.open(r.sessionWorker, { threads: 2, kernelsUrl: r.kernels, workerUrl: r.poolWorker });
  const losses: number[] = [];
  const run = session.train({ preset: 'mirrored-32-small', steps: 150, seed: 1 });
  let summary: unknown = null;
  for (;;) {
    const next = await run.next();
    if (next.done) { summary = next.value; break; }
    losses.push(next.value.loss);
  }
  // A long run stopped after 5 steps: it ends normally, with what it learnt kept.
  const controller = new AbortController();
  let seen = 0;
  const stopped = session.train({ preset: 'mirrored-32-small', steps: 100_000, seed: 2 }, controller.signal);
  let stoppedSummary: unknown = null;
  for (;;) {
    const next = await stopped.next();
    if (next.done) { stoppedSummary = next.value; break; }
    if (++seen === 5) controller.abort();
  }
  const options = { maxNewTokens: 10, seed: 1, stopAtEos: false };
  const trained = await collect(session.generate([2, 5, 9], options));
  // An aborted generation restarts the worker: it must come back with the trained model, not none.
  const controller2 = new AbortController();
  try { for await (const _ of session.generate([2, 5, 9], { ...options, maxNewTokens: 100_000 }, controller2.signal)) controller2.abort(); } catch { /* AbortError */ }
  const afterRestart = await collect(session.generate([2, 5, 9], options));
  const saved = await session.saveCheckpoint();
  session.dispose();
  return { losses, summary, seen, stoppedSummary, trained, afterRestart, saved: saved.length };
};
