/**
 * The whole experiment laid out before anything trains: every job of every figure (stages whose
 * winner is chosen from results are expanded as if decided), with the images each job trains on,
 * validates and tests on, counted from the datasets' published lists. `experiment --plan` prints it;
 * `experiment --estimate` times the same jobs.
 */
import { existsSync } from 'node:fs';

import { loadDataset, type LoadOptions } from '../data/datasets/index.js';
import type { Dataset, Sample } from '../data/types.js';
import { frozenGroupsAtStart } from '../schedule/strategy.js';
import { resolveTrainConfig, type TrainConfig } from '../train/config.js';
import { datasetLoadOptions, planSplits } from '../train/data.js';
import { canonicalJson } from './keys.js';
import { pairedP } from './paired.js';
import { planExperiment, type LookupDone, type Plan } from './plan.js';
import { inSpecTerms } from './spec-terms.js';
import { jobTrainOptions } from './train-runner.js';
import type { ExperimentSpec, RunJob } from './types.js';

/** Images in each split of a job's data, and where the numbers come from. */
export interface SplitSizes {
  train: number;
  val: number;
  test: number;
  /**
   * Distinct positive images in the training set (binary: of the label; multi-label: of any); unknown from a size
   * table.
   */
  trainUniquePositives?: number;
  from: 'data' | 'table';
}

/** Per dataset name of the spec (a target or source name): sizes to use when its data is not on this machine. */
export type SizeTable = Record<string, { train: number; val: number; test: number }>;

/**
 * The plan with every stage expanded. Stages are decided from `done` runs where there are results;
 * an undecided stage is taken as won by its last value (what follows may depend on it: a source stage
 * won by 'none' leaves nothing to initialise differently). Stages decided in advance need no guess.
 */
export function expandPlan(spec: ExperimentSpec, done?: LookupDone): Plan {
  const position = new Map<string, number>(); // job key -> its value's index in its stage
  const assumed: LookupDone = (key) => {
    const real = done?.(key);
    if (real) return real;
    // Rising with the value's position; a little noise from the key so paired t-tests are decisive.
    const auc = 0.5 + 0.01 * (position.get(key) ?? 0) + (parseInt(key.slice(0, 6), 16) / 0xffffff) * 1e-4;
    return { testAuc: auc, testAucTta: auc };
  };
  let plan = planExperiment(spec, assumed, pairedP);
  for (let pass = 0; pass <= (spec.mode === 'stagewise' ? spec.stages.length : 0); pass++) {
    for (const a of plan.arms) {
      const stage = spec.mode === 'stagewise' ? spec.stages.find((st) => st.name === a.stage) : undefined;
      const idx = stage ? stage.values.map(String).indexOf(a.name) : 0;
      for (const j of a.jobs) if (!position.has(j.key)) position.set(j.key, idx);
    }
    plan = planExperiment(spec, assumed, pairedP);
  }
  return plan;
}

/** The job's resolved training config (source checkpoints stand in by name: nothing is read from them). */
export async function jobTrainConfig(job: RunJob, cacheDir?: string): Promise<TrainConfig> {
  // A job that reuses a tuned max LR runs no LR finder: any number stands in for it.
  const partial = await jobTrainOptions(
    { ...job, initCheckpoint: job.initCheckpoint ?? 'imagenet', maxLr: job.lrFrom ? (job.maxLr ?? 1e-3) : job.maxLr },
    { cacheDir },
  );
  try {
    return resolveTrainConfig(partial);
  } catch (err) {
    throw inSpecTerms(err, job);
  }
}

/**
 * Sizes jobs from the datasets' listings, reading each dataset and each (dataset, labels, split, seed)
 * once: the N of a job changes only its training size (a subset of exactly N). Listings are read
 * without looking for the image files (`metadataOnly`), so a plan needs the published lists alone.
 */
export class SplitSizer {
  private readonly datasets = new Map<string, Dataset>();
  private readonly groups = new Map<string, Promise<{ pool: Sample[]; val: number; test: number; labels: string[] }>>();

