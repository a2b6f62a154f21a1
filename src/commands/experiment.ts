/** `torchxfer experiment SPEC`: runs (or resumes) an experiment into a results database. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import type { CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { Progress } from '../progress.js';
import { ResultsDb } from '../experiments/db.js';
import { printEstimate } from '../experiments/estimate-report.js';
import { estimateExperiment, parseSizeTable, type SizeTable } from '../experiments/estimate.js';
import { parseShard, shardOf } from '../experiments/keys.js';
import { describePlan, printPlan } from '../experiments/layout.js';
import { pairedP } from '../experiments/paired.js';
import { planExperiment, planJobs } from '../experiments/plan.js';
import { describeJob, doneLookup, runExperiment, runsDirBeside } from '../experiments/run.js';
import { resolveArmRunner } from '../experiments/runners.js';
import { loadSpec } from '../experiments/spec.js';
import type { ExperimentSpec, RunJob } from '../experiments/types.js';
import { WEAK_SOURCE_AUC } from '../report/sections.js';
import { checkWeightsArchitecture } from '../weights/identify.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface ExperimentArgs {
  spec: string;
  db?: string;
  shard?: string;
  'dry-run': boolean;
  'allow-spec-change': boolean;
  checkpoints?: string;
  'nih-root'?: string;
  'chexpert-root'?: string;
  'mura-root'?: string;
  'same-anatomy-weights'?: string;
  estimate: boolean;
  plan: boolean;
  sizes?: string;
  device?: string;
  json: boolean;
}

const EXPERIMENT_OPTIONS: OptionList = [
  'db',
  'shard',
  ['dry-run', { default: true }],
  ['allow-spec-change', { default: true }],
  'checkpoints',
  'nih-root',
  'chexpert-root',
  'mura-root',
  'same-anatomy-weights',
  ['plan', { default: true }],
  ['estimate', { default: true }],
  'sizes',
  ['device', { note: 'experiment: where --estimate measures step times' }],
  ['json', { default: true, note: 'experiment: with --plan or --estimate' }],
];

export const experimentCommand: CommandModule<object, ExperimentArgs> = {
  command: 'experiment <spec>',
  describe: 'Run an experiment (targets x arms x N grid x seeds) into a resumable results database',
  builder: (y) =>
    addOptions(
      y.positional('spec', {
        type: 'string',
        demandOption: true,
        describe: 'Spec file (.yaml, .json) or preset name (paper, demo)',
      }),
      EXPERIMENT_OPTIONS,
    )
      .example('$0 experiment demo --db demo.db', 'Run the phantom demo (resumes if demo.db exists)')
      .example(
        '$0 experiment paper --plan --json --nih-root data/nih --chexpert-root data/CheXpert-v1.0-small --mura-root data/MURA-v1.1',
        "The paper's jobs, figure by figure, with their sizes",
      )
      .example('$0 experiment paper --estimate --device cuda', "Estimate the paper protocol's GPU-hours")
      .example(
        '$0 experiment paper --same-anatomy-weights densenet121-res224-chex',
        "Add TorchXRayVision's CheXpert DenseNet121 to Fig. 6's sources",
      )
      .example('$0 experiment spec.yaml --db shard3.db --shard 3/8', 'Run one shard of eight') as never,
  handler: async (argv) => {
    const args = parseOptions(
      argv as unknown as Record<string, unknown>,
      EXPERIMENT_OPTIONS,
    ) as unknown as ExperimentArgs;
    if (args['same-anatomy-weights'] !== undefined && args.spec !== 'paper') {
      throw new OptionError(
        '--same-anatomy-weights',
        "the paper preset (a spec file lists its sources, 'weights:' entries included)",
        args.spec,
      );
    }
    const shard = args.shard === undefined ? undefined : parseShard(args.shard);
    if (shard && shard.index < 0) throw new OptionError('--shard', "'i/n' with 0 <= i < n", args.shard);
    // An estimate needs no data: unset roots stand as placeholders and those datasets are sized from the table.
    const root = (given: string | undefined, env: string) =>
      given ?? (args.estimate && !process.env[env] ? `<${env} not set>` : undefined);
    const spec = loadSpec(args.spec, {
      preset: {
        nihRoot: root(args['nih-root'], 'NIH_ROOT'),
        chexpertRoot: root(args['chexpert-root'], 'CHEXPERT_ROOT'),
        muraRoot: root(args['mura-root'], 'MURA_ROOT'),
        sameAnatomyWeights: args['same-anatomy-weights'],
      },
    });
    const dbPath = resolve(args.db ?? `${spec.name}.db`);
    if (args.plan) {
      if (args.estimate || args['dry-run']) throw new OptionError('--plan', 'no --estimate or --dry-run with it', true);
      const described = await describePlan(spec);
      if (args.json) console.log(JSON.stringify(described, null, 2));
      else printPlan(described);
      return;
    }
    const checkpointDir = resolve(args.checkpoints ?? join(dirname(dbPath), `${spec.name}.checkpoints`));
    if (args.estimate) return estimate(spec, args, dbPath);
    // Published weights given as files are checked now, before any arm decodes an image.
    if (!args['dry-run']) {
      for (const w of spec.weightSources ?? []) {
        const option =
          w.weights === args['same-anatomy-weights'] ? '--same-anatomy-weights' : `sources.${w.name}.weights`;
        if (existsSync(w.weights)) await checkWeightsArchitecture(w.weights, w.arch, option);
      }
    }
    const runner = args['dry-run'] ? undefined : await resolveArmRunner();
    // A dry run reads an existing database (to show statuses) and never creates one.
    const db = args['dry-run']
      ? new ResultsDb(existsSync(dbPath) ? dbPath : ':memory:', { readonly: existsSync(dbPath) })
      : new ResultsDb(dbPath);
    try {
      if (args['dry-run']) return printDryRun(spec, db, shard);
      db.acquireWriter();
      // First Ctrl-C: stop after telling the runner (the current run restarts on resume); second: exit now.
      const abort = new AbortController();
      const onSignal = () => {
        if (abort.signal.aborted) process.exit(130);
        console.error('Stopping (Ctrl-C again to quit at once); rerun the same command to resume.');
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const { finish, ...progress } = runProgress();
        const s = await runExperiment(spec, {
          db,
          runner: runner!,
          pairedP,
          checkpointDir,
          shard,
          allowSpecChange: args['allow-spec-change'],
          signal: abort.signal,
          ...progress,
        });
        finish();
        for (const o of s.plan.outcomes)
          if (o.decision) console.log(`stage ${o.stage} (${o.target}): ${o.decision.winner} (${o.decision.reason})`);
        printSourceModels(db, s.plan.sources);
        console.log(
          `${s.done} run(s) done now, ${s.skippedDone} already done, ${s.failed.length} failed, ${s.waiting} waiting for a source checkpoint; results in ${dbPath}`,
        );
        // Where the artefacts are: the training runner writes one folder per run (checkpoint, metrics.json, figures).
        console.log(
          `run folders: ${runsDirBeside(db, spec)}/<run key>/; source checkpoints: ${checkpointDir}; export: torchxfer results export ${dbPath}`,
        );
        if (s.blockedStages.length)
          console.log(`stages waiting for results (other shards or failed runs): ${s.blockedStages.join(', ')}`);
        if (s.failed.length)
          throw new Error(
            `${s.failed.length} run(s) failed (first: ${s.failed[0]!.error}); rerun the command to retry them`,
          );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    } finally {
      db.close();
    }
  },
};

/**
 * --estimate: times steps on the device and prints every job's time (the database, when there, gives measured ones).
 */
