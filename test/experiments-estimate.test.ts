// `experiment --estimate`: every job of every stage, the images each trains on and evaluates, and
// the time from step rates measured on the device.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ResultsDb } from '../src/experiments/db.js';
import {
  allJobs,
  estimateJob,
  jobTrainConfig,
  jobWork,
  splitSizes,
  type SplitSizes,
} from '../src/experiments/estimate.js';
import { pairedP } from '../src/experiments/paired.js';
import { doneLookup, runExperiment } from '../src/experiments/run.js';
import { validateSpec } from '../src/experiments/spec.js';
import type { ArmRunner } from '../src/experiments/types.js';
import { tabulate, trainingPlan } from '../src/schedule/strategy.js';
import { resolveTrainConfig } from '../src/train/config.js';
import { planSplits } from '../src/train/data.js';
import { removeTempDirs, runCli, runCliAsync, tempDir, writeFakeRunner } from './experiments-helpers.js';

let fake: ArmRunner;
afterAll(removeTempDirs);
beforeAll(async () => {
  fake = ((await import(writeFakeRunner(tempDir()))) as { default: ArmRunner }).default;
});

// Small phantom images so the CLI test measures its step times in seconds.
const small = { imageSize: 64, valLimit: 40, testLimit: 60 };
const stagewise = () => ({
  name: 'est',
  mode: 'stagewise',
  nGrid: [50, 100],
  seeds: [0],
  targets: [{ name: 'cardio', dataset: 'phantom-chest', label: 'Cardiomegaly', options: { ...small, balanced: true } }],
  sources: [
    {
      name: 'msk-source',
      dataset: 'phantom-msk',
      n: 120,
      options: small,
      train: { epochs: 1, source: 'none', init: 'default' },
    },
  ],
  base: {
    arch: 'resnet50',
    policy: 'regular',
    strategy: 'fine-tune',
    source: 'none',
    init: 'default',
    epochs: 2,
    maxLr: 0.001,
    batchSize: 16,
    tta: 4,
    options: { imageSize: 64 },
  },
  stages: [
    { name: 'policy', vary: 'policy', values: ['regular', 'one-cycle'] },
    { name: 'strategy', vary: 'strategy', values: ['feature-extractor', 'fine-tune', 'gradual-unfreeze'] },
    { name: 'source', arms: [{ source: 'none' }, { source: 'msk-source' }], base: { init: 'pretrained' } },
  ],
});

