// The package's browser entry (`perceiver-ar/browser`): the engine for a Worker of the page, and a
// session that keeps the engine and a model in a dedicated worker behind an async API.
export { createBrowserEngine, threadBlocker, type BrowserEngineOptions } from './engine.js';
export {
  BrowserSession, type CheckpointSource, type CheckpointSummary, type EngineSummary, type SessionEngineOptions, type SessionGenerateOptions,
  type SessionTrainOptions, type TrainProgress, type TrainSummary, type CommandForm, type RunCommand, type RunEvent, type RunFile, type RunRequest, type RunResult,
} from './session.js';
export { playNotes, midiFrequency, type AudioTarget, type Playback } from './audio.js';