async function estimate(spec: ExperimentSpec, args: ExperimentArgs, dbPath: string): Promise<void> {
  let sizes: SizeTable | undefined;
  if (args.sizes) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(args.sizes, 'utf8'));
    } catch (err) {
      throw new OptionError('--sizes', 'a readable JSON file', `${args.sizes} (${(err as Error).message})`);
    }
    sizes = parseSizeTable(raw, '--sizes');
  }
  const measured = existsSync(dbPath) ? new ResultsDb(dbPath, { readonly: true }) : undefined;
  try {
    const estimate = await estimateExperiment(spec, {
      sizes,
      device: args.device ?? 'auto',
      done: measured ? doneLookup(measured) : undefined,
      onMeasure: (what) => console.error(`measuring ${what}`),
    });
    const measuredSeconds = (key: string): number | undefined => {
      const row = measured?.run(key);
      const seconds =
        row?.status === 'done' && row.timings_json
          ? (JSON.parse(row.timings_json) as { seconds?: unknown }).seconds
          : undefined;
      return typeof seconds === 'number' ? seconds : undefined;
    };
    printEstimate(estimate, { json: args.json, measuredSeconds });
  } finally {
    measured?.close();
  }
}

/** Each source model's own held-out AUC (Figs. 6-7 mean nothing without it); a weak one is flagged. */
function printSourceModels(db: ResultsDb, sources: RunJob[]): void {
  for (const job of sources) {
    const row = db.run(job.key);
    const auc = row?.test_auc_tta ?? row?.test_auc;
    if (row?.status !== 'done' || auc === null || auc === undefined) continue;
    const weak =
      auc < WEAK_SOURCE_AUC
        ? ` (below ${WEAK_SOURCE_AUC}: a weak source; the arms that start from it test little of its anatomy)`
        : '';
    console.log(
      `source model ${job.data.name} (${job.arm.arch}, seed ${job.seed}): held-out test AUC ${auc.toFixed(3)}${weak}`,
    );
  }
}

