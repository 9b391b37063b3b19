// Row- and element-wise layer kernels. Shapes in floats; every kernel processes its thread's share
// (rows, columns or elements) and backward kernels accumulate (+=) into gradient buffers.
import { fma4, hash32, hsum4, share, SCRATCH_BYTES } from './common';

@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// ---- bias: y[R, C] += b[C];  backward db[C] += Σ_r dy[r, C] (threads split columns) ----
export function biasAddForward(y: usize, bias: usize, R: i32, C: i32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const row = y + (<usize>r * C << 2);
    let c = 0;
    for (; c + 4 <= C; c += 4) v128.store(at(row, c), f32x4.add(v128.load(at(row, c)), v128.load(at(bias, c))));
    for (; c < C; c++) store<f32>(at(row, c), load<f32>(at(row, c)) + load<f32>(at(bias, c)));
  }
}

export function biasAddBackward(dy: usize, dbias: usize, R: i32, C: i32, tid: i32, nth: i32): void {
  const c0 = share(C, tid, nth, 16), c1 = share(C, tid + 1, nth, 16);
  let c = c0;
  // 16 columns (one cache line of each row) per pass over the rows, in four accumulators.
  for (; c + 16 <= c1; c += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let r = 0; r < R; r++) {
      const row = at(dy, r * C + c);
      a0 = f32x4.add(a0, v128.load(row)); a1 = f32x4.add(a1, v128.load(row, 16));
      a2 = f32x4.add(a2, v128.load(row, 32)); a3 = f32x4.add(a3, v128.load(row, 48));
    }
    const d = at(dbias, c);
    v128.store(d, f32x4.add(v128.load(d), a0)); v128.store(d, f32x4.add(v128.load(d, 16), a1), 16);
    v128.store(d, f32x4.add(v128.load(d, 32), a2), 32); v128.store(d, f32x4.add(v128.load(d, 48), a3), 48);
  }
  for (; c + 4 <= c1; c += 4) {
    let acc = f32x4.splat(0);
    for (let r = 0; r < R; r++) acc = f32x4.add(acc, v128.load(at(dy, r * C + c)));
    v128.store(at(dbias, c), f32x4.add(v128.load(at(dbias, c)), acc));
  }
  for (; c < c1; c++) {
    let s: f32 = 0;
    for (let r = 0; r < R; r++) s += load<f32>(at(dy, r * C + c));
    store<f32>(at(dbias, c), load<f32>(at(dbias, c)) + s);
  }
}

// ---- embedding: out[T, C] = table[ids[t], C];  backward dTable[ids[t]] += dOut[t] ----
export function embeddingForward(table: usize, ids: usize, out: usize, T: i32, C: i32, tid: i32, nth: i32): void {
  const t1 = share(T, tid + 1, nth, 1);
  for (let t = share(T, tid, nth, 1); t < t1; t++) {
    const id = load<i32>(at(ids, t));
    memory.copy(out + (<usize>t * C << 2), table + (<usize>id * C << 2), <usize>C << 2);
  }
}

// Threads split the columns so that repeated ids never race.
export function embeddingBackward(dTable: usize, ids: usize, dOut: usize, T: i32, C: i32, tid: i32, nth: i32): void {
  const c0 = share(C, tid, nth, 4), c1 = share(C, tid + 1, nth, 4);
  for (let t = 0; t < T; t++) {
    const dst = dTable + (<usize>load<i32>(at(ids, t)) * C << 2);
    const src = dOut + (<usize>t * C << 2);
    let c = c0;
    for (; c + 4 <= c1; c += 4) v128.store(at(dst, c), f32x4.add(v128.load(at(dst, c)), v128.load(at(src, c))));
    for (; c < c1; c++) store<f32>(at(dst, c), load<f32>(at(dst, c)) + load<f32>(at(src, c)));
  }
}

// ---- LayerNorm over rows of C: y = (x - mean)·rstd·gamma + beta; saves mean[R], rstd[R] ----
// One row (xr → yr, C floats); its mean and rstd stored at meanAt / rstdAt unless those are 0.
// The bf16 product's normalising prologue (asm/half.ts) uses it too: the same floats as this kernel.
@inline export function layerNormRow(xr: usize, yr: usize, gamma: usize, beta: usize, C: i32, eps: f32, meanAt: usize, rstdAt: usize): void {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= C; c += 4) acc = f32x4.add(acc, v128.load(at(xr, c)));
  let s = hsum4(acc);
  for (; c < C; c++) s += load<f32>(at(xr, c));
  const mu = s / <f32>C;
  const muv = f32x4.splat(mu);
  acc = f32x4.splat(0);
  c = 0;
  for (; c + 4 <= C; c += 4) { const d = f32x4.sub(v128.load(at(xr, c)), muv); acc = fma4(d, d, acc); }
  let ss = hsum4(acc);
  for (; c < C; c++) { const d = load<f32>(at(xr, c)) - mu; ss += d * d; }
  const rs: f32 = <f32>1 / Mathf.sqrt(ss / <f32>C + eps);
  if (meanAt != 0) store<f32>(meanAt, mu);
  if (rstdAt != 0) store<f32>(rstdAt, rs);
  const rsv = f32x4.splat(rs);
  c = 0;
  for (; c + 4 <= C; c += 4) {
    const xh = f32x4.mul(f32x4.sub(v128.load(at(xr, c)), muv), rsv);
    v128.store(at(yr, c), fma4(xh, v128.load(at(gamma, c)), v128.load(at(beta, c))));
  }
  for (; c < C; c++) store<f32>(at(yr, c), (load<f32>(at(xr, c)) - mu) * rs * load<f32>(at(gamma, c)) + load<f32>(at(beta, c)));
}

