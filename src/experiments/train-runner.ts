/**
 * The production ArmRunner: turns an experiment job (target or source task, arm, N, seed) into a
 * `train()` run and its result into a RunResult for the results database.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { DEFAULT_PHANTOMS, ensureDefaultPhantoms } from '../data/phantom/index.js';
import { cachedSourceRun, cacheSourceRun } from './phantom-sources.js';
import type { DatasetFormat } from '../data/datasets/index.js';
import { writeJsonAtomic } from '../fs-atomic.js';
import { runtimeInfo } from '../runtime.js';
import type { TrainConfig } from '../train/config.js';
import { SPEC_OPTION_KEYS } from '../train/recipe.js';
import { train } from '../train/run.js';
import { version } from '../version.js';
import { runRadiomicsJob } from './radiomics-runner.js';
import { inSpecTerms } from './spec-terms.js';
import { registerArmRunner } from './runners.js';
import type { ArmRunner, DatasetSpec, RunJob, RunResult } from './types.js';

export interface TrainRunnerOptions {
  /**
   * Where each run's folder goes, as RUNS_DIR/<experiment>/<run key>. Default: the folder runExperiment
   * gives (`<name>.runs/<run key>` beside the results database), else runs/experiments under the working directory.
   */
  runsDir?: string;
  cacheDir?: string;
  device?: string;
  progress?: NodeJS.WritableStream | null;
}

/** Dataset name of a spec -> (root, reader format). Phantom sets are generated once into the cache. */
async function resolveData(
  spec: DatasetSpec,
  cacheDir?: string,
): Promise<{ root: string; format: DatasetFormat; phantoms?: { dir: string; seed: number } }> {
  if (spec.dataset === 'phantom-chest' || spec.dataset === 'phantom-msk') {
    // options.phantomSeed: another simulated population (e.g. a source task disjoint from the target's patients).
    const seed = typeof spec.options.phantomSeed === 'number' ? spec.options.phantomSeed : DEFAULT_PHANTOMS.seed;
    const p = await ensureDefaultPhantoms({ cacheDir, seed });
    const phantoms = { dir: p.dir, seed };
    return spec.dataset === 'phantom-chest'
      ? { root: p.chest, format: 'nih', phantoms }
      : { root: p.msk, format: 'mura', phantoms };
  }
  if (!spec.root)
    throw new Error(
      `dataset '${spec.name}' (${spec.dataset}) has no root folder: set it in the spec or its environment variable`,
    );
  return { root: spec.root, format: spec.dataset as DatasetFormat };
}

/**
 * A job's run folder: under the runner's runsDir if set, else under the experiment's (RunContext.runsDir), else under
 * the working directory.
 */
function runFolder(job: RunJob, opts: TrainRunnerOptions, contextRunsDir: string | undefined): string {
  if (opts.runsDir !== undefined) return resolve(opts.runsDir, job.experiment, job.key);
  if (contextRunsDir !== undefined) return resolve(contextRunsDir, job.key);
  return resolve('runs/experiments', job.experiment, job.key);
}

/** The TrainConfig a job stands for. Exported for tests and `--dry-run` explanations. */
export async function jobTrainOptions(
  job: RunJob,
  opts: TrainRunnerOptions = {},
  runsDir?: string,
): Promise<Partial<TrainConfig> & { out: string }> {
  const { root, format } = await resolveData(job.data, opts.cacheDir);
  const a = job.arm;
  const o = { ...job.data.options, ...a.options } as Record<string, unknown>;
  const pretrained = a.init !== 'default';
  let init: string;
  if (a.source === 'none') init = 'none';
  else if (a.source === 'imagenet') init = a.init === 'moments' ? 'moments' : pretrained ? 'imagenet' : 'none';
  else if (!pretrained) init = 'none';
  else if (job.initWeights) init = job.initWeights;
  else if (!job.initCheckpoint)
    throw new Error(`job ${job.key}: source task '${a.source}' has no checkpoint yet (its job must run first)`);
  else init = job.initCheckpoint;
  const labels = (job.data as DatasetSpec & { label?: string }).label
    ? [(job.data as DatasetSpec & { label?: string }).label!]
    : job.data.labels;
  // The training options a spec writes in `options` are the train command's, by the same names (the recipe's).
  const fromOptions = Object.fromEntries(SPEC_OPTION_KEYS.map((k) => [k, o[k]]));
  return {
    ...fromOptions,
    data: root,
    format,
    task: labels,
    n: job.n === 'all' ? undefined : job.n,
    arch: a.arch,
    init,
    initMoments: a.init === 'moments' && a.source !== 'imagenet' && a.source !== 'none' ? true : undefined,
    strategy: a.strategy,
    policy: a.policy,
    optimizer: a.optimizer,
    epochs: a.epochs,
    batchSize: a.batchSize,
    // Tuned once per (target, arm) at the largest N: the other N reuse that job's max LR.
    maxLr: job.maxLr ?? a.maxLr,
    tta: a.tta,
    seed: job.seed,
    device: opts.device ?? 'auto',
    cacheDir: opts.cacheDir,
    out: runFolder(job, opts, runsDir),
    resume: false,
  };
}

