// Public API for Node (`perceiver-ar/node`): everything of the platform-neutral entry, plus the
// Node adapters — the engine (wasm kernels on a worker-thread pool, the system BLAS through koffi),
// the file system on disk, and checkpoint files (atomic saves, header-only reads).
export * from './index.js';
export { createEngine, resolveThreads, type EngineOptions } from './platform/node/engine.js';
export { nodeFileSystem } from './platform/node/file-system.js';
export { writeFileAtomic, readFileChecked, checkOutputPath } from './platform/node/files.js';
export {
  saveCheckpoint, loadCheckpoint, loadAnyCheckpoint, loadClassifierCheckpoint, readCheckpointInfo, initialiseFromCheckpoint, checkCheckpointTarget,
} from './platform/node/checkpoint.js';
export { hubModelFolder, parseHubSource, defaultCacheDir, type HubSource, type HubOptions } from './platform/node/hub.js';
export { portFilesAt, portCheckpointAt } from './platform/node/port-files.js';
