// `npm run bench -- generate`: cached decoding against the machine's memory bandwidth, measured in
// the same run (before and after each case). At batch 1 a decode step reads every weight matrix
// once and the key/value caches once, so its speed is bounded by bytes per token ÷ read bandwidth;
// each rate is printed as a fraction of that bound ("of bound"). Tokens/s counts the decode steps
// after the first token; the prompt's prime is reported apart, as the time to the first token.
// Shapes: enwik8-small (spec §9), the small config of `bench train`, and giant-midi's shape (the
// PyTorch port's 134M-parameter music model: C 768, 18 layers, M 6144, N 2048), random weights
// (speed does not depend on them), f32 and bf16 weights.
import type { Engine } from '../src/node.js';
import { parameterCount, type ModelConfig } from '../src/models/perceiver-ar/config.js';
import type { PerceiverAR } from '../src/models/perceiver-ar/model.js';
import { isWeightMatrix, type WeightFormat } from '../src/nn/params.js';
import { perceiverPresetNamed as presetNamed } from '../src/presets.js';
import { stepsPerSecond } from '../src/sample/generate.js';
import type { BenchResult } from './harness.js';
import { median } from './timing.js';
import { cachedGeneration, decodeModel, syntheticStream, TRAIN_CASES } from './model.js';
const MiB = 2 ** 20;

/** Memory read bandwidth (GB/s) on all the engine's threads: a 512 MiB buffer streamed once per pass, the median of 5 passes. */
export function readBandwidth(e: Engine, bytes = 512 * MiB): number {
  if (!e.streamRead) throw new Error('the bandwidth measurement needs the wasm backend');
  const buf = e.allocU8(bytes, 'bandwidth buffer');
  buf.fill(1);
  e.streamRead(buf);
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    e.streamRead(buf);
    rates.push(bytes / ((performance.now() - t) * 1e6));
  }
  e.free(buf);
  return median(rates);
}

/**
 * Bytes one cached decode step reads, averaged over the `tokens` − 1 steps after a `prompt`-token
 * prime (one latent; the prime gives the first token): every parameter but the embedding tables
 * (one row each: negligible) — weight matrices at 2 (bf16) or 4 bytes — plus the cross-attend's
 * cached keys/values (step i attends to min(M, prompt + i + 1) rows of 2C floats, its own included)
 * and each layer's latent cache (i + 2 rows at step i, back to ⌊N/2⌋ at a reset).
 */
export function decodeBytesPerToken(c: ModelConfig, params: PerceiverAR['params'], weights: WeightFormat, prompt: number, tokens: number): number {
  let weightBytes = 0;
  for (const p of params.list) {
    if (p.spec.name.startsWith('embed.')) continue;
    weightBytes += p.size * (weights === 'bf16' && isWeightMatrix(p.spec) ? 2 : 4);
  }
  const steps = Math.max(1, tokens - 1);
  let cacheBytes = 0, latents = 1;
  for (let i = 0; i < steps; i++) {
    if (latents >= c.numLatents) latents = Math.max(1, Math.floor(c.numLatents / 2));
    cacheBytes += Math.min(c.contextLength, prompt + i + 1) * 2 * c.width * 4 + c.numLayers * (latents + 1) * 2 * c.width * 4;
    latents++;
  }
  return weightBytes + cacheBytes / steps;
}

interface DecodeCase { readonly name: string; readonly config: ModelConfig; readonly prompt: number; readonly tokens: number; readonly runs: number }

export const DECODE_CASES: readonly DecodeCase[] = [
  { name: 'enwik8-small', config: presetNamed('enwik8-small').model, prompt: 3584, tokens: 256, runs: 3 },
  { name: 'small', config: TRAIN_CASES[0]!.config(), prompt: 768, tokens: 256, runs: 3 },
  { name: 'giant-midi-shape', config: { ...presetNamed('enwik8-small').model, vocabSize: 389, contextLength: 6144, numLatents: 2048, numLayers: 18,
    width: 768, embedDim: 768, numHeads: 8, crossAttendHeads: 8, maxWavelength: 6144, maxPosition: 6145 }, prompt: 6016, tokens: 64, runs: 3 },
];

export interface DecodeRate {
  /** Decode steps per second: the tokens after the first, over the time after the first (the prime is not a decode step). */
  readonly tokensPerSecond: number;
  /** Time to the first token: the prompt's prime forward (one latent) and a sampling. */
  readonly firstTokenSeconds: number;
  readonly bytesPerToken: number; readonly parameters: number; readonly resets: number;
  /**
   * With a bandwidth measurement: each run against the bandwidth measured right before and right
   * after it (the larger), the median over runs — the fraction of the bandwidth bound, and the
   * bandwidth it was taken against (the median of those larger values).
   */
  readonly ofBound?: { readonly fraction: number; readonly gbs: number; readonly measurements: readonly number[] };
}

/**
 * Cached decoding of one case with the given weights: the medians over `runs` runs after a warm-up;
 * with `bandwidth`, also each run as a fraction of its bound (DecodeRate.ofBound).
 */