  constructor(private readonly opts: { metadataOnly?: boolean } = {}) {}

  private load = (format: TrainConfig['format'], root: string, opts: LoadOptions = {}): Dataset => {
    const key = canonicalJson({ format, root, opts });
    let ds = this.datasets.get(key);
    if (!ds) {
      ds = loadDataset(format, root, { ...opts, keepMissing: this.opts.metadataOnly });
      this.datasets.set(key, ds);
    }
    return ds;
  };

  /** Split sizes and labels of one job's config. */
  async sizes(
    job: RunJob,
    config: TrainConfig,
  ): Promise<{ train: number; val: number; test: number; trainUniquePositives: number; labels: string[] }> {
    const c = config;
    const key = canonicalJson({
      kind: job.kind,
      data: c.data,
      format: c.format,
      task: c.task,
      split: c.split,
      seed: c.seed,
      exclude: c.excludeExperiment,
      grid: c.excludeNGrid,
      valLimit: c.valLimit,
      testLimit: c.testLimit,
      load: datasetLoadOptions(c),
    });
    let group = this.groups.get(key);
    if (!group) {
      group = planSplits({ ...config, n: undefined }, { loadDataset: this.load }).then(({ splits }) => ({
        pool: splits.train,
        val: splits.val.length,
        test: splits.test.length,
        labels: splits.labels,
      }));
      this.groups.set(key, group);
    }
    const g = await group.catch((err: unknown) => Promise.reject(inSpecTerms(err, job)));
    if (config.n !== undefined && config.n > g.pool.length && g.labels.length > 1) {
      throw new Error(
        `dataset '${job.data.name}': N = ${config.n} is more than its training pool of ${g.pool.length} images`,
      );
    }
    const isPositive = (x: Sample) => x.targets.some((t) => t === 1);
    // Binary subsets have exactly N, each half using every unique image before repeating one; multi-label ones the
    // first N.
    const trainUniquePositives =
      g.labels.length === 1 && config.n !== undefined
        ? Math.min(Math.floor(config.n / 2), g.pool.filter(isPositive).length)
        : g.pool.slice(0, config.n).filter(isPositive).length;
    return { train: config.n ?? g.pool.length, val: g.val, test: g.test, trainUniquePositives, labels: g.labels };
  }
}

/**
 * Split sizes from the data when its folder is here, else from `table` (by the job's dataset name).
 * Data that is here but unreadable (bad labels, a malformed CSV) is an error, never a silent fallback.
 */
export async function splitSizes(
  job: RunJob,
  config: TrainConfig,
  table: SizeTable,
  sizer = new SplitSizer(),
): Promise<SplitSizes> {
  if (!config.data || existsSync(config.data)) {
    const s = await sizer.sizes(job, config);
    return { train: s.train, val: s.val, test: s.test, trainUniquePositives: s.trainUniquePositives, from: 'data' };
  }
  const row = table[job.data.name];
  if (!row)
    throw new Error(
      `cannot size dataset '${job.data.name}': its folder ${config.data} is not on this machine; give its sizes with --sizes (JSON {"${job.data.name}": {"train": n, "val": n, "test": n}})`,
    );
  // A target's N is what it trains on (binary subsets draw positives with replacement when short).
  const train = job.n === 'all' ? row.train : job.kind === 'target' ? job.n : Math.min(job.n, row.train);
  return {
    train,
    val: Math.min(config.valLimit ?? Infinity, row.val),
    test: Math.min(config.testLimit ?? Infinity, row.test),
    from: 'table',
  };
}

export interface PlanSizes {
  train: number;
  val: number;
  test: number;
  /** Distinct positive images among the N trained (binary: of the label; multi-label: of any label). */
  trainUniquePositives: number;
}

export interface PlanSource {
  name: string;
  dataset: string;
  arch: string;
  labels: string[];
  sizes: PlanSizes;
}

