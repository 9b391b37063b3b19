// The PyTorch port's forward pass (spec krasserm-interop §2), written plainly in float64 from the
// spec as a test oracle: no engine, no caches, one sequence at a time. Checked against the port's
// own logits (test/fixtures/port); the engine's port-compatible model is to be checked against both.
import { erf } from '../../src/kernels/formulas.js';
import type { PortConfig } from '../../src/models/perceiver-ar/port-config.js';

export { erf };

type Weights = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;
type Rows = Float64Array[];

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

export function portForward(w: Weights, c: PortConfig, ids: readonly number[], prefix: number): Float64Array[] {
  const C = c.channels, h = c.heads, d = C / h, n = ids.length;
  const get = (name: string): Float32Array => { const t = w.get(name); if (!t) throw new Error(`no tensor ${name}`); return t.data; };
  /** rows · Wᵀ (+ b): W is [out, in]. */
  const linear = (x: Rows, name: string, bias?: string): Rows => {
    const W = get(`${name}.weight`), out = W.length / x[0]!.length, inn = x[0]!.length, b = bias ? get(bias) : null;
    return x.map((row) => {
      const y = new Float64Array(out);
      for (let o = 0; o < out; o++) { let s = b ? b[o]! : 0; for (let i = 0; i < inn; i++) s += row[i]! * W[o * inn + i]!; y[o] = s; }
      return y;
    });
  };
  const norm = (x: Rows, name: string): Rows => {
    const g = get(`${name}.weight`), b = get(`${name}.bias`);
    return x.map((row) => {
      const mean = row.reduce((a, v) => a + v, 0) / row.length, variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
      return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[i]! + b[i]!);
    });
  };
  const add = (a: Rows, b: Rows): Rows => a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
  const r = c.absPosEmb ? d / 2 : d, freq = Array.from({ length: r / 2 }, (_, j) => 10000 ** (-(2 * j) / r));
  /** RoPE on the first r channels of each head, adjacent pairs, at position p. */
  const rotate = (row: Float64Array, p: number): Float64Array => {
    const out = Float64Array.from(row);
    for (let head = 0; head < h; head++) {
      for (let j = 0; j < r / 2; j++) {
        const i = head * d + 2 * j, a = row[i]!, b = row[i + 1]!, cos = Math.cos(p * freq[j]!), sin = Math.sin(p * freq[j]!);
        out[i] = a * cos - b * sin;
        out[i + 1] = b * cos + a * sin;
      }
    }
    return out;
  };
  /** Multi-head attention: q rows at positions qPos, k/v rows at kPos; query i sees key j iff kPos[j] ≤ qPos[i]. */
  const attend = (q: Rows, k: Rows, v: Rows, qPos: number[], kPos: number[], rotary: boolean): Rows => {
    const qs = q.map((row, i) => { const s = row.map((x) => x / Math.sqrt(d)); return rotary ? rotate(s, qPos[i]!) : s; });
    const ks = k.map((row, j) => (rotary ? rotate(row, kPos[j]!) : row));
    return qs.map((qi, i) => {
      const o = new Float64Array(C);
      for (let head = 0; head < h; head++) {
        const scores = ks.map((kj, j) => {
          if (kPos[j]! > qPos[i]!) return -Infinity;
          let s = 0;
          for (let t = 0; t < d; t++) s += qi[head * d + t]! * kj[head * d + t]!;
          return s;
        });
        const top = Math.max(...scores), e = scores.map((s) => Math.exp(s - top)), z = e.reduce((a, b) => a + b, 0);
        e.forEach((p, j) => { for (let t = 0; t < d; t++) o[head * d + t]! += (p / z) * v[j]![head * d + t]!; });
      }
      return o;
    });
  };
  const mlp = (x: Rows, prefixName: string): Rows => add(x, linear(linear(norm(x, `${prefixName}.0`), `${prefixName}.1`).map((row) => row.map(gelu)), `${prefixName}.3`));

  const E = get('input_adapter.txt_embedding.weight'), pos = c.absPosEmb ? get('input_adapter.pos_embedding.weight') : null;
  const emb: Rows = ids.map((id, p) => Float64Array.from({ length: C }, (_, i) => E[id * C + i]! + (pos ? pos[p * C + i]! : 0)));
  const positions = Array.from({ length: n }, (_, p) => p), latentPos = positions.slice(prefix);
  // Cross-attention: the latents' own keys and values come through the query norm.
  const ca = 'cross_attention.0.module', xq = emb.slice(prefix), qn = norm(xq, `${ca}.q_norm`);
  const kvIn = [...norm(emb.slice(0, prefix), `${ca}.kv_norm`), ...qn];
  let H = add(xq, linear(attend(linear(qn, `${ca}.attention.q_proj`), linear(kvIn, `${ca}.attention.k_proj`), linear(kvIn, `${ca}.attention.v_proj`),
    latentPos, positions, true), `${ca}.attention.o_proj`, `${ca}.attention.o_proj.bias`));
  H = mlp(H, 'cross_attention.1.module');
  for (let l = 0; l < c.selfAttentionLayers; l++) {
    const sa = `self_attention.${l}.0.module`, x = norm(H, `${sa}.norm`);
    const rotary = c.selfAttentionRotaryLayers === -1 || l < c.selfAttentionRotaryLayers;
    H = add(H, linear(attend(linear(x, `${sa}.attention.q_proj`), linear(x, `${sa}.attention.k_proj`), linear(x, `${sa}.attention.v_proj`), latentPos, latentPos, rotary),
      `${sa}.attention.o_proj`));
    H = mlp(H, `self_attention.${l}.1.module`);
  }
  if (c.outputNorm) H = norm(H, 'out_norm');
  const bias = c.outputBias ? get('output_adapter.bias') : null;
  return H.map((row) => Float64Array.from({ length: c.vocabSize }, (_, v) => {
    let s = bias ? bias[v]! : 0;
    for (let i = 0; i < C; i++) s += row[i]! * E[v * C + i]!;
    return s;
  }));
}
