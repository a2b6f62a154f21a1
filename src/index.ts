/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, addonOrigin, native, type AddonKind, type AddonOrigin } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export {
  runtimeInfo,
  setNumThreads,
  getNumThreads,
  resolveDevice,
  cpuCacheStats,
  releaseCpuCache,
  type RuntimeInfo,
  type CpuCacheStats,
} from './runtime.js';
export { version } from './version.js';
export {
  aucVsNChart,
  lineChart,
  lrFinderChart,
  panels,
  saveChart,
  saveFigure,
  scheduleChart,
  toPng,
  trainingCurvesChart,
  type Arm,
  type AucPanel,
  type AxisSpec,
  type ChartSpec,
  type History,
  type MarkerSpec,
  type SeriesSpec,
} from './plot/index.js';
export {
  compareOverGrid,
  mean,
  median,
  pairedTTest,
  quantile,
  std,
  studentTCdf,
  variance,
  type TTestResult,
} from './stats/index.js';
export {
  bce,
  bceWithLogits,
  bootstrapAucCi,
  bootstrapMacroAucCi,
  macroAuc,
  rocAuc,
  sigmoid,
  type AucInterval,
  type MacroAuc,
} from './metrics/index.js';
export {
  oneCycle,
  RegularPolicy,
  regularSchedule,
  tabulate,
  trainingPlan,
  cosine,
  phases,
  type Schedule,
  type ScheduleTable,
  type Strategy,
  type TrainingPlan,
} from './schedule/index.js';
export {
  analyseLrFinder,
  LrFinderTracker,
  lrRamp,
  smoothLosses,
  suggestLr,
  type LrFinderCurve,
  type LrSuggestions,
} from './schedule/lr-finder.js';
// Data pipeline: decoding, dataset readers, sampling, the preprocessing cache.
export { decodeGrey, type DecodeOptions, type GreyImage, type Window } from './data/decode.js';
export { DataError, TableError } from './data/errors.js';
export { parseCsv, readCsv, CsvTable } from './data/csv.js';
export {
  loadDataset,
  loadNih,
  loadChexpert,
  loadMura,
  loadUserCsv,
  loadFolder,
  loadDicomTree,
  DATASET_FORMATS,
  type DatasetFormat,
} from './data/datasets/index.js';
export { NIH_LABELS } from './data/datasets/nih.js';
export { CHEXPERT_LABELS, CHEXPERT_DEFAULT_POLICY, type UncertaintyPolicy } from './data/datasets/chexpert.js';
export * from './data/sampling.js';
export { hashIds } from './train/data.js';
export { deriveSeed, mulberry32, Rng, shuffled } from './random.js';
export { openCache, ImageCache, PREPROCESS_VERSION, type CacheOptions, type CacheIndex } from './data/cache.js';
export type { Sample, Dataset, Splits, ImageGeometry } from './data/types.js';
export { normalisationTable, normaliseBatch, type Normalisation } from './data/normalise.js';
export {
  synthesize,
  ensureDefaultPhantoms,
  DEFAULT_PHANTOMS,
  NIH_FINDINGS,
  MURA_PARTS,
  type SynthesizeOptions,
  type SynthesizeResult,
  type DefaultPhantoms,
} from './data/phantom/index.js';
export {
  readStateDict,
  readSafetensors,
  writeSafetensors,
  inspectWeights,
  tensorBytes,
  type WeightsInspection,
} from './weights/io.js';
export {
  loadManifest,
  getWeightsEntry,
  assertPreprocessingMatches,
  ManifestError,
  type WeightsEntry,
  type Preprocessing,
} from './weights/manifest.js';
export {
  fetchWeights,
  importWeights,
  resolveWeights,
  weightsCacheDir,
  ChecksumError,
  type FetchOptions,
  type FetchResult,
} from './weights/fetch.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError, type CheckpointMetadata } from './checkpoint.js';
export {
  radiomicFeatureNames,
  radiomicFeatures,
  radiomicFeatureRecord,
  RADIOMIC_FEATURE_COUNT,
  type RadiomicOptions,
} from './radiomics/features.js';
export {
  trainRadiomicsBaseline,
  type BaselineOptions,
  type BaselineParams,
  type RadiomicsBaseline,
} from './radiomics/baseline.js';
export * from './experiments/index.js';
export { writeReport, type ReportFiles } from './report/index.js';
export {
  loadModel,
  Model,
  ARCHS,
  type Arch,
  type ModelOptions,
  type LoadReport,
  type LayerGroup,
  type FrozenBatchNormPolicy,
} from './model.js';
export { featuresOfFiles, type FileFeatures } from './radiomics/files.js';
export {
  Trainer,
  augmentBatch,
  augmentDraws,
  type TrainerOptions,
  type StepBatch,
  type StepResult,
  type EvaluateBatch,
  type EvaluateResult,
  type AugmentOptions,
} from './train/trainer.js';
export { train, TrainingRun, type TrainResult, type TrainEvents, type TrainOptions } from './train/run.js';
export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
export {
  evaluate,
  predict,
  type EvaluateOptions,
  type EvaluationReport,
  type Prediction,
  type PredictOptions,
} from './train/inference.js';
export { lrFind } from './train/lr-find.js';
export { registerTrainRunner, trainArmRunner } from './experiments/train-runner.js';
export { manualSeed } from './runtime.js';
export {
  DistributedContext,
  distributedAvailable,
  distributedFromEnv,
  type DistributedOptions,
} from './distributed.js';