export function layerNormForward(x: usize, gamma: usize, beta: usize, y: usize, mean: usize, rstd: usize,
  R: i32, C: i32, eps: f32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    layerNormRow(x + (<usize>r * C << 2), y + (<usize>r * C << 2), gamma, beta, C, eps, at(mean, r), at(rstd, r));
  }
}

// One pass over the thread's rows: dx[r] += rstd·(g − mean(g) − xhat·mean(g·xhat)) with
// g = dy·gamma, and the thread's partial Σ dy·xhat, Σ dy into its scratch as [dgamma C | dbeta C].
export function layerNormBackward(x: usize, gamma: usize, mean: usize, rstd: usize, dy: usize, dx: usize,
  scratch: usize, R: i32, C: i32, tid: i32, nth: i32): void {
  const dgp = scratch + <usize>tid * SCRATCH_BYTES, dbp = dgp + (<usize>C << 2);
  memory.fill(dgp, 0, <usize>C << 3);
  const r1 = share(R, tid + 1, nth, 1);
  const invC: f32 = <f32>1 / <f32>C;
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const xr = x + (<usize>r * C << 2), dyr = dy + (<usize>r * C << 2), dxr = dx + (<usize>r * C << 2);
    const mu = load<f32>(at(mean, r)), rs = load<f32>(at(rstd, r));
    const muv = f32x4.splat(mu), rsv = f32x4.splat(rs);
    let sgv = f32x4.splat(0), sgxv = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const d = v128.load(at(dyr, c));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xr, c)), muv), rsv);
      const g = f32x4.mul(d, v128.load(at(gamma, c)));
      sgv = f32x4.add(sgv, g);
      sgxv = fma4(g, xh, sgxv);
      v128.store(at(dgp, c), fma4(d, xh, v128.load(at(dgp, c))));
      v128.store(at(dbp, c), f32x4.add(d, v128.load(at(dbp, c))));
    }
    let sg = hsum4(sgv), sgx = hsum4(sgxv);
    for (; c < C; c++) {
      const d = load<f32>(at(dyr, c));
      const xh = (load<f32>(at(xr, c)) - mu) * rs;
      const g = d * load<f32>(at(gamma, c));
      sg += g;
      sgx += g * xh;
      store<f32>(at(dgp, c), load<f32>(at(dgp, c)) + d * xh);
      store<f32>(at(dbp, c), load<f32>(at(dbp, c)) + d);
    }
    const mg = sg * invC, mgx = sgx * invC;
    const mgv = f32x4.splat(mg), mgxv = f32x4.splat(mgx);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(at(xr, c)), muv), rsv);
      const g = f32x4.mul(v128.load(at(dyr, c)), v128.load(at(gamma, c)));
      const t = f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xh, mgxv));
      v128.store(at(dxr, c), fma4(rsv, t, v128.load(at(dxr, c))));
    }
    for (; c < C; c++) {
      const xh = (load<f32>(at(xr, c)) - mu) * rs;
      const g = load<f32>(at(dyr, c)) * load<f32>(at(gamma, c));
      store<f32>(at(dxr, c), load<f32>(at(dxr, c)) + rs * (g - mg - xh * mgx));
    }
  }
}

// dgamma[c] += Σ_t partial_t[c], dbeta[c] += Σ_t partial_t[C + c] over the `used` threads'
// scratch partials written by layerNormBackward (threads split the columns).
export function layerNormReduceParams(scratch: usize, dgamma: usize, dbeta: usize, C: i32, used: i32, tid: i32, nth: i32): void {
  const c1 = share(C, tid + 1, nth, 4);
  for (let c = share(C, tid, nth, 4); c < c1; c++) {
    let g: f32 = 0, b: f32 = 0;
    for (let t = 0; t < used; t++) {
      const p = scratch + <usize>t * SCRATCH_BYTES;
      g += load<f32>(at(p, c));
      b += load<f32>(at(p, C + c));
    }
    store<f32>(at(dgamma, c), load<f32>(at(dgamma, c)) + g);
    store<f32>(at(dbeta, c), load<f32>(at(dbeta, c)) + b);
  }
}

// ---- GLU over rows: x [R, 2C] = [a | g], y [R, C] = a·sigmoid(g) ----
@inline function sigmoid(v: f32): f32 { return 1 / (1 + Mathf.exp(-v)); }

