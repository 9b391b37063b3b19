// One query (batch 1, Tq = 1: cached decoding), all heads at once, in one pass over the pool.
// Layout and masking as asm/attention.ts describes (q [H·D], k/v rows ldk/ldv floats apart, kPos,
// kValid, one query position at qPos).
import { fma4, share, SCRATCH_BYTES } from './common';
import { addScaledRow, dotRow, expRowSub, fillRow, maxRow, scaleRow, visibleKey } from './attention';

// Each thread (attentionDecode) takes keys [j0, j1) in blocks of DECODE_BLOCK; per
// block it computes every head's scores (whole K rows, sequential memory), folds them into per-head
// running (max m, sum l, unnormalised output o) — rescaling o and l when the max grows, as the
// fused kernel's online softmax — and adds the block's V rows while they are still in cache. Its
// scratch: [H][D + 4] (o, m, l, 2 unused — head 0's first one holds the touched word below: 16-byte
// aligned rows when D % 4 = 0), then [H][DECODE_BLOCK] scores.
// Touch-ahead (docs/engine.md): each cached row (a 4 KiB page or two) is touched DECODE_AHEAD keys
// before it is read — one 4-byte load xor-ed into the scratch word (wasm has no prefetch) — so its
// memory is on the way while the keys before it are computed.
// The inner loops take 16 floats of a head per pass (then 4 at a time for the rest of D), their
// addresses immediate offsets from one pointer per row: a third fewer instructions a key than one
// vector a pass, which lets the core keep more of the rows' memory on the way (docs/engine.md,
// "Fewer instructions a key").
// The last thread to finish (an atomic count at `arrived`, back to 0 after) merges the threads'
// (m, l, o) per head into out and lse; the pool's barrier then sees the whole result.
export const DECODE_BLOCK: i32 = 64;
const DECODE_AHEAD: i32 = 16;

// Scores of keys [jb, jb + nb) for every head into S[h][0..nb), scaled, −∞ where masked: four keys
// at a time (per head four dot products share each load of q and are reduced together by a 4×4
// transpose-add into one vector of the four scores), then one at a time.
function decodeScores(q: usize, k: usize, kPos: usize, kValid: usize, pq: i32, causalFlag: i32, jb: i32, nb: i32,
  H: i32, D: i32, ldk: i32, scale: f32, S: usize, jEnd: i32, touched: usize): void {
  const DB = <usize>D << 2, ldkB = <usize>ldk << 2;
  const minusInf = f32x4.splat(-Infinity), sv = f32x4.splat(scale);
  let r = 0, seen = load<i32>(touched);
  for (; r + 4 <= nb; r += 4) {
    const j = jb + r;
    const ja = min(j + DECODE_AHEAD, jEnd - 4);
    if (ja > j) {
      const t = k + <usize>ja * ldkB;
      seen ^= load<i32>(t) ^ load<i32>(t + ldkB) ^ load<i32>(t + 2 * ldkB) ^ load<i32>(t + 3 * ldkB);
    }
    let mask = i32x4.splat(visibleKey(j, kPos, kValid, pq, causalFlag));
    mask = i32x4.replace_lane(mask, 1, visibleKey(j + 1, kPos, kValid, pq, causalFlag));
    mask = i32x4.replace_lane(mask, 2, visibleKey(j + 2, kPos, kValid, pq, causalFlag));
    mask = i32x4.replace_lane(mask, 3, visibleKey(j + 3, kPos, kValid, pq, causalFlag));
    const k0 = k + <usize>j * ldkB, k1 = k0 + ldkB, k2 = k1 + ldkB, k3 = k2 + ldkB;
    for (let h = 0; h < H; h++) {
      const hb = <usize>h * DB;
      let qp = q + hb, p0 = k0 + hb, p1 = k1 + hb, p2 = k2 + hb, p3 = k3 + hb;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let d = 0;
      for (; d + 16 <= D; d += 16) {
        let x = v128.load(qp);
        a0 = fma4(x, v128.load(p0), a0); a1 = fma4(x, v128.load(p1), a1); a2 = fma4(x, v128.load(p2), a2); a3 = fma4(x, v128.load(p3), a3);
        x = v128.load(qp, 16);
        a0 = fma4(x, v128.load(p0, 16), a0); a1 = fma4(x, v128.load(p1, 16), a1); a2 = fma4(x, v128.load(p2, 16), a2); a3 = fma4(x, v128.load(p3, 16), a3);
        x = v128.load(qp, 32);
        a0 = fma4(x, v128.load(p0, 32), a0); a1 = fma4(x, v128.load(p1, 32), a1); a2 = fma4(x, v128.load(p2, 32), a2); a3 = fma4(x, v128.load(p3, 32), a3);
        x = v128.load(qp, 48);
        a0 = fma4(x, v128.load(p0, 48), a0); a1 = fma4(x, v128.load(p1, 48), a1); a2 = fma4(x, v128.load(p2, 48), a2); a3 = fma4(x, v128.load(p3, 48), a3);
        qp += 64; p0 += 64; p1 += 64; p2 += 64; p3 += 64;
      }
      for (; d + 4 <= D; d += 4) {
        const x = v128.load(qp);
        a0 = fma4(x, v128.load(p0), a0);
        a1 = fma4(x, v128.load(p1), a1);
        a2 = fma4(x, v128.load(p2), a2);
        a3 = fma4(x, v128.load(p3), a3);
        qp += 16; p0 += 16; p1 += 16; p2 += 16; p3 += 16;
      }
      const u01 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
      const u23 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
      let sum = f32x4.add(i32x4.shuffle(u01, u23, 0, 1, 4, 5), i32x4.shuffle(u01, u23, 2, 3, 6, 7));
      for (; d < D; d++) {
        const x = load<f32>(qp);
        const t = f32x4.replace_lane(f32x4.splat(x * load<f32>(p0)), 1, x * load<f32>(p1));
        sum = f32x4.add(sum, f32x4.replace_lane(f32x4.replace_lane(t, 2, x * load<f32>(p2)), 3, x * load<f32>(p3)));
        qp += 4; p0 += 4; p1 += 4; p2 += 4; p3 += 4;
      }
      v128.store(S + ((<usize>(h * DECODE_BLOCK + r)) << 2), v128.bitselect(f32x4.mul(sum, sv), minusInf, mask));
    }
  }
  for (; r < nb; r++) {
    const j = jb + r;
    const visible = visibleKey(j, kPos, kValid, pq, causalFlag) != 0;
    const krow = k + <usize>j * ldkB;
    for (let h = 0; h < H; h++) {
      store<f32>(S + ((<usize>(h * DECODE_BLOCK + r)) << 2), visible ? dotRow(q + <usize>h * DB, krow + <usize>h * DB, D) * scale : -Infinity);
    }
  }
  store<i32>(touched, seen);
}

