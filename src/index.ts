// Public API.
export type { Engine, EngineInfo, BackendName } from './engine.js';
export { createEngine, resolveThreads, type EngineOptions } from './platform/node/engine.js';
export type * from './kernels/types.js';
export { referenceKernels, type Floats } from './kernels/reference/index.js';
export { rotaryDimsFor, rotaryInverseFrequencies } from './kernels/formulas.js';
export { clipGlobalNorm } from './nn/clip.js';
