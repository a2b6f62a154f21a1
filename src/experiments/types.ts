/**
 * The experiment contract: a spec (targets x arms x N grid x seeds, grid or stage-wise) expands into
 * RunJobs; an injected ArmRunner trains one job and returns a RunResult; the results database keeps
 * every job by its deterministic key so runs resume, shard and merge.
 */

import type { Policy, OptimizerName } from '../train/config.js';
import type { Arch } from '../model.js';
import type { Strategy } from '../schedule/index.js';

// An arm's training options are spelt as `torchxfer train` spells them (src/train/recipe.ts); specs in
// the old spellings are respelt on reading (src/experiments/spellings.ts).
export { ARCHS } from '../model.js';
export { OPTIMIZERS, POLICIES } from '../train/config.js';
export { STRATEGIES } from '../schedule/index.js';
export type { Arch, Policy, Strategy };
export type Optimizer = OptimizerName;
export const INITS = ['default', 'moments', 'pretrained'] as const;
/** cnn: train the arm's network; radiomics: radiomic features + the classical classifiers (no network). */
export const METHODS = ['cnn', 'radiomics'] as const;
/** Options a stage may vary (one per stage). */
export const VARIABLE_OPTIONS = [
  'policy',
  'strategy',
  'source',
  'init',
  'arch',
  'optimizer',
  'epochs',
  'maxLr',
  'method',
] as const;

export type Init = (typeof INITS)[number];
export type Method = (typeof METHODS)[number];
export type VariableOption = (typeof VARIABLE_OPTIONS)[number];

/** One training recipe. `source`: 'none', 'imagenet' or the name of a source task of the spec. */
export interface ArmConfig {
  arch: Arch;
  policy: Policy;
  strategy: Strategy;
  source: string;
  init: Init;
  optimizer: Optimizer;
  epochs: number;
  /** A number, or 'auto' to run the learning-rate finder first (specs wrote 'find'). */
  maxLr: number | 'auto';
  batchSize: number;
  /** Test-time augmentation: augmented copies averaged with the centre crop, 0 = off (as the CLI's --tta). */
  tta: number;
  /** Free-form trainer options (passed through, part of the run key). */
  options: Record<string, unknown>;
  /** Absent for 'cnn' (so run keys made before methods existed stay the same). */
  method?: Method;
}

/** A dataset to train on: a target of the experiment or a source task. */
export interface DatasetSpec {
  name: string;
  /** Reader name: 'nih', 'chexpert', 'mura', 'phantom-chest', 'phantom-msk', 'csv'... */
  dataset: string;
  root?: string;
  /** Labels to train on (a binary target has one); default: all of the dataset's. */
  labels?: string[];
  /** Free-form reader/splitting options (passed through, part of the run key). */
  options: Record<string, unknown>;
}

/** A source task: trained once per architecture, its checkpoint initialises the arms that name it. */
export interface SourceSpec extends DatasetSpec {
  /** Training-set size; 'all' uses the whole training split. */
  n: number | 'all';
  seed: number;
  /** Overrides of the base arm for training the source (arch always follows the arm that uses it). */
  train: Partial<ArmConfig>;
  /** Targets this source is offered to (default all). */
  targets?: string[];
  /**
   * Built from a target's dataset without any image that target's binary experiment uses at any N
   * (ChestX-ray13 for Emphysema): the target's name. Its seed is then the target job's seed.
   */
  disjointFromTarget?: string;
}

export type WinnerRule =
  | { rule: 'mean-auc'; metric: 'testAuc' | 'testAucTta' }
  /** A decision taken in advance (the paper's): carried at once; the results only say whether they agree. */
  | { rule: 'fixed'; metric: 'testAuc' | 'testAucTta'; value: string }
  | { rule: 'paired-t'; metric: 'testAuc' | 'testAucTta'; alpha: number; simpler: string };

export interface StageSpec {
  name: string;
  /** The figure this stage makes (the paper's "3".."8"); default the stage's name. */
  figure?: string;
  /** The one option the arms of this stage differ in; 'arm' when named arms set several options. */
  vary: VariableOption | 'arm';
  /** The arms' labels: the varied option's values, or the arms' names. */
  values: (string | number)[];
  /** What each arm sets, in the order of `values`. */
  arms: Partial<ArmConfig>[];
  /** Targets the stage runs on (default all). */
  targets?: string[];
  /**
   * The training-set sizes this stage runs: a subset of the spec's grid (default all of it), to spend
   * less on a figure whose question is settled at some sizes. A max LR that is found is tuned at the
   * stage's largest size.
   */
  nGrid?: number[];
  /** Name of the stage whose winner this stage builds on; default the stage before ('base': the spec's base arm). */
  buildsOn?: string;
  /** Overrides applied on top of the carried winner (e.g. arch: resnet50 to repeat a stage). */
  base: Partial<ArmConfig>;
  winner: WinnerRule;
  /** 'target': each target carries its own winner; 'all': one winner from the mean over targets. */
  winnerScope: 'target' | 'all';
}

/**
 * Published weights used as a source (e.g. TorchXRayVision's chest X-ray DenseNets): nothing is trained;
 * the arms naming it start from these weights. Written in a spec's `sources` list with `weights:`.
 */
