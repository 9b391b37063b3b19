// `npm run bench -- interop [--port=PATH --einops=PATH] [--prompt=3584] [--new=128] [--threads=2]`:
// cached generation with an imported model of the PyTorch port at the giant-midi shape (the port's
// config.json mapped by modelConfigFromPort: its 134,840,832 parameters plus PAD's zero rows, random weights), bf16 and f32,
// beside the port's own cached generation in PyTorch in the same run (scripts/interop/port-generation-speed.py:
// the same prompt length, primed with one latent, greedy, the same thread count). Without --port the
// port's row says how to get it. The two do the same work per token: one latent more each step, no
// re-encode or truncation before max_latents.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/node.js';
import { parameterCount } from '../src/models/perceiver-ar/config.js';
import { readPortConfig } from '../src/models/perceiver-ar/port-config.js';
import { modelConfigFromPort } from '../src/models/perceiver-ar/port-weights.js';
import { decodeRate } from './generate.js';
import { printTable, type BenchResult } from './harness.js';

/** The giant-midi model's config.json (spec krasserm-interop §1). */
export const GIANT_MIDI_CONFIG = {
  model_config: {
    vocab_size: 389, max_seq_len: 6144, max_latents: 2048, num_channels: 768, num_heads: 8, max_heads_parallel: null, num_self_attention_layers: 18,
    num_self_attention_rotary_layers: 1, self_attention_widening_factor: 4, cross_attention_widening_factor: 4, cross_attention_dropout: 0.5,
    post_attention_dropout: 0, residual_dropout: 0, output_norm: true, output_bias: false, abs_pos_emb: false, init_scale: 0.02, activation_checkpointing: false,
  },
};

interface InteropArgs { port: string | null; einops: string | null; prompt: number; fresh: number; threads: number; json: boolean }

function parse(argv: readonly string[]): InteropArgs {
  const a: InteropArgs = { port: null, einops: null, prompt: 3584, fresh: 128, threads: 2, json: false };
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split('=', 2) as [string, string | undefined];
    if (k === 'json') a.json = true;
    else if (k === 'port' && v) a.port = v;
    else if (k === 'einops' && v) a.einops = v;
    else if ((k === 'prompt' || k === 'new' || k === 'threads') && v && /^\d+$/.test(v)) a[k === 'new' ? 'fresh' : k] = Number(v);
    else throw new Error(`bench interop: unknown or invalid option ${arg}; takes --port=PATH --einops=PATH --prompt=N --new=N --threads=N --json`);
  }
  if ((a.port === null) !== (a.einops === null)) throw new Error('bench interop: give --port and --einops together (the two source trees)');
  return a;
}

/** The port's rate from its script, or a note why there is none. */
function portRate(a: InteropArgs): { tokensPerSecond: number; firstTokenSeconds: number; torch: string } | string {
  if (!a.port || !a.einops) return 'not run: give --port=PATH --einops=PATH (the port and einops source trees; Debian python3-torch)';
  const script = fileURLToPath(new URL('../../scripts/interop/port-generation-speed.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, `--port=${a.port}`, `--einops=${a.einops}`, `--prompt=${a.prompt}`, `--new=${a.fresh}`,
    '--threads', String(a.threads), '--json'], { encoding: 'utf8', timeout: 3_600_000 });
  if (r.status !== 0) return `failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokensPerSecond: number; firstTokenSeconds: number; torch: string };
}

export async function runInteropBench(argv: readonly string[]): Promise<number> {
  const a = parse(argv);
  const progress = (l: string): void => { if (!a.json) process.stderr.write(`\r${l}\x1b[K`); };
  const { config } = modelConfigFromPort(readPortConfig(GIANT_MIDI_CONFIG, 'giant-midi config.json'));
  const engine = await createEngine({ backend: 'wasm', threads: a.threads });
  const rows: BenchResult[] = [], base = { threads: a.threads, simd: engine.info.simd, gflops: null, fractionOfCeiling: null, target: null, targetMet: null };
  const ours: Record<string, number> = {};
  try {
    for (const weights of ['bf16', 'f32'] as const) {
      const r = decodeRate(engine, { name: 'giant-midi (imported)', config, prompt: a.prompt, tokens: a.fresh, runs: 3 }, weights, progress);
      ours[weights] = r.tokensPerSecond;
      rows.push({ ...base, name: `giant-midi imported [${weights}]`, ms: 1000 / r.tokensPerSecond,
        extra: { 'tokens/s': r.tokensPerSecond.toFixed(1), 'first token ms': (1000 * r.firstTokenSeconds).toFixed(0), params: `${(parameterCount(config) / 1e6).toFixed(1)}M`,
          prompt: a.prompt, new: a.fresh, 're-encodes': r.resets } });
    }
  } finally {
    await engine.dispose();
  }
  progress('the port in PyTorch (its own cached generation)…');
  const port = portRate(a);
  if (typeof port === 'string') {
    rows.push({ ...base, simd: '-', name: 'port (PyTorch) [f32]', ms: NaN, extra: { note: port } });
  } else {
    rows.push({ ...base, simd: `torch ${port.torch}`, name: 'port (PyTorch) [f32]', ms: 1000 / port.tokensPerSecond,
      extra: { 'tokens/s': port.tokensPerSecond.toFixed(1), 'first token ms': (1000 * port.firstTokenSeconds).toFixed(0), prompt: a.prompt, new: a.fresh,
        'ours bf16 ÷ port': (ours.bf16! / port.tokensPerSecond).toFixed(1), 'ours f32 ÷ port': (ours.f32! / port.tokensPerSecond).toFixed(1) } });
  }
  if (!a.json) process.stderr.write('\r\x1b[K');
  if (a.json) for (const r of rows) console.log(JSON.stringify(r));
  else printTable(rows, (l) => console.log(l));
  return 0;
}
