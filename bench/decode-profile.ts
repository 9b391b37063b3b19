// `npm run bench -- profile --decode`: where a cached decode step's time goes, kernel by kernel,
// against the memory read bandwidth measured in the same run. Per kernel: ms a token, calls a
// token, and — for the two kernels that read most of a step's bytes — MB a token and the rate they
// read them at (the bf16 products read their packed weights; the one-query attention its cached
// keys and values, split into the cross-attend, which reads the long context, and the latent
// layers, each reading its latent cache). What is left of the step is JavaScript between kernels
// (sampling, cache bookkeeping, argument checks, the profiler's own per-call bookkeeping) and the
// pool's dispatches. Cases as `bench generate`'s (bf16 weights): by default its steps after the
// prompt's prime, one run after a warm-up.
import type { Engine } from '../src/node.js';
import { createEngine } from '../src/node.js';
import { generate } from '../src/sample/generate.js';
import { DECODE_CASES, decodeBytesPerToken, readBandwidth } from './generate.js';
import { decodeModel, syntheticStream } from './model.js';
import { profiledEngine } from './profile.js';

interface DecodeKernelRow { readonly name: string; readonly msPerToken: number; readonly callsPerToken: number; readonly mbPerToken: number | null }

/** Bytes a kernel call reads from its big operands, where that is what bounds it; null for the rest. */
function bytesRead(name: string, d: Record<string, number | undefined>): number | null {
  if (name === 'matmulBf16') return d.k! * d.n! * 2;
  if (name === 'attentionForward' && d.queries === 1 && d.batch === 1) return d.keys! * d.heads! * d.headDim! * 2 * 4;
  return null;
}

/** One-query attention over more than N keys is the cross-attend's (a latent cache holds at most N; every case's prompt is longer than N). */
function label(name: string, d: Record<string, number | undefined>, numLatents: number): string {
  if (name === 'attentionForward' && d.queries === 1) return d.keys! > numLatents ? 'attention, one query: cross-attend' : 'attention, one query: latent layers';
  return name;
}

/** Profiles `tokens` cached decode steps of one case (bf16 weights) after a warm-up; per-token figures. */
export function profileDecode(e: Engine, caseName: string, tokens: number): { msPerToken: number; bytesPerToken: number; rows: DecodeKernelRow[]; resets: number } {
  const dc = decodeCase(caseName);
  const totals = new Map<string, { ms: number; calls: number; bytes: number | null }>();
  let on = false;
  const { engine } = profiledEngine(e, (name, args, ms) => {
    if (!on) return;
    const d = args[0] as Record<string, number | undefined>;
    const key = label(name, d, dc.config.numLatents), b = bytesRead(name, d);
    const s = totals.get(key) ?? { ms: 0, calls: 0, bytes: b === null ? null : 0 };
    s.ms += ms;
    s.calls++;
    if (b !== null) s.bytes = (s.bytes ?? 0) + b;
    totals.set(key, s);
  });
  const model = decodeModel(engine, dc.config, 'bf16');
  const prompt = syntheticStream(dc.prompt, 5);
  // Kernels are counted from the first token on (onToken follows the prime): the decode steps only.
  const run = (n: number, onToken?: () => void) => generate(model, prompt,
    { maxNewTokens: n, temperature: 1, topK: 0, topP: 1, seed: 1, stopAtEos: false, cached: true }, onToken);
  run(8);
  const r = run(tokens + 1, () => { on = true; });
  on = false;
  const stepMs = (1000 * (r.seconds - r.firstTokenSeconds)) / tokens;
  const bytesPerToken = decodeBytesPerToken(dc.config, model.params, 'bf16', dc.prompt, tokens + 1);
  model.dispose();
  const rows = [...totals].map(([name, s]) => ({
    name, msPerToken: s.ms / tokens, callsPerToken: s.calls / tokens, mbPerToken: s.bytes === null ? null : s.bytes / tokens / 1e6,
  })).sort((a, b) => b.msPerToken - a.msPerToken);
  return { msPerToken: stepMs, bytesPerToken, rows, resets: r.resets };
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
      console.log('| kernel | ms/token | share | calls/token | MB/token | GB/s |\n|---|---:|---:|---:|---:|---:|');
      for (const k of p.rows) {
        console.log(`| ${k.name} | ${k.msPerToken.toFixed(3)} | ${((100 * k.msPerToken) / p.msPerToken).toFixed(1)}% | ${k.callsPerToken.toFixed(1)} | ` +
          `${k.mbPerToken === null ? '' : k.mbPerToken.toFixed(1)} | ${k.mbPerToken === null ? '' : (k.mbPerToken / k.msPerToken).toFixed(1)} |`);
      }
      const rest = p.msPerToken - inKernels;
      console.log(`| (JavaScript between kernels, dispatch) | ${rest.toFixed(3)} | ${((100 * rest) / p.msPerToken).toFixed(1)}% | | | |`);
    }
  } finally {
    await e.dispose();
  }
  return 0;
}
