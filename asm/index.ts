// Entry point of the kernel module: every export here is callable by the loader and worker pool.
export { matmul, matmulFewRowsPartial, matmulFewRowsReduce } from './gemm';
export { matmulBf16 } from './half';
export { attentionForward, attentionBackward, attentionDecodePartial, attentionDecodeCombine, attentionMerge, DECODE_BLOCK } from './attention';
export {
  biasAddForward, biasAddBackward, embeddingForward, embeddingBackward,
  layerNormForward, layerNormBackward, layerNormReduceParams,
  activationForward, activationBackward, gluForward, gluBackward, add, scale, dropout, rotary,
} from './layers';
export { crossEntropyForward, crossEntropyBackward, adamw, sumSquares } from './optim';
export { SCRATCH_BYTES } from './common';
export { fmaPeak, streamRead } from './peak';