// o_h += Σ_r S[h][r]·v[jb + r, h] for the block's keys: four keys per load and store of o.
function decodeValues(v: usize, jb: i32, nb: i32, H: i32, D: i32, ldv: i32, S: usize, part: usize, stride: usize): void {
  const DB = <usize>D << 2, ldvB = <usize>ldv << 2;
  let r = 0;
  for (; r + 4 <= nb; r += 4) {
    const v0 = v + <usize>(jb + r) * ldvB, v1 = v0 + ldvB, v2 = v1 + ldvB, v3 = v2 + ldvB;
    for (let h = 0; h < H; h++) {
      const x = v128.load(S + ((<usize>(h * DECODE_BLOCK + r)) << 2));
      if (!v128.any_true(x)) continue;
      const p0 = f32x4.splat(f32x4.extract_lane(x, 0)), p1 = f32x4.splat(f32x4.extract_lane(x, 1));
      const p2 = f32x4.splat(f32x4.extract_lane(x, 2)), p3 = f32x4.splat(f32x4.extract_lane(x, 3));
      const hb = <usize>h * DB;
      let o = part + <usize>h * stride, w0 = v0 + hb, w1 = v1 + hb, w2 = v2 + hb, w3 = v3 + hb;
      let d = 0;
      for (; d + 16 <= D; d += 16) {
        v128.store(o, fma4(p3, v128.load(w3), fma4(p2, v128.load(w2), fma4(p1, v128.load(w1), fma4(p0, v128.load(w0), v128.load(o))))));
        v128.store(o, fma4(p3, v128.load(w3, 16), fma4(p2, v128.load(w2, 16), fma4(p1, v128.load(w1, 16), fma4(p0, v128.load(w0, 16), v128.load(o, 16))))), 16);
        v128.store(o, fma4(p3, v128.load(w3, 32), fma4(p2, v128.load(w2, 32), fma4(p1, v128.load(w1, 32), fma4(p0, v128.load(w0, 32), v128.load(o, 32))))), 32);
        v128.store(o, fma4(p3, v128.load(w3, 48), fma4(p2, v128.load(w2, 48), fma4(p1, v128.load(w1, 48), fma4(p0, v128.load(w0, 48), v128.load(o, 48))))), 48);
        o += 64; w0 += 64; w1 += 64; w2 += 64; w3 += 64;
      }
      for (; d + 4 <= D; d += 4) {
        const acc = fma4(p1, v128.load(w1), fma4(p0, v128.load(w0), v128.load(o)));
        v128.store(o, fma4(p3, v128.load(w3), fma4(p2, v128.load(w2), acc)));
        o += 16; w0 += 16; w1 += 16; w2 += 16; w3 += 16;
      }
      for (; d < D; d++) {
        store<f32>(o, load<f32>(o) + f32x4.extract_lane(x, 0) * load<f32>(w0) + f32x4.extract_lane(x, 1) * load<f32>(w1) +
          f32x4.extract_lane(x, 2) * load<f32>(w2) + f32x4.extract_lane(x, 3) * load<f32>(w3));
        o += 4; w0 += 4; w1 += 4; w2 += 4; w3 += 4;
      }
    }
  }
  for (; r < nb; r++) {
    const vrow = v + <usize>(jb + r) * ldvB;
    for (let h = 0; h < H; h++) {
      const p = load<f32>(S + ((<usize>(h * DECODE_BLOCK + r)) << 2));
      if (p == 0) continue;
      const oh = part + <usize>h * stride, vh = vrow + <usize>h * DB;
      const pv = f32x4.splat(p);
      let d = 0;
      for (; d + 4 <= D; d += 4) v128.store(oh + (<usize>d << 2), fma4(pv, v128.load(vh + (<usize>d << 2)), v128.load(oh + (<usize>d << 2))));
      for (; d < D; d++) store<f32>(oh + (<usize>d << 2), load<f32>(oh + (<usize>d << 2)) + p * load<f32>(vh + (<usize>d << 2)));
    }
  }
}