/** --dry-run: the jobs of this shard with their status, and the stages not decided yet. */
function printDryRun(spec: ExperimentSpec, db: ResultsDb, shard: { index: number; count: number } | undefined): void {
  const plan = planExperiment(spec, doneLookup(db), pairedP);
  const jobs = planJobs(plan).filter((j) => !shard || shardOf(j.key, shard.count) === shard.index);
  for (const j of jobs) console.log(`${j.key.slice(0, 10)}  ${db.run(j.key)?.status ?? 'pending'}  ${describeJob(j)}`);
  const blocked = plan.outcomes.filter((o) => !o.decision).map((o) => `${o.stage}/${o.target}`);
  console.log(
    `${jobs.length} job(s)${shard ? ` in shard ${shard.index}/${shard.count}` : ''}${blocked.length ? `; stage winners not decided yet (later stages appear once they are): ${blocked.join(', ')}` : ''}`,
  );
}

/** A bar per pass on a terminal; in logs a plain line per run with the pass's progress and ETA. */
function runProgress() {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let bar: Progress | undefined;
  let pass = 0;
  let left = 0;
  return {
    // The bar starts at the pass's first run that trains, so its rate and ETA count only those (runs
    // done earlier are skipped, and sources reused from the phantoms' cache finish, in no time).
    onPass: (jobs: number) => {
      bar?.finish();
      bar = undefined;
      left = jobs;
      if (jobs > 0) pass++;
    },
    onJob: (_job: unknown, outcome: string, auc?: number | null) => {
      if ((outcome === 'skipped' || outcome === 'reused') && !bar) return void left--;
      bar ??= new Progress({
        total: left,
        label: `pass ${pass}`,
        unit: 'run',
        stream: process.stderr,
        plainIntervalMs: 0,
      });
      bar.tick(1, {
        last:
          (outcome === 'done' || outcome === 'reused') && typeof auc === 'number' ? `AUC ${auc.toFixed(3)}` : outcome,
      });
    },
    // On a terminal only failures interrupt the bar; logs get every run.
    log: (line: string) => {
      if (!tty) console.error(line);
      else if (line.startsWith('failed')) console.error(`\n${line}`);
    },
    finish: () => bar?.finish(),
  };
}