export function trainArmRunner(opts: TrainRunnerOptions = {}): ArmRunner {
  return {
    // A failure names the spec keys to change, never a CLI flag (src/experiments/spec-terms.ts).
    run: (job, ctx) => runJob(job, ctx, opts).catch((err: unknown) => Promise.reject(inSpecTerms(err, job))),
  };
}

async function runJob(job: RunJob, ctx: Parameters<ArmRunner['run']>[1], opts: TrainRunnerOptions): Promise<RunResult> {
  // Sources on the phantoms are trained once and cached with them.
  const { phantoms } = await resolveData(job.data, opts.cacheDir);
  const cached = job.kind === 'source' && phantoms ? await cachedSourceRun(job, phantoms.dir) : undefined;
  if (cached) return cached;
  const config = await jobTrainOptions(job, opts, ctx.runsDir);
  if (job.arm.method === 'radiomics') {
    const result = await runRadiomicsJob(job, config, {
      cacheDir: opts.cacheDir,
      progress: opts.progress,
      signal: ctx.signal,
    });
    return { ...result, versions: { torchxfer: version, torch: runtimeInfo().torchVersion, node: process.version } };
  }
  // A job restarted after a crash starts its folder afresh (the database already forgot the partial run).
  const { rmSync } = await import('node:fs');
  rmSync(join(config.out, 'resume'), { recursive: true, force: true });
  const run = train(config, { signal: ctx.signal, progress: opts.progress });
  run.on('epoch', (e) =>
    ctx.onEpoch({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      valLoss: e.valLoss,
      valAuc: e.valAuc,
      lr: e.lr,
      seconds: e.seconds,
    }),
  );
  const r = await run;
  // metrics.json says which of the spec's arms the run is (the trainer does not know the spec).
  if (ctx.armNames?.length) addToMetrics(join(config.out, 'metrics.json'), { armNames: ctx.armNames });
  let checkpoint = r.checkpoint;
  if (job.kind === 'source' && job.checkpointOut) {
    // Shards on other machines find source checkpoints at the shared path.
    const { copyFileSync, mkdirSync, renameSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    mkdirSync(dirname(job.checkpointOut), { recursive: true });
    copyFileSync(r.checkpoint, `${job.checkpointOut}.tmp-${process.pid}`);
    renameSync(`${job.checkpointOut}.tmp-${process.pid}`, job.checkpointOut);
    checkpoint = job.checkpointOut;
  }
  const result: RunResult = {
    testAuc: r.testAuc,
    testAucTta: r.testAucTta,
    testAucCi: r.testAucCi ?? undefined,
    perLabelAuc: r.perLabelAuc,
    perLabelAucTta: r.perLabelAucTta,
    valLoss: r.bestValLoss ?? NaN,
    bestEpoch: r.bestEpoch ?? undefined,
    epochs: r.epochs.map((e) => ({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      valLoss: e.valLoss,
      valAuc: e.valAuc,
      lr: e.lr,
      seconds: e.seconds,
    })),
    timings: { seconds: r.seconds },
    maxLr: r.maxLr,
    sampleIdsHash: r.sampleIdsHash,
    checkpoint,
    versions: { torchxfer: version, torch: runtimeInfo().torchVersion, node: process.version },
    method: 'cnn',
    counts: r.counts,
    simulated: r.simulated,
    // A job reusing the max LR tuned at the arm's largest N ran no finder of its own.
    lrRule: job.maxLr !== undefined && job.lrFrom ? 'reused' : r.lrRule,
    ...(r.lrSuggestions ? { lrSuggestions: r.lrSuggestions } : {}),
    ...(r.stoppedEarly ? { stoppedEarly: r.stoppedEarly } : {}),
    warnings: r.warnings,
    evalSizes: r.evalSizes,
  };
  if (job.kind === 'source' && phantoms) await cacheSourceRun(job, result, phantoms);
  return result;
}

/** Adds fields to a run's metrics.json, replaced whole (never half-written). */
function addToMetrics(path: string, fields: Record<string, unknown>): void {
  const metrics = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeJsonAtomic(path, { ...metrics, ...fields });
}

/** Makes `torchxfer experiment` train for real. */
export function registerTrainRunner(opts: TrainRunnerOptions = {}): void {
  registerArmRunner(() => trainArmRunner(opts));
}
