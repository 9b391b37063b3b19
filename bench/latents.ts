// `npm run bench -- latents --checkpoint=PATH --dataPath=FILE`: the test-time compute knob (spec
// §6): for a model trained with N latents, bits/token and cached generation tokens/s with
// N' ∈ {N/4, N/2, N, 2N}. Every N' scores the same targets (strided evaluation with stride N/4 on
// the file's validation split), so only the latent count differs.
import { writeFileSync } from 'node:fs';
import { createEngine } from '../src/node.js';
import { loadCheckpoint } from '../src/platform/node/checkpoint.js';
import { parseTokenIds, textIds } from '../src/node.js';
import { readFileChecked } from '../src/platform/node/files.js';
import { generate } from '../src/sample/generate.js';
import { evaluateStream } from '../src/train/evaluate.js';
import { lineChartsSvg } from './context-chart.js';

const USAGE = 'npm run bench -- latents --checkpoint=PATH --dataPath=FILE [--maxTargets=20000] [--newTokens=256] [--threads=N] [--json] [--out=F.json] [--chart=F.svg]';

export interface KnobRow { readonly latents: number; readonly bitsPerToken: number; readonly evalSeconds: number; readonly tokensPerSecond: number; readonly resets: number }

export async function runLatentsKnob(argv: readonly string[]): Promise<number> {
  const opt = new Map(argv.map((a) => { const [k, v] = a.replace(/^--/, '').split('=', 2); return [k!, v ?? 'true'] as const; }));
  for (const k of opt.keys()) {
    if (!['checkpoint', 'dataPath', 'maxTargets', 'newTokens', 'threads', 'json', 'out', 'chart'].includes(k)) throw new Error(`unknown option --${k}; usage: ${USAGE}`);
  }
  const path = opt.get('checkpoint'), dataPath = opt.get('dataPath');
  if (!path || !dataPath) throw new Error(`--checkpoint and --dataPath are required; usage: ${USAGE}`);
  const maxTargets = Number(opt.get('maxTargets') ?? 20000), newTokens = Number(opt.get('newTokens') ?? 256);
  const json = opt.has('json'), log = (l: string): void => { if (!json) console.log(l); };
  const engine = await createEngine({ threads: opt.has('threads') ? Number(opt.get('threads')) : undefined });
  try {
    const { info, model } = loadCheckpoint(path, engine);
    const c = model.config, N = c.numLatents, M = c.contextLength;
    const bytes = readFileChecked(dataPath, 'data file');
    const ids = info.data?.data === 'ids' ? parseTokenIds(bytes, dataPath, c.vocabSize) : textIds(bytes);
    const valid = ids.subarray(Math.floor(ids.length * (1 - Number(info.data?.validationFraction ?? 0.05))));
    const stride = Math.max(1, Math.floor(N / 4));
    const knob = [Math.floor(N / 4), Math.floor(N / 2), N, 2 * N].filter((n) => n >= stride && n <= M);
    const prompt = Array.from(valid.subarray(0, Math.min(valid.length, M - newTokens)));
    log(`trained with N = ${N} (M ${M}, L ${c.numLayers}, C ${c.width}); ${valid.length} validation tokens, ≤ ${maxTargets} scored with stride ${stride}; ` +
      `generation: ${newTokens} tokens after a ${prompt.length}-token prompt, cached, batch 1`);
    log("latents N'   bits/token   eval s   gen tokens/s   re-encodes");
    const rows: KnobRow[] = [];
    for (const n of knob) {
      const e = evaluateStream(model, valid, { stride, numLatents: n, batchSize: 4, maxTargets });
      const g = generate(model, prompt, { maxNewTokens: newTokens, temperature: 1, topK: 0, topP: 1, seed: 1, stopAtEos: false, numLatents: n, cached: true });
      const row = { latents: n, bitsPerToken: e.bitsPerToken, evalSeconds: e.seconds, tokensPerSecond: g.tokens.length / g.seconds, resets: g.resets };
      rows.push(row);
      log(`${String(n).padStart(10)} ${row.bitsPerToken.toFixed(4).padStart(12)} ${row.evalSeconds.toFixed(1).padStart(8)} ` +
        `${row.tokensPerSecond.toFixed(1).padStart(14)} ${String(row.resets).padStart(12)}`);
    }
    if (json) for (const r of rows) console.log(JSON.stringify(r));
    if (opt.has('out')) writeFileSync(opt.get('out')!, `${JSON.stringify({ date: new Date().toISOString(), checkpoint: path, dataPath, trainedLatents: N, stride, rows }, null, 1)}\n`);
    if (opt.has('chart')) {
      writeFileSync(opt.get('chart')!, lineChartsSvg([
        { title: `bits/token vs latents (trained with N = ${N})`, xLabel: "latents N'", yLabel: 'bits/token', logY: false,
          series: [{ name: 'validation', points: rows.map((r) => [r.latents, r.bitsPerToken] as const) }] },
        { title: 'cached generation speed', xLabel: "latents N'", yLabel: 'tokens/s', logY: false,
          series: [{ name: 'batch 1', points: rows.map((r) => [r.latents, r.tokensPerSecond] as const) }] },
      ]));
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}