describe('experiment estimate', () => {
  it('expands every stage: the same jobs a complete run executes', async () => {
    const spec = validateSpec(stagewise(), {});
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const s = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s.failed).toEqual([]);
    const ran = db
      .runs('est')
      .filter((r) => r.status === 'done')
      .map((r) => r.key)
      .sort();
    // With the finished runs, stages build on their real winners: exactly the jobs that ran.
    const planned = allJobs(spec, doneLookup(db));
    db.close();
    expect(planned.map((j) => j.job.key).sort()).toEqual(ran);
    expect(new Set(planned.map((j) => j.stage))).toEqual(new Set(['source tasks', 'policy', 'strategy', 'source']));
    // Before any run, other winners are assumed, but the number of jobs is the same.
    expect(allJobs(spec).length).toBe(ran.length);
  });

  it('splits training steps by what trains, as the transfer strategy schedules them', () => {
    const sizes: SplitSizes = { train: 333, val: 40, test: 60, from: 'table' };
    for (const strategy of ['feature-extractor', 'fine-tune', 'gradual-unfreeze'] as const) {
      const config = resolveTrainConfig({ out: 'x', strategy, epochs: 7, batchSize: 16, maxLr: 'auto', tta: 4 });
      const w = jobWork(
        {
          key: 'k',
          experiment: 'e',
          kind: 'target',
          data: { name: 'd', dataset: 'nih', options: {} },
          arm: {} as never,
          n: 333,
          seed: 0,
        },
        's',
        config,
        sizes,
      );
      const steps = 7 * Math.ceil(333 / 16);
      // Counted step by step from the schedule train() follows.
      const table = tabulate(trainingPlan({ strategy, lr: () => 1, momentum: () => 0.9, steps }));
      const count = (g0: boolean, g1: boolean) =>
        table.groups[0]!.trainable.filter((t, i) => t === g0 && table.groups[1]!.trainable[i] === g1).length;
      expect(w.steps).toEqual({ head: count(false, false), upper: count(false, true), all: count(true, true) });
      expect(w.steps.head + w.steps.upper + w.steps.all).toBe(steps);
      expect(w.finder).toEqual({ steps: 100, part: strategy === 'fine-tune' ? 'all' : 'head' });
      expect(w.evalImages).toBe(7 * 40 + 60 * 5); // validation each epoch; the test set as the original + 4 TTA copies
      const e = estimateJob(w, { setupMs: 500, headMs: 10, upperMs: 20, allMs: 30, evalMsPerImage: 2 });
      const doubled = estimateJob(w, { setupMs: 1000, headMs: 20, upperMs: 40, allMs: 60, evalMsPerImage: 4 });
      expect(doubled.seconds.total).toBeCloseTo(2 * e.seconds.total, 9);
      expect(e.seconds.total).toBeCloseTo(e.seconds.setup + e.seconds.train + e.seconds.finder + e.seconds.eval, 9);
    }
  });

  it('sizes jobs from the data when it is here, from the size table when not, and names --sizes otherwise', async () => {
    const spec = validateSpec(stagewise(), {});
    const target = allJobs(spec).find((j) => j.job.kind === 'target' && j.job.n === 100)!.job;
    const config = await jobTrainConfig(target);
    const fromData = await splitSizes(target, config, {});
    const { splits, poolPositives } = await planSplits(config);
    // A binary subset of 100 holds 50 positives, as many of them unique as the pool has.
    expect(fromData).toEqual({
      train: 100,
      val: splits.val.length,
      test: splits.test.length,
      trainUniquePositives: Math.min(50, poolPositives),
      from: 'data',
    });
    expect(fromData.val).toBeLessThanOrEqual(40);
    expect(fromData.test).toBeLessThanOrEqual(60);

    const away = { ...target, data: { ...target.data, dataset: 'nih', root: join(tempDir(), 'missing') } };
    const awayConfig = resolveTrainConfig({ ...config, data: away.data.root! });
    expect(await splitSizes(away, awayConfig, { cardio: { train: 5000, val: 500, test: 900 } })).toEqual({
      train: 100,
      val: 40,
      test: 60,
      from: 'table',
    });
    await expect(splitSizes(away, awayConfig, {})).rejects.toThrow(/cannot size dataset 'cardio'.*--sizes/);
    // Data that is here but wrong is an error, not a silent fallback to the table.
    await expect(
      splitSizes(target, resolveTrainConfig({ ...config, task: ['NoSuchFinding'] }), {
        cardio: { train: 5000, val: 500, test: 900 },
      }),
    ).rejects.toThrow(/NoSuchFinding/);
  });

  it('the CLI measures step times and prints every job with its time (JSON)', async () => {
    const dir = tempDir();
    const specPath = join(dir, 'spec.json');
    const raw = stagewise();
    raw.stages = raw.stages.slice(0, 1);
    raw.nGrid = [50];
    writeFileSync(specPath, JSON.stringify(raw));
    const r = await runCliAsync([
      'experiment',
      specPath,
      '--estimate',
      '--json',
      '--device',
      'cpu',
      '--db',
      join(dir, 'none.db'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      device: string;
      totalSeconds: number;
      rates: Record<string, { allMs: number; headMs: number; evalMsPerImage: number }>;
      jobs: { seconds: { total: number }; steps: { all: number } }[];
    };
    expect(out.device).toBe('cpu');
    expect(out.jobs.length).toBe(allJobs(validateSpec(raw, {})).length);
    expect(out.totalSeconds).toBeCloseTo(
      out.jobs.reduce((s, j) => s + j.seconds.total, 0),
      6,
    );
    const rates = Object.values(out.rates);
    expect(rates.length).toBe(1); // one architecture at one size
    // Timings themselves are for benchmarks; here only that each was measured.
    for (const v of Object.values(rates[0]!)) expect(Number.isFinite(v) && v > 0).toBe(true);
    expect(r.stderr).toMatch(/measuring resnet50:i64:c60:b16:e32 training, all groups/);
    expect(runCli(['experiment', specPath, '--estimate', '--sizes', join(dir, 'nope.json')]).stderr).toMatch(/--sizes/);
  }, 400_000);
});
