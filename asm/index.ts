// Entry point of the kernel module: every export here is callable by the loader and worker pool.
export { matmul, matmulFewRowsPartial, matmulFewRowsReduce } from './gemm';
export { matmulBf16 } from './half';
export { attentionForward, attentionBackward, attentionMerge } from './attention';
export { attentionDecode, DECODE_BLOCK } from './decode-attention';
export {
  biasAddForward, biasAddBackward, embeddingForward, embeddingBackward,
  layerNormForward, layerNormBackward, layerNormReduceParams,
  gluForward, gluBackward, add, scale, dropout, rotary,
} from './layers';
export { activationForward, activationBackward } from './activations';
export { crossEntropyForward, crossEntropyBackward, adamw, sumSquares } from './optim';
export { SCRATCH_BYTES } from './common';
export { fmaPeak, streamRead } from './peak';
