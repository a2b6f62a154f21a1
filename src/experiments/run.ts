/**
 * Runs an experiment against the results database: skips done runs, restarts runs left `running`
 * (their partial epochs replaced), runs only this shard's jobs, and keeps going stage by stage.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { describe } from '../errors.js';
import { expectInteger } from '../validate.js';
import { ResultsDb } from './db.js';
import { shardOf } from './keys.js';
import { planArmNames, planExperiment, planJobs, type Plan } from './plan.js';
import type { ArmRunner, ExperimentSpec, RunJob } from './types.js';
import type { PairedP } from './winner.js';

export interface RunExperimentOptions {
  db: ResultsDb;
  runner: ArmRunner;
  pairedP: PairedP;
  /** Where source tasks write their checkpoints (shared between shards). */
  checkpointDir: string;
  /** Where each run's folder goes, as RUNS_DIR/<run key> (default runsDirBeside(db, spec): beside the database). */
  runsDir?: string;
  shard?: { index: number; count: number };
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Progress: called with the number of jobs at the start of each pass, then once per job handled. */
  onPass?: (jobs: number) => void;
  /** 'reused': done from a cache in no time (a phantom source trained earlier), so no guide to the ETA. */
  onJob?: (job: RunJob, outcome: 'done' | 'reused' | 'skipped' | 'failed' | 'waiting', testAuc?: number | null) => void;
  /** Accept a changed spec under an existing experiment name (see ResultsDb.saveExperiment). */
  allowSpecChange?: boolean;
}

export interface RunSummary {
  ran: number;
  done: number;
  failed: { key: string; error: string }[];
  skippedDone: number;
  /** Jobs of this shard waiting for a source checkpoint or a tuned max LR (another shard, or a failed run). */
  waiting: number;
  /** Jobs of this shard not known yet (a stage needs results of other shards first). */
  blockedStages: string[];
  plan: Plan;
}

/**
 * The default folder of an experiment's run folders: `<name>.runs` beside its results database (so a
 * run's artefacts sit with its results whatever folder the command ran in); undefined for an in-memory database.
 */
export function runsDirBeside(db: ResultsDb, spec: ExperimentSpec): string | undefined {
  return db.path === ':memory:' ? undefined : join(dirname(resolve(db.path)), `${spec.name}.runs`);
}

/** A lookup of done runs for the planner. */
export function doneLookup(db: ResultsDb) {
  return (key: string) => {
    const r = db.run(key);
    return r && r.status === 'done' ? { testAuc: r.test_auc, testAucTta: r.test_auc_tta } : undefined;
  };
}

export function sourceCheckpointPath(checkpointDir: string, sourceKey: string): string {
  return join(checkpointDir, `source-${sourceKey.slice(0, 16)}.pt`);
}

/** One job in words, as the run log and --dry-run print it (a radiomics job has no network settings). */
export function describeJob(job: RunJob): string {
  const a = job.arm;
  const how =
    a.method === 'radiomics' ? 'radiomics' : `${a.arch} ${a.policy} ${a.strategy} source=${a.source} init=${a.init}`;
  return `${job.kind} ${job.data.name} n=${job.n} seed=${job.seed} ${how}`;
}

