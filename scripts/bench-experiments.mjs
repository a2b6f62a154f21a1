#!/usr/bin/env node
// Overhead of the experiment machinery (not training): per-run database bookkeeping with a zero-cost
// runner on a paper-sized grid (4 targets x 5 arms x 12 N, 20 epochs each), 4-shard merge, export and
// the report (SVG + PNG). Run after `npx tsc -p tsconfig.json`: node scripts/bench-experiments.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { exportCsv, mergeDatabases, ResultsDb, runExperiment, validateSpec, writeReport } from '../dist/index.js';
import { pairedP } from '../dist/experiments/paired.js';

const dir = mkdtempSync(join(tmpdir(), 'txbench-'));
const spec = validateSpec(
  {
    name: 'bench',
    mode: 'grid',
    nGrid: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000],
    seeds: [0],
    targets: ['a', 'b', 'c', 'd'].map((name) => ({ name, dataset: 'phantom-chest' })),
    base: { epochs: 20, maxLr: 0.001 },
    arms: ['p1', 'p2', 'p3', 'p4', 'p5'].map((name, i) => ({ name, epochs: 20 + i })),
  },
  {},
);
const runner = {
  async run(job, ctx) {
    const epochs = [];
    for (let e = 1; e <= job.arm.epochs; e++) {
      const m = { epoch: e, trainLoss: 1 / e, valLoss: 1 / e + 0.1, valAuc: 0.7, lr: 1e-3 / e };
      epochs.push(m);
      ctx.onEpoch(m);
    }
    const auc = 0.6 + job.n / 10000 + job.arm.epochs / 1000;
    return {
      testAuc: auc,
      testAucTta: auc + 0.01,
      testAucCi: [auc - 0.03, auc + 0.03],
      valLoss: 0.2,
      epochs,
      timings: {},
      sampleIdsHash: 'x',
      schedule: { step: [0, 1, 2], lr: [1e-4, 1e-3, 1e-5] },
    };
  },
};
const time = async (label, f) => {
  const t = performance.now();
  const out = await f();
  console.log(`${label.padEnd(44)} ${((performance.now() - t) / 1000).toFixed(2)} s`);
  return out;
};
const whole = new ResultsDb(join(dir, 'whole.db'));
whole.acquireWriter();
await time('240 runs x ~22 epochs, one database', () =>
  runExperiment(spec, { db: whole, runner, pairedP, checkpointDir: join(dir, 'ck') }),
);
await time('resume pass (all done, nothing to run)', () =>
  runExperiment(spec, { db: whole, runner, pairedP, checkpointDir: join(dir, 'ck') }),
);
const shards = [];
for (let i = 0; i < 4; i++) {
  const db = new ResultsDb(join(dir, `s${i}.db`));
  await runExperiment(spec, { db, runner, pairedP, checkpointDir: join(dir, 'ck'), shard: { index: i, count: 4 } });
  db.close();
  shards.push(join(dir, `s${i}.db`));
}
await time('merge 4 shards (240 runs, ~5300 epochs)', () => mergeDatabases(join(dir, 'merged.db'), shards));
await time('export CSV', () => exportCsv(whole));
await time('report, SVG only', () => writeReport(whole, join(dir, 'r1'), { png: false }));
await time('report, SVG + PNG', () => writeReport(whole, join(dir, 'r2')));
whole.close();
rmSync(dir, { recursive: true, force: true });