export interface PlanJob {
  key: string;
  figure: string;
  target: string;
  arch: string | null;
  method: 'cnn' | 'radiomics';
  n: number;
  policy: string | null;
  strategy: string | null;
  source: string | null;
  init: string | null;
  /** How max_lr is chosen: the LR finder's rule ('minimum', 'valley', 'min-div-10'), or 'given'; null for radiomics. */
  lrRule: string | null;
  /** Layer groups frozen at the first step: 0 when every layer trains from the start, 2 under gradual unfreezing. */
  frozenGroupsAtStart: number | null;
  sizes: PlanSizes;
}

/**
 * `experiment --plan --json`: every source task and every job of every figure with its sizes (a job shared by two
 * figures is listed in each).
 */
export async function describePlan(
  spec: ExperimentSpec,
  opts: { done?: LookupDone; cacheDir?: string } = {},
): Promise<{ sources: PlanSource[]; jobs: PlanJob[] }> {
  const plan = expandPlan(spec, opts.done);
  const sizer = new SplitSizer({ metadataOnly: true });
  const sizesOf = async (job: RunJob) => {
    const config = await jobTrainConfig(job, opts.cacheDir);
    const s = await sizer.sizes(job, config);
    return {
      sizes: { train: s.train, val: s.val, test: s.test, trainUniquePositives: s.trainUniquePositives },
      labels: s.labels,
      config,
    };
  };
  const sources: PlanSource[] = [];
  for (const job of plan.sources) {
    const { sizes, labels } = await sizesOf(job);
    sources.push({ name: job.data.name, dataset: job.data.dataset, arch: job.arm.arch, labels, sizes });
  }
  const jobs: PlanJob[] = [];
  for (const arm of plan.arms) {
    for (const job of arm.jobs) {
      const a = job.arm;
      const cnn = a.method !== 'radiomics';
      const { sizes, config } = await sizesOf(job);
      jobs.push({
        key: job.key,
        figure: arm.figure,
        target: arm.target,
        arch: cnn ? a.arch : null,
        method: cnn ? 'cnn' : 'radiomics',
        n: job.n as number,
        policy: cnn ? a.policy : null,
        strategy: cnn ? a.strategy : null,
        source: cnn ? a.source : null,
        init: cnn ? a.init : null,
        lrRule: cnn ? (a.maxLr === 'auto' ? config.lrRule : 'given') : null,
        frozenGroupsAtStart: cnn ? frozenGroupsAtStart(config.strategy) : null,
        sizes,
      });
    }
  }
  return { sources, jobs };
}

/** `experiment --plan` without --json: the sources and, per figure, its jobs by target. */
export function printPlan(
  p: { sources: PlanSource[]; jobs: PlanJob[] },
  write: (line: string) => void = (l) => console.log(l),
): void {
  write('Source tasks:');
  for (const s of p.sources)
    write(
      `  ${s.name} (${s.dataset}, ${s.arch}, ${s.labels.length} label${s.labels.length === 1 ? '' : 's'}): train ${s.sizes.train}, val ${s.sizes.val}, test ${s.sizes.test}`,
    );
  const figures = [...new Set(p.jobs.map((j) => j.figure))];
  for (const f of figures) {
    const mine = p.jobs.filter((j) => j.figure === f);
    const targets = [...new Set(mine.map((j) => j.target))];
    write(`Figure ${f}: ${mine.length} jobs`);
    for (const t of targets) {
      const jobs = mine.filter((j) => j.target === t);
      const arms = [
        ...new Set(
          jobs.map((j) =>
            j.method === 'radiomics'
              ? 'radiomics'
              : `${j.arch} ${j.policy} ${j.strategy} source=${j.source} init=${j.init} max_lr=${j.lrRule} frozen-at-start=${j.frozenGroupsAtStart}`,
          ),
        ),
      ];
      write(
        `  ${t} (val ${jobs[0]!.sizes.val}, test ${jobs[0]!.sizes.test}): ${jobs.length} jobs, ${arms.length} arms`,
      );
      for (const a of arms) write(`    ${a}`);
    }
  }
  write(
    `${p.jobs.length} jobs listed by figure, ${new Set(p.jobs.map((j) => j.key)).size} distinct, plus ${p.sources.length} source task(s)`,
  );
}