export async function runExperiment(spec: ExperimentSpec, opts: RunExperimentOptions): Promise<RunSummary> {
  const { db, runner } = opts;
  const log = opts.log ?? (() => {});
  const mine = (key: string) => !opts.shard || shardOf(key, opts.shard.count) === opts.shard.index;
  db.saveExperiment(spec, opts.allowSpecChange);
  mkdirSync(opts.checkpointDir, { recursive: true });
  const runsDir = opts.runsDir === undefined ? runsDirBeside(db, spec) : resolve(opts.runsDir);
  const attempted = new Set<string>();
  const summary: RunSummary = {
    ran: 0,
    done: 0,
    failed: [],
    skippedDone: 0,
    waiting: 0,
    blockedStages: [],
    plan: { arms: [], sources: [], outcomes: [] },
  };
  const sourceCheckpoint = (key: string): string | undefined => {
    const row = db.run(key);
    if (row?.status === 'done' && row.checkpoint && existsSync(row.checkpoint)) return row.checkpoint;
    const shared = sourceCheckpointPath(opts.checkpointDir, key);
    return existsSync(shared) ? shared : undefined;
  };
  // Each pass may unlock the next stage; stop when a pass has nothing left to run.
  for (;;) {
    const plan = planExperiment(spec, doneLookup(db), opts.pairedP);
    summary.plan = plan;
    const armNames = planArmNames(plan);
    const todo = planJobs(plan).filter((j) => mine(j.key) && !attempted.has(j.key));
    let ranThisPass = 0;
    opts.onPass?.(todo.length);
    summary.waiting = 0;
    for (const job of todo) {
      if (opts.signal?.aborted) throw new Error('Experiment interrupted; rerun the same command to resume.');
      const row = db.run(job.key);
      if (row?.status === 'done') {
        attempted.add(job.key);
        summary.skippedDone++;
        opts.onJob?.(job, 'skipped');
        continue;
      }
      if (job.dependsOn) {
        const ckpt = sourceCheckpoint(job.dependsOn);
        if (!ckpt) {
          summary.waiting++;
          opts.onJob?.(job, 'waiting');
          continue;
        }
        job.initCheckpoint = ckpt;
      }
      if (job.lrFrom) {
        const maxLr = tunedMaxLr(db, job.lrFrom);
        if (maxLr === undefined) {
          summary.waiting++;
          opts.onJob?.(job, 'waiting');
          continue;
        }
        job.maxLr = maxLr;
      }
      if (job.kind === 'source') job.checkpointOut = sourceCheckpointPath(opts.checkpointDir, job.key);
      attempted.add(job.key);
      log(`${row?.status === 'running' ? 'restart' : 'run'} ${job.key.slice(0, 10)} ${describeJob(job)}`);
      db.markRunning(job);
      summary.ran++;
      ranThisPass++;
      try {
        const result = await runner.run(job, {
          signal: opts.signal ?? new AbortController().signal,
          runsDir,
          armNames: armNames.get(job.key),
          onEpoch: (m) => {
            expectInteger(m?.epoch, 'metrics.epoch (from the runner, numbered from 1)', 1);
            db.addEpoch(job.key, m);
          },
        });
        if (!result || typeof result !== 'object')
          throw new Error(`the runner returned ${describe(result)} instead of a RunResult`);
        if (job.kind === 'source' && !result.checkpoint)
          throw new Error('the runner returned no checkpoint for a source task');
        db.markDone(job.key, result);
        summary.done++;
        const cached = result.timings.cachedSourceSeconds;
        opts.onJob?.(job, typeof cached === 'number' ? 'reused' : 'done', result.testAucTta ?? result.testAuc);
        const reused =
          typeof cached === 'number'
            ? `; reused from the phantoms' source cache (trained once, in ${Math.round(cached)} s)`
            : '';
        log(`done ${job.key.slice(0, 10)} test AUC ${fmt(result.testAuc)} (TTA ${fmt(result.testAucTta)})${reused}`);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        db.markFailed(job.key, message);
        summary.failed.push({ key: job.key, error: message });
        opts.onJob?.(job, 'failed');
        log(`failed ${job.key.slice(0, 10)}: ${message}`);
      }
    }
    if (ranThisPass === 0) break;
  }
  summary.blockedStages = [...new Set(summary.plan.outcomes.filter((o) => !o.decision).map((o) => o.stage))];
  return summary;
}

/** The max LR a finished job trained with (its LR finder's choice), if it is done. */
export function tunedMaxLr(db: ResultsDb, key: string): number | undefined {
  const row = db.run(key);
  if (row?.status !== 'done' || !row.result_json) return undefined;
  const maxLr = (JSON.parse(row.result_json) as { maxLr?: unknown }).maxLr;
  return typeof maxLr === 'number' && maxLr > 0 ? maxLr : undefined;
}

function fmt(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(4);
}
