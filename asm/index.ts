// Entry point of the kernel module: every export here is callable by the loader and worker pool.
export { matmul, matmulFewRowsPartial, matmulFewRowsReduce } from './gemm';
export { attentionForward, attentionBackward, attentionDecodePartial, attentionDecodeCombine, attentionMerge } from './attention';
export {
  biasAddForward, biasAddBackward, embeddingForward, embeddingBackward,
  layerNormForward, layerNormBackward, layerNormReduceParams,
  activationForward, activationBackward, gluForward, gluBackward, add, scale, dropout, rotary,
} from './layers';
export { crossEntropyForward, crossEntropyBackward, adamw, sumSquares } from './optim';
export { SCRATCH_BYTES } from './common';
export { fmaPeak } from './peak';