export function decodeRate(e: Engine, dc: DecodeCase, weights: WeightFormat, progress: (l: string) => void, bandwidth?: () => number): DecodeRate {
  const model = decodeModel(e, dc.config, weights);
  const prompt = syntheticStream(dc.prompt, 5);
  const run = cachedGeneration(model, prompt);
  progress(`${dc.name} [${weights}]: warm-up…`);
  run(8);
  const rates: number[] = [], firsts: number[] = [], seen: number[] = [], fractions: number[] = [], against: number[] = [];
  const bytesPerToken = decodeBytesPerToken(dc.config, model.params, weights, dc.prompt, dc.tokens);
  let resets = 0;
  if (bandwidth) seen.push(bandwidth());
  for (let i = 0; i < dc.runs; i++) {
    progress(`${dc.name} [${weights}]: ${dc.tokens} tokens after a ${dc.prompt}-token prompt, run ${i + 1}/${dc.runs}…`);
    const r = run(dc.tokens);
    rates.push(stepsPerSecond(r));
    firsts.push(r.firstTokenSeconds);
    resets = r.resets;
    if (bandwidth) {
      seen.push(bandwidth());
      const gbs = Math.max(seen[i]!, seen[i + 1]!);
      against.push(gbs);
      fractions.push((stepsPerSecond(r) * bytesPerToken) / (gbs * 1e9));
    }
  }
  const out = { tokensPerSecond: median(rates), firstTokenSeconds: median(firsts), bytesPerToken, parameters: parameterCount(dc.config), resets,
    ...(bandwidth ? { ofBound: { fraction: median(fractions), gbs: median(against), measurements: seen } } : {}) };
  model.dispose();
  return out;
}

/**
 * The decode rows: every case with f32 and bf16 weights as tokens/s and as a fraction of its bound.
 * The bandwidth of this shared machine moves by tens of percent within a minute, so it is measured
 * right before and right after each run (a few seconds apart, not a whole case's), each run is
 * taken against the larger of its two, and the row gives the median of the runs' fractions.
 */
export function benchDecode(e: Engine, progress: (l: string) => void): BenchResult[] {
  const base = { threads: e.info.threads, simd: e.info.simd, gflops: null };
  const buffer = 512 * MiB;
  const bandwidth = (): number => { progress('memory read bandwidth (512 MiB, streamed)…'); return readBandwidth(e, buffer); };
  const rows: BenchResult[] = [], seen: number[] = [], around: Array<{ gbs: number; low: number; high: number }> = [];
  for (const dc of DECODE_CASES) {
    for (const weights of ['f32', 'bf16'] as const) {
      const r = decodeRate(e, dc, weights, progress, bandwidth);
      seen.push(...r.ofBound!.measurements);
      const { fraction, gbs, measurements } = r.ofBound!, bound = (gbs * 1e9) / r.bytesPerToken;
      around.push({ gbs, low: Math.min(...measurements), high: Math.max(...measurements) });
      const gated = dc.name === 'enwik8-small' && weights === 'bf16';
      rows.push({ ...base, name: `decode-${dc.name} [${weights}]`, ms: 1000 / r.tokensPerSecond, fractionOfCeiling: fraction,
        target: gated ? '≥ 250 tokens/s, ≥ 70% of bound' : null, targetMet: gated ? r.tokensPerSecond >= 250 && fraction >= 0.7 : null,
        extra: { 'tokens/s': r.tokensPerSecond.toFixed(1), 'first token ms': (1000 * r.firstTokenSeconds).toFixed(0), 'of bound': `${(100 * fraction).toFixed(0)}%`,
          'GB/s': gbs.toFixed(1), 'MB/token': (r.bytesPerToken / 1e6).toFixed(1), 'bound tokens/s': bound.toFixed(0),
          params: `${(r.parameters / 1e6).toFixed(1)}M`, 're-encodes': r.resets } });
    }
  }
  // A neighbour taking memory bandwidth slows the stream more than decoding (partly bound by
  // compute), so a case measured while the bandwidth was low or moving has an inflated fraction:
  // the row says so (its bandwidth under 80% of the run's best, or moving by more than 25%).
  const best = Math.max(...seen);
  around.forEach(({ gbs, low, high }, i) => {
    if (gbs >= 0.8 * best && high <= 1.25 * low) return;
    rows[i] = { ...rows[i]!, extra: { ...rows[i]!.extra, bandwidth: `${low.toFixed(1)}–${high.toFixed(1)} GB/s around this case, the run's best ${best.toFixed(1)}: its fraction is not reliable` } };
  });
  const sorted = [...seen].sort((a, b) => a - b);
  rows.unshift({ ...base, name: 'memory-read-bandwidth', ms: buffer / (median(seen) * 1e6), fractionOfCeiling: null, target: null, targetMet: null,
    extra: { 'GB/s': median(seen).toFixed(1), range: `${sorted[0]!.toFixed(1)}–${sorted[sorted.length - 1]!.toFixed(1)}`, measurements: seen.length, buffer: '512 MiB' } });
  return rows;
}
