/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, native } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export { runtimeInfo, setNumThreads, getNumThreads, resolveDevice, type RuntimeInfo } from './runtime.js';
export { version } from './version.js';
export { readStateDict, readSafetensors, writeSafetensors, inspectWeights, tensorBytes, type WeightsInspection } from './weights/io.js';
export { loadManifest, getWeightsEntry, assertPreprocessingMatches, ManifestError, type WeightsEntry, type Preprocessing } from './weights/manifest.js';
export { fetchWeights, importWeights, resolveWeights, weightsCacheDir, ChecksumError, type FetchOptions, type FetchResult } from './weights/fetch.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError, type CheckpointMetadata } from './checkpoint.js';
