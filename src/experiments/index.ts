/** Public API of experiments, the results database and reports. */
export type {
  ArmConfig,
  ArmRunner,
  DatasetSpec,
  EpochMetrics,
  ExperimentSpec,
  RunContext,
  RunJob,
  RunResult,
  SourceSpec,
  StageSpec,
  WinnerRule,
} from './types.js';
export { loadSpec, validateSpec, DEFAULT_ARM } from './spec.js';
export { planExperiment, planJobs, type Plan, type PlannedArm, type StageOutcome } from './plan.js';
export { selectWinner, type WinnerDecision } from './winner.js';
export { runExperiment, type RunExperimentOptions, type RunSummary } from './run.js';
export { registerArmRunner } from './runners.js';
export { ResultsDb, DbLockedError, type RunRow, type EpochRow } from './db.js';
export { mergeDatabases } from './merge.js';
export { exportCsv, exportJson } from './export.js';
export { canonicalJson, hashConfig, shardOf } from './keys.js';
export { presetNames } from './presets/index.js';