export function gluForward(x: usize, y: usize, R: i32, C: i32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const xr = x + (<usize>r * 2 * C << 2), yr = y + (<usize>r * C << 2);
    for (let c = 0; c < C; c++) store<f32>(at(yr, c), load<f32>(at(xr, c)) * sigmoid(load<f32>(at(xr, c + C))));
  }
}

export function gluBackward(x: usize, dy: usize, dx: usize, R: i32, C: i32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const xr = x + (<usize>r * 2 * C << 2), dxr = dx + (<usize>r * 2 * C << 2), dyr = dy + (<usize>r * C << 2);
    for (let c = 0; c < C; c++) {
      const a = load<f32>(at(xr, c)), s = sigmoid(load<f32>(at(xr, c + C))), d = load<f32>(at(dyr, c));
      store<f32>(at(dxr, c), load<f32>(at(dxr, c)) + d * s);
      store<f32>(at(dxr, c + C), load<f32>(at(dxr, c + C)) + d * a * s * (1 - s));
    }
  }
}

// ---- out[n] = a + b (aliasing allowed); backward da += dy, db += dy via addInto ----
export function add(a: usize, b: usize, out: usize, n: i32, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  let i = share(n, tid, nth, 4);
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < i1; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

// x[n] *= s
export function scale(x: usize, s: f32, n: i32, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  let i = share(n, tid, nth, 4);
  const sv = f32x4.splat(s);
  for (; i + 4 <= i1; i += 4) v128.store(at(x, i), f32x4.mul(v128.load(at(x, i)), sv));
  for (; i < i1; i++) store<f32>(at(x, i), load<f32>(at(x, i)) * s);
}

// ---- dropout: keep element i iff hash32(seed, offset + i)/2^32 >= p; kept values scaled 1/(1-p).
// mode 0: y = drop(x); mode 1: y += drop(x) (the backward: dx += drop(dy)).
export function dropout(x: usize, y: usize, n: i32, p: f32, seed: u32, offset: u32, mode: i32, tid: i32, nth: i32): void {
  const i1 = share(n, tid + 1, nth, 4);
  const threshold = <u32>Math.min(4294967295.0, Math.floor(<f64>p * 4294967296.0));
  const keepScale: f32 = 1 / (1 - p);
  let i = share(n, tid, nth, 4);
  // Four elements at a time: hash32 on i32 lanes (wrapping multiplies, logical shifts), an unsigned
  // compare for the keep mask — the same masks as the scalar loop below.
  const lanes = i32x4(0, 1, 2, 3), vSeed = i32x4.splat(<i32>seed), vThreshold = i32x4.splat(<i32>threshold), vScale = f32x4.splat(keepScale);
  const m1 = i32x4.splat(<i32>0x9e3779b9), m2 = i32x4.splat(<i32>0x21f0aaad), m3 = i32x4.splat(<i32>0x735a2d97);
  for (; i + 4 <= i1; i += 4) {
    let h = i32x4.add(i32x4.mul(i32x4.add(i32x4.splat(<i32>(offset + <u32>i)), lanes), m1), vSeed);
    h = v128.xor(h, i32x4.shr_u(h, 16));
    h = i32x4.mul(h, m2);
    h = v128.xor(h, i32x4.shr_u(h, 15));
    h = i32x4.mul(h, m3);
    h = v128.xor(h, i32x4.shr_u(h, 15));
    const v = v128.and(f32x4.mul(v128.load(at(x, i)), vScale), i32x4.ge_u(h, vThreshold));
    v128.store(at(y, i), mode == 0 ? v : f32x4.add(v128.load(at(y, i)), v));
  }
  for (; i < i1; i++) {
    const keep = hash32(seed, offset + <u32>i) >= threshold;
    const v: f32 = keep ? load<f32>(at(x, i)) * keepScale : 0;
    store<f32>(at(y, i), mode == 0 ? v : load<f32>(at(y, i)) + v);
  }
}

// ---- rotary: rows r of x (stride ld floats) hold H heads of D; the first `rot` dims of each head
// are rotated in adjacent pairs (2i, 2i+1) by angle pos[r]·invFreq[i], invFreq[i] in f64 at
// `freqs` (rot/2 entries). sign = +1 forward, -1 backward (rotation by the opposite angle).
export function rotary(x: usize, pos: usize, freqs: usize, R: i32, H: i32, D: i32, ld: i32, rot: i32,
  sign: f32, tid: i32, nth: i32): void {
  const r1 = share(R, tid + 1, nth, 1);
  const nb = rot >> 1;
  for (let r = share(R, tid, nth, 1); r < r1; r++) {
    const p = <f64>load<i32>(at(pos, r));
    const row = x + (<usize>r * ld << 2);
    for (let i = 0; i < nb; i++) {
      const ang = p * load<f64>(freqs + (<usize>i << 3));
      const cs = <f32>Math.cos(ang), sn = sign * <f32>Math.sin(ang);
      for (let h = 0; h < H; h++) {
        const e = row + (<usize>(h * D + 2 * i) << 2);
        const x0 = load<f32>(e), x1 = load<f32>(e, 4);
        store<f32>(e, x0 * cs - x1 * sn);
        store<f32>(e, x0 * sn + x1 * cs, 4);
      }
    }
  }
}