export interface WeightsSource {
  name: string;
  /** A registry name (`torchxfer weights list`) or a weights file; part of each run's key as written. */
  weights: string;
  /** The architecture the weights are for (the registry's, or given for a file). */
  arch: Arch;
  /** Targets this source is offered to (default all). */
  targets?: string[];
}

export interface GridArm {
  name: string;
  arm: ArmConfig;
}

export interface ExperimentSpec {
  name: string;
  mode: 'grid' | 'stagewise';
  nGrid: number[];
  seeds: number[];
  targets: DatasetSpec[];
  sources: SourceSpec[];
  /** Sources that are published weights (absent when none, so older specs keep their hash). */
  weightSources?: WeightsSource[];
  base: ArmConfig;
  /** mode grid: the arms. */
  arms: GridArm[];
  /** mode stagewise: the stages, in order. */
  stages: StageSpec[];
}

export interface RunJob {
  /** Deterministic: hash of the canonical config below. */
  key: string;
  experiment: string;
  kind: 'source' | 'target';
  /** What to train on. */
  data: DatasetSpec;
  arm: ArmConfig;
  /** Training-set size ('all' for source tasks that use everything). */
  n: number | 'all';
  seed: number;
  /** Key of the source job whose checkpoint initialises this one. */
  dependsOn?: string;
  /** Published weights to initialise from (a weights source's registry name or file): part of the key. */
  initWeights?: string;
  /** Checkpoint to initialise from (the source job's), set when the job runs. */
  initCheckpoint?: string;
  /**
   * Key of the job (same arm and target, the largest N) whose LR finder sets this job's max LR: the
   * learning rate is tuned once per (target, arm), at the largest N, and reused for every N.
   */
  lrFrom?: string;
  /** The max LR taken from that job, set when the job runs. */
  maxLr?: number;
  /** Where a source job writes its checkpoint. */
  checkpointOut?: string;
}

export interface EpochMetrics {
  /** Numbered from 1 (results databases of schema 1 counted from 0; opening one renumbers it). */
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valAuc?: number | null;
  lr?: number;
  seconds?: number;
  [extra: string]: unknown;
}

export interface RunResult {
  testAuc: number | null;
  testAucTta: number | null;
  /** 95% bootstrap CI of testAuc over the test set (drawn as the band of AUC-vs-N figures). */
  testAucCi?: [number, number];
  perLabelAuc?: Record<string, number | null>;
  perLabelAucTta?: Record<string, number | null>;
  valLoss: number;
  /** The epoch whose checkpoint was kept, from 1. */
  bestEpoch?: number;
  epochs: EpochMetrics[];
  timings: Record<string, number>;
  /** Hash of the training/validation/test sample ids used (provenance). */
  sampleIdsHash: string;
  /** The checkpoint written (source jobs must set it). */
  checkpoint?: string;
  /** The max LR the run trained with (found by its LR finder, or given). */
  maxLr?: number;
  /** Learning-rate finder curve, when one ran. */
  lrFinder?: { lr: number[]; loss: number[]; chosen?: number };
  /** Learning rate per optimiser step (or a subsample), for the schedule plot. */
  schedule?: { step: number[]; lr: number[] };
  /** Radiomics jobs: the classifier chosen by validation AUC and what each of the four scored. */
  radiomics?: {
    classifier: string;
    params: unknown;
    folds: number;
    searchIters: number;
    byFamily: Record<string, { cvAuc: number; valAuc: number | null; params: unknown }>;
  };
  /** Library versions used (torch, torchxfer...). */
  versions?: Record<string, string>;
  /** 'cnn' or 'radiomics': what produced the numbers. */
  method?: Method;
  /** The training set as it really was (see SampleCounts in src/train/data.ts). */
  counts?: {
    nRequested: number;
    nTrained: number;
    uniqueImages: number;
    uniquePositives: number;
    droppedFiles: number;
    poolPositives?: number;
  };
  /** Trained on torchxfer's SIMULATED phantoms. */
  simulated?: boolean;
  /** How max_lr was chosen: the finder's rule, 'given', or 'reused' (tuned by the arm's job at the largest N). */
  lrRule?: string;
  /** What each finder rule suggested, when the finder ran. */
  lrSuggestions?: { valley: number; minimum: number; minDiv10: number };
  /** Why training ended early ('diverged', 'regular-policy', 'max-steps'). */
  stoppedEarly?: string;
  /** What the run warned about (resampling, small sets, wide CI, divergence...). */
  warnings?: string[];
  /** Images in the validation and test sets, and their positives (binary: of the label; multi-label: of any). */
  evalSizes?: { val: number; test: number; valPositives: number; testPositives: number };
}

export interface RunContext {
  signal: AbortSignal;
  /** Where the experiment's run folders go (the runner writes RUNS_DIR/<run key>); undefined: the runner's default. */
  runsDir?: string;
  /** The spec's names of this job ("Fig. 6 (source-data): chestxray13"; one per figure it serves). */
  armNames?: string[];
  onEpoch(metrics: EpochMetrics): void;
}

/** Trains one job. Injected: tests use a deterministic fake, production the trainer. */
export interface ArmRunner {
  run(job: RunJob, ctx: RunContext): Promise<RunResult>;
}
