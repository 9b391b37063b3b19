// The reference backend: plain TypeScript, float64 accumulation, runs on any Float32Array or
// Float64Array (the latter for finite-difference gradient checks). It defines what every fast
// backend must compute.
import type { KernelSet } from '../types.js';
import { biasAddBackward, biasAddForward, matmul, matmulBf16 } from './linear.js';
import {
  activationBackward, activationForward, add, dropoutBackward, dropoutForward, embeddingBackward, embeddingForward,
  gluBackward, gluForward, layerNormBackward, layerNormForward, rotaryBackward, rotaryForward, scale,
} from './layers.js';
import { attentionBackward, attentionForward, attentionMerge } from './attention.js';
import { adamw, crossEntropyBackward, crossEntropyForward, sumSquares } from './optim.js';

export const referenceKernels = {
  matmul, matmulBf16, biasAddForward, biasAddBackward, embeddingForward, embeddingBackward,
  layerNormForward, layerNormBackward, activationForward, activationBackward, gluForward, gluBackward,
  add, scale, dropoutForward, dropoutBackward, rotaryForward, rotaryBackward,
  attentionForward, attentionBackward, attentionMerge, crossEntropyForward, crossEntropyBackward, adamw, sumSquares,
} satisfies KernelSet;

export type ReferenceKernels = typeof referenceKernels;
export type { Floats } from './floats.js';
