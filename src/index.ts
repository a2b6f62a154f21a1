/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, native } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export { runtimeInfo, setNumThreads, getNumThreads, resolveDevice, type RuntimeInfo } from './runtime.js';
export { version } from './version.js';
export { lineChart, panels, saveChart, toPng, type AxisSpec, type ChartSpec, type MarkerSpec, type SeriesSpec } from './plot/index.js';
export { mean, median, pairedTTest, quantile, seededRandom, std, studentTCdf, variance, type TTestResult } from './stats/index.js';
export { bce, bceWithLogits, bootstrapAucCi, macroAuc, rocAuc, sigmoid, type AucInterval, type MacroAuc } from './metrics/index.js';
export { radiomicFeatureNames, radiomicFeatures, radiomicFeatureRecord, RADIOMIC_FEATURE_COUNT, type RadiomicOptions } from './radiomics/features.js';
export { trainRadiomicsBaseline, type BaselineOptions, type BaselineParams, type RadiomicsBaseline } from './radiomics/baseline.js';
export { featuresOfFiles, type FileFeatures } from './radiomics/files.js';
