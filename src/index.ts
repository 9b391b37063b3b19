// Public API, platform-neutral: everything here runs in Node and in browsers (a bundler can take it
// for the web). Node's adapters — the engine with its worker pool and BLAS, files on disk,
// checkpoint files — come from the Node entry, `perceiver-ar/node` (src/node.ts).
export type { Engine, EngineInfo, BackendName, Allocator } from './engine.js';
export { referenceEngine } from './engine.js';
export { wasmEngine, engineMemory, createSharedMemory, type WasmEngineParts, type OwnedRunner } from './kernels/wasm/engine.js';
export { kernelFunctions, KERNEL_EXPORTS, type ThreadRunner, type KernelExport } from './kernels/wasm/exports.js';
export { SplitBalancer, MIN_FIRST_SHARE, MAX_FIRST_SHARE } from './kernels/wasm/split-balancer.js';
export type * from './kernels/types.js';
export { NORMALIZE_MAX_ELEMENTS } from './kernels/types.js';
export { referenceKernels, type Floats } from './kernels/reference/index.js';
export { rotaryDimsFor, rotaryInverseFrequencies } from './kernels/formulas.js';
export { bf16Bits, bf16Value, roundToBf16, packBf16Weights, packedIndex } from './kernels/bf16.js';
export { WEIGHT_FORMATS, type WeightFormat } from './nn/params.js';
export { clipGlobalNorm } from './nn/clip.js';
export { stateDict, loadStateDict, unusedTensors, StateDictError } from './nn/state-dict.js';
export { Rng } from './tensor/rng.js';
export { InputError, DataError, UsageError } from './errors.js';
export { parseOptions, Options, type OptionSpec } from './options.js';
export { memoryFileSystem, type FileSystem, type EntryKind } from './io/file-system.js';
export { createProgress, type Progress } from './io/progress.js';
export { PerceiverAR, type ForwardOptions, type ForwardResult } from './models/perceiver-ar/model.js';
export { MODEL_DEFAULTS, validateModelConfig, parameterCount, flopsPerToken, type ModelConfig } from './models/perceiver-ar/config.js';
export { layoutLatents, crossAttendMask, selfAttendMask, type LatentLayout } from './models/perceiver-ar/layout.js';
export { PAD, EOS, SOS, type Batch } from './nn/batch.js';
export { TransformerXL, type XLForwardOptions } from './models/transformer-xl/model.js';
export { XL_DEFAULTS, validateXLConfig, xlParameterCount, xlFlopsPerToken, type XLConfig } from './models/transformer-xl/config.js';
export { ARCHITECTURES, architectureNamed, architectureOf, type Architecture, type ArchitectureEntry, type AnyModel, type CheckpointModel } from './models/registry.js';
export { PRESETS, presetNamed, perceiverPresetNamed, type Preset, type XLPreset, type AnyPreset } from './presets.js';
export { BYTE_OFFSET, BYTE_VOCAB } from './data/vocab.js';
export { mirroredSequence, mirroredHalfLength } from './data/mirrored.js';
export { batchFromSequences, mirroredBatch, streamCropBatch } from './data/batches.js';
export { mirroredSource, streamSource, type DataSource } from './data/source.js';
export {
  MODALITIES, DATA_KEYS, DATA_DEFAULTS, modalityNamed, sequenceModality, classificationModality, validateDataConfig,
} from './data/registry.js';
export type {
  Modality, SequenceModality, ClassificationModality, DataConfig, DataKey, RunContext, Metrics, SequenceData, ClassifierData,
} from './data/modality.js';
export { textIds, utf8Codec } from './data/modalities/text.js';
export { parseTokenIds } from './data/modalities/ids.js';
export { loadTokenizer, type SubwordTokenizer } from './data/modalities/subword.js';
export { TRAIN_DEFAULTS, validateTrainConfig, type TrainConfig } from './train/config.js';
export { Trainer, evaluateBatches, type TrainableModel, type TrainerState, type StepLog, type EvalLog } from './train/trainer.js';
export { runTraining, DIVERGED_STEPS, type TrainingRun, type LoopHooks, type LoopOutcome } from './train/loop.js';
export { evaluateStream, evaluateXLStream, evaluateModelStream, type EvalOptions, type EvalResult } from './train/evaluate.js';
export {
  CheckpointError, encodeCheckpoint, decodeCheckpoint, decodeCheckpointHeader, readCheckpointHeader, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointInfo,
} from './train/checkpoint.js';
export { encodeSafetensors, decodeSafetensors, decodeSafetensorsHeader, type Tensor } from './io/safetensors.js';
export { readTorchStateDict, type TorchTensor } from './io/torch-checkpoint.js';
export { TorchPickleError } from './io/torch-pickle.js';
export { halfToFloat, bf16ToFloat } from './io/float16.js';
export { readPortConfig, portStateDictShapes, checkPortStateDict, portParameterCount, portRotaryDims, type PortConfig } from './models/perceiver-ar/port-config.js';
export { modelConfigFromPort, portConfigFromModel, tensorsFromPort, tensorsToPort, loadPortWeights, PORT_ARCHITECTURE, type PortTensor } from './models/perceiver-ar/port-weights.js';
export { portCheckpoint, exportPortFiles, readPortWeights, readPortConfigFile, inferredPortData, PORT_WEIGHT_FILES, type PortFiles, type PortCheckpoint } from './train/port-checkpoint.js';
export { encodeTorchStateDict, type FloatTensor } from './io/torch-save.js';
export { encodePortMidi, decodePortTokens, PORT_MUSIC_VOCAB } from './data/port-music.js';
export { SequenceClassifier, type ClassifierBatch, type ClassifierResult } from './models/adatape/model.js';
export { CLASSIFIER_DEFAULTS, validateClassifierConfig, type ClassifierConfig, type ClassifierKind } from './models/adatape/config.js';
export { readTape, readTapeBackward, type ReaderSettings, type ReaderTrace, type PonderTerm } from './models/adatape/reader.js';
export { ClassifierTrainer, evaluateClassifier, tapeStats, type ClassifierStepLog, type ClassifierEval, type TapeStats } from './train/classifier-trainer.js';
export { parityBatch, PARITY_SYMBOLS } from './data/parity.js';
export { generate, stepsPerSecond, type GenerateOptions, type GenerateResult } from './sample/generate.js';
export { imageCodec, encodeImage, decodeImage, imageCoordinates, imageEvents, type Image, type ImageShape } from './data/images.js';
export type { Codec } from './data/codec.js';
export { imageSource } from './data/image-source.js';
export { cropRows, cropEnd } from './data/crops.js';
export { syntheticImages } from './data/synthetic-images.js';
export { evaluateImages, type ImageEvalOptions, type ImageEvalResult } from './train/evaluate-images.js';
export { decodePng, encodePng } from './data/png.js';
export { imageGrid, scaleImage } from './data/image-grid.js';
export {
  parseIdxImages, parseIdxLabels, readImageDataset, readLabelledImages, readPngDirectory, type ImageDataset, type LabelledImageDataset, type LabelledSplit,
} from './data/image-datasets.js';
export { imageSamples } from './data/modalities/images.js';
export { imageClassBatch, randomImageClassBatch, imageClassTestSet, addBankReads, type LabelledImages } from './data/image-classes.js';
export { heatmapImage, bankReadFigure, viridis } from './data/heatmap.js';
export { bankReadCounts, bankHeatmap } from './data/modalities/labelled-images.js';
export {
  notesToEvents, eventsToNotes, encodePiece, decodePiece, musicCodec, describeEvent, transposeEvents, velocityBin, binVelocity, MUSIC_VOCAB, type Note,
} from './data/music.js';
export { midiToNotes, notesToMidi, parseMidiFile, type MidiNotes, type MidiReadOptions } from './data/midi.js';
export { readMidiCorpus, listMidiFiles, midiPiece, type MidiCorpus } from './data/midi-corpus.js';
export { musicSource, splitPieces, STRETCHES, type Piece } from './data/music-source.js';
export { syntheticPiece, syntheticPieces, syntheticMusicSplit, type SyntheticPiece, type ThemeReturn } from './data/synthetic-music.js';
export { pianoRoll, pitchName, tickStep, type PianoRoll, type PianoRollOptions } from './data/pianoroll.js';
export { fitImage, type FittedImage } from './data/image-fit.js';
export { writeMusic, loadMusic, pianorollTool } from './data/modalities/music.js';
export { continueMusic, continueEvents, type MusicContinuation, type ContinueOptions } from './sample/continue-music.js';
export { returnAccuracy, scoreReturn, type ReturnScore } from './train/music-return.js';
