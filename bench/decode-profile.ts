// `npm run bench -- profile --decode`: where a cached decode step's time goes, job by job, against
// the memory read bandwidth measured in the same run. Every job the kernels run on the pool (or
// inline) is timed on the calling thread (engine.observeJobs: the small config's step took
// 0.37–0.47 ms with and without an observer like this one, alternated; its bookkeeping, under a
// microsecond a job, counts in the JavaScript row). Per kernel export: ms a token, jobs a token,
// and — for the two that read most of a step's bytes — MB a token and the rate they read them at (the bf16 products their packed weights; the one-query attention its cached
// keys and values, split into the cross-attend, which reads the long context, and the latent
// layers, each reading its latent cache). What is left of the step is JavaScript outside the jobs:
// the model's code, the kernels' argument checks, sampling and cache bookkeeping. Cases as `bench
// generate`'s (bf16 weights): by default its steps after the prompt's prime, its runs (the run of
// median time reported); the bandwidth read before and after the case.
import type { Engine } from '../src/node.js';
import { createEngine } from '../src/node.js';
import { DECODE_CASES, decodeBytesPerToken, readBandwidth } from './generate.js';
import { cachedGeneration, decodeModel, syntheticStream } from './model.js';

interface DecodeKernelRow { readonly name: string; readonly msPerToken: number; readonly callsPerToken: number; readonly mbPerToken: number | null }

/**
 * A job's row and the bytes it reads from its big operands, where that is what bounds it. Arguments
 * as src/kernels/wasm/backend.ts passes them: matmulBf16 (m, n, k, …); attentionDecode
 * (q, k, v, out, lse, qPos, kPos, kValid, Tk, H, D, …). One-query attention over more than N keys is the
 * cross-attend's (a latent cache holds at most N; every case's prompt is longer than N).
 */
function classify(job: string, args: readonly number[], numLatents: number): { name: string; bytes: number | null } {
  if (job === 'matmulBf16') return { name: job, bytes: args[1]! * args[2]! * 2 };
  if (job === 'attentionDecode') {
    const keys = args[8]!;
    return { name: keys > numLatents ? 'attention, one query: cross-attend' : 'attention, one query: latent layers', bytes: keys * args[9]! * args[10]! * 2 * 4 };
  }
  return { name: job, bytes: null };
}

type Totals = Map<string, { ms: number; calls: number; bytes: number | null }>;

/**
 * Profiles `tokens` cached decode steps of one case (bf16 weights) as bench generate measures them:
 * a short warm-up, then the case's runs (3); the run of median step time is reported (the first
 * runs of a case are slower than later ones: docs/benchmarks.md). Per-token figures.
 */
export function profileDecode(e: Engine, caseName: string, tokens: number): { msPerToken: number; bytesPerToken: number; rows: DecodeKernelRow[]; resets: number } {
  if (!e.observeJobs) throw new Error('the decode profile needs the wasm backend');
  const dc = decodeCase(caseName);
  let totals: Totals | null = null;
  const model = decodeModel(e, dc.config, 'bf16');
  try {
    e.observeJobs((job, args, ms) => {
      if (!totals) return;
      const { name, bytes } = classify(job, args, dc.config.numLatents);
      const s = totals.get(name) ?? { ms: 0, calls: 0, bytes: bytes === null ? null : 0 };
      s.ms += ms;
      s.calls++;
      if (bytes !== null) s.bytes = (s.bytes ?? 0) + bytes;
      totals.set(name, s);
    });
    const prompt = syntheticStream(dc.prompt, 5);
    const run = cachedGeneration(model, prompt);
    run(8);
    const runs: Array<{ stepMs: number; totals: Totals; resets: number }> = [];
    for (let i = 0; i < dc.runs; i++) {
      const mine: Totals = new Map();
      // Jobs are counted from the first token on (onToken follows the prime): the decode steps only.
      const r = run(tokens + 1, () => { totals = mine; });
      totals = null;
      runs.push({ stepMs: (1000 * (r.seconds - r.firstTokenSeconds)) / tokens, totals: mine, resets: r.resets });
    }
    const chosen = [...runs].sort((x, y) => x.stepMs - y.stepMs)[runs.length >> 1]!;
    const bytesPerToken = decodeBytesPerToken(dc.config, model.params, 'bf16', dc.prompt, tokens + 1);
    const rows = [...chosen.totals].map(([name, s]) => ({
      name, msPerToken: s.ms / tokens, callsPerToken: s.calls / tokens, mbPerToken: s.bytes === null ? null : s.bytes / tokens / 1e6,
    })).sort((x, y) => y.msPerToken - x.msPerToken);
    return { msPerToken: chosen.stepMs, bytesPerToken, rows, resets: chosen.resets };
  } finally {
    e.observeJobs(null);
    model.dispose();
  }
}

function decodeCase(name: string): (typeof DECODE_CASES)[number] {
  const dc = DECODE_CASES.find((c) => c.name === name);
  if (!dc) throw new Error(`unknown decode case '${name}'; cases: ${DECODE_CASES.map((c) => c.name).join(', ')}`);
  return dc;
}

export async function runDecodeProfile(threads: number, tokensOption: number | null, cases: readonly string[]): Promise<number> {
  for (const name of cases) decodeCase(name); // refused before the engine starts
  const e = await createEngine({ backend: 'wasm', threads });
  try {
    for (const name of cases) {
      const tokens = tokensOption ?? decodeCase(name).tokens - 1; // bench generate's steps by default (its tokens after the first)
      const before = readBandwidth(e);
      const p = profileDecode(e, name, tokens);
      const gbs = Math.max(before, readBandwidth(e));
      const inKernels = p.rows.reduce((s, k) => s + k.msPerToken, 0);
      console.log(`\n${name}, bf16 weights, ${tokens} tokens, ${threads} threads: ${p.msPerToken.toFixed(3)} ms a token; ` +
        `${(p.bytesPerToken / 1e6).toFixed(1)} MB a token at ${gbs.toFixed(1)} GB/s read bandwidth = ${((p.bytesPerToken / (gbs * 1e9)) * 1000).toFixed(3)} ms (the bound); ${p.resets} re-encodes`);
      console.log('| job | ms/token | share | jobs/token | MB/token | GB/s |\n|---|---:|---:|---:|---:|---:|');
      for (const k of p.rows) {
        console.log(`| ${k.name} | ${k.msPerToken.toFixed(3)} | ${((100 * k.msPerToken) / p.msPerToken).toFixed(1)}% | ${k.callsPerToken.toFixed(1)} | ` +
          `${k.mbPerToken === null ? '' : k.mbPerToken.toFixed(1)} | ${k.mbPerToken === null ? '' : (k.mbPerToken / k.msPerToken).toFixed(1)} |`);
      }
      const rest = p.msPerToken - inKernels;
      console.log(`| (JavaScript outside the jobs) | ${rest.toFixed(3)} | ${((100 * rest) / p.msPerToken).toFixed(1)}% | | | |`);
    }
  } finally {
    await e.dispose();
  }
  return 0;
}
