// A worker the way an application would write it, importing the package by name ('perceiver-ar'
// for the models, 'perceiver-ar/browser' for the engine) and bundled with esbuild by
// test/browser.test.ts: a small random Perceiver AR generates 24 tokens with and without the
// decoding caches (they must agree), then posts the tokens.
import { generate, MODEL_DEFAULTS, PerceiverAR, type ModelConfig } from 'perceiver-ar';
import { createBrowserEngine } from 'perceiver-ar/browser';

const scope = globalThis as unknown as { postMessage(m: unknown): void; location: { search: string } };

async function main(): Promise<void> {
  const q = new URLSearchParams(scope.location.search);
  const e = await createBrowserEngine({ threads: 2, kernelsUrl: q.get('kernels')!, workerUrl: q.get('poolWorker')! });
  const config: ModelConfig = { ...MODEL_DEFAULTS, vocabSize: 40, contextLength: 64, numLatents: 16, numLayers: 2, width: 32, embedDim: 32, numHeads: 2,
    crossAttendHeads: 2, dropout: 0, crossAttendDropout: 0, maxWavelength: 64, maxPosition: 65 };
  const model = new PerceiverAR(e, config, 3);
  const prompt = Array.from({ length: 20 }, (_, i) => 3 + ((i * 7) % 30));
  const run = (cached: boolean): number[] => Array.from(generate(model, prompt, { maxNewTokens: 24, temperature: 1, topK: 0, topP: 1, seed: 9, stopAtEos: false, cached }).tokens);
  scope.postMessage({ threads: e.info.threads, cached: run(true), uncached: run(false) });
  await e.dispose();
}
main().catch((err: unknown) => scope.postMessage({ error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }));