export function attentionDecode(q: usize, k: usize, v: usize, o: usize, lse: usize, qPos: usize, kPos: usize, kValid: usize,
  Tk: i32, H: i32, D: i32, ldk: i32, ldv: i32, scale: f32, causalFlag: i32, scratch: usize, arrived: usize, tid: i32, nth: i32): void {
  const part = scratch + <usize>tid * SCRATCH_BYTES;
  const S = part + (<usize>(H * (D + 4)) << 2);
  const j0 = share(Tk, tid, nth, 1), j1 = share(Tk, tid + 1, nth, 1);
  const DB = <usize>D << 2, stride = <usize>(D + 4) << 2;
  const pq = causalFlag != 0 ? load<i32>(qPos) : 0;
  for (let h = 0; h < H; h++) {
    const ph = part + <usize>h * stride;
    fillRow(ph, D, 0);
    store<f32>(ph + DB, -Infinity);
    store<f32>(ph + DB, 0, 4);
  }
  // The first DECODE_AHEAD rows are touched at once, so their memory is fetched in parallel (the
  // score pass then touches each row DECODE_AHEAD keys before it reads it).
  let seen = 0;
  const ldkB = <usize>ldk << 2, jt = min(j0 + DECODE_AHEAD, j1);
  for (let j = j0; j < jt; j++) seen ^= load<i32>(k + <usize>j * ldkB);
  store<i32>(part + DB + 8, seen);
  for (let jb = j0; jb < j1; jb += DECODE_BLOCK) {
    const nb = min(DECODE_BLOCK, j1 - jb);
    decodeScores(q, k, kPos, kValid, pq, causalFlag, jb, nb, H, D, ldk, scale, S, j1, part + DB + 8);
    for (let h = 0; h < H; h++) {
      const Sh = S + ((<usize>(h * DECODE_BLOCK)) << 2), ph = part + <usize>h * stride;
      const mb = maxRow(Sh, nb), mOld = load<f32>(ph + DB);
      if (mb == -Infinity) { fillRow(Sh, nb, 0); continue; }
      let m = mOld;
      if (isNaN(mb)) {
        // A NaN score makes the head's output NaN (o, l and m through exp(NaN)), as in the reference.
        m = mb;
        store<f32>(ph + DB, m);
      } else if (mb > mOld) {
        if (mOld != -Infinity) {
          const c = Mathf.exp(mOld - mb);
          scaleRow(ph, D, c);
          store<f32>(ph + DB, load<f32>(ph + DB, 4) * c, 4);
        }
        m = mb;
        store<f32>(ph + DB, m);
      }
      store<f32>(ph + DB, load<f32>(ph + DB, 4) + expRowSub(Sh, nb, m), 4);
    }
    decodeValues(v, jb, nb, H, D, ldv, S, part, stride);
  }
  if (atomic.add<i32>(arrived, 1) == nth - 1) {
    combineThreads(o, lse, H, D, scratch, nth);
    atomic.store<i32>(arrived, 0);
  }
}

// Per head, merges the `used` threads' (m, l, o) into out and lse.
function combineThreads(o: usize, lse: usize, H: i32, D: i32, scratch: usize, used: i32): void {
  const DB = <usize>D << 2, stride = <usize>(D + 4) << 2;
  for (let h = 0; h < H; h++) {
    let m: f32 = -Infinity;
    for (let t = 0; t < used; t++) m = Mathf.max(m, load<f32>(scratch + <usize>t * SCRATCH_BYTES + <usize>h * stride + DB));
    const oh = o + <usize>h * DB;
    if (m == -Infinity) {
      fillRow(oh, D, 0);
      store<f32>(lse + (<usize>h << 2), -Infinity);
      continue;
    }
    fillRow(oh, D, 0);
    let l: f32 = 0;
    for (let t = 0; t < used; t++) {
      const ph = scratch + <usize>t * SCRATCH_BYTES + <usize>h * stride;
      const mt = load<f32>(ph + DB);
      if (mt == -Infinity) continue;
      const w = Mathf.exp(mt - m);
      l += w * load<f32>(ph + DB, 4);
      addScaledRow(oh, ph, w, D);
    }
    scaleRow(oh, D, 1 / l);
    store<f32>(lse + (<usize>h << 2), m + Mathf.log(l));
  }
}
