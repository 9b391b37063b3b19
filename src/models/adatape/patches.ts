// Image input of the sequence classifiers (spec adatape §2): non-overlapping square patches as
// tokens, Dense of the patch's pixels plus a learned position per patch — the ViT stem, used for
// the backbone's tokens and (with a finer side and its own tables) for AdaTape's input-driven bank.
//   pixels  [B, H, W, ch]          row-major, as the data layer gives them (floats)
//   patches [B, P, side·side·ch]   P = (H/side)·(W/side) in raster order; inside a patch (dy, dx, c)
//   tokens  [B, P, C] = patches·W + b + position[p]
import type { F32, KernelSet } from '../../kernels/types.js';
import { linearBackward, linearForward, type LinearParams } from '../../nn/linear.js';

export interface PatchLayout {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly side: number;
}

/** Cuts each image into side×side patches: out [B, P, side²·ch]. */
export function patchify(pixels: ArrayLike<number>, B: number, l: PatchLayout, out: F32): void {
  const { height: H, width: W, channels: ch, side } = l, rows = H / side, cols = W / side, feat = side * side * ch;
  for (let b = 0; b < B; b++) {
    const img = b * H * W * ch;
    for (let py = 0; py < rows; py++) {
      for (let px = 0; px < cols; px++) {
        let o = ((b * rows + py) * cols + px) * feat;
        for (let dy = 0; dy < side; dy++) {
          const from = img + ((py * side + dy) * W + px * side) * ch;
          for (let i = 0; i < side * ch; i++) out[o++] = pixels[from + i]!;
        }
      }
    }
  }
}

/** tokens [B·P, C] = patches·W + b + position[p] (position [P, C]). */
export function patchEmbedForward(k: KernelSet, dense: LinearParams, position: Float32Array, B: number, P: number, patches: F32, tokens: F32): void {
  const C = dense.outDim;
  linearForward(k, dense, B * P, patches.subarray(0, B * P * dense.inDim), tokens.subarray(0, B * P * C));
  for (let r = 0; r < B * P; r++) {
    const pos = (r % P) * C, o = r * C;
    for (let ch = 0; ch < C; ch++) tokens[o + ch] = tokens[o + ch]! + position[pos + ch]!;
  }
}

/** dW, db += from dTokens [B·P, C]; dPosition [P, C] += Σ_b dTokens[b, p]. The pixels take no gradient. */
export function patchEmbedBackward(k: KernelSet, dense: LinearParams, dPosition: Float32Array, B: number, P: number, patches: F32, dTokens: F32): void {
  const C = dense.outDim;
  for (let r = 0; r < B * P; r++) {
    const pos = (r % P) * C, o = r * C;
    for (let ch = 0; ch < C; ch++) dPosition[pos + ch] = dPosition[pos + ch]! + dTokens[o + ch]!;
  }
  linearBackward(k, dense, B * P, patches.subarray(0, B * P * dense.inDim), dTokens.subarray(0, B * P * C), null);
}
