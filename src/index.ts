/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, native } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export { runtimeInfo, setNumThreads, getNumThreads, resolveDevice, type RuntimeInfo } from './runtime.js';
export { version } from './version.js';
export { aucVsNChart, lineChart, panels, saveChart, toPng, trainingCurvesChart, type Arm, type AucPanel, type AxisSpec, type ChartSpec, type History, type MarkerSpec, type SeriesSpec } from './plot/index.js';
export { mean, median, pairedTTest, quantile, seededRandom, std, studentTCdf, variance, type TTestResult } from './stats/index.js';
export { bce, bceWithLogits, bootstrapAucCi, bootstrapMacroAucCi, macroAuc, rocAuc, sigmoid, type AucInterval, type MacroAuc } from './metrics/index.js';
export { oneCycle, RegularPolicy, regularSchedule, scheduleChart, tabulate, trainingPlan, cosine, phases, type Schedule, type ScheduleTable, type Strategy, type TrainingPlan } from './schedule/index.js';
export { analyseLrFinder, lrFinderChart, LrFinderTracker, lrRamp, smoothLosses, suggestLr, type LrFinderCurve, type LrSuggestions } from './train/lr-finder-analysis.js';
export * from './experiments/index.js';
export { writeReport, type ReportFiles } from './report/index.js';
