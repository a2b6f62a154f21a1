/**
 * Gathers what a report shows from a results database: per experiment, the planned arms (stage,
 * name, target) with their done runs, AUC per N, stage decisions and pairwise paired t-tests.
 */
import { compareOverGrid, pairedTTest } from '../stats/index.js';
import { runResult, type ResultsDb, type RunRow } from '../experiments/db.js';
import { pairedP } from '../experiments/paired.js';
import { planExperiment, type StageOutcome } from '../experiments/plan.js';
import { doneLookup } from '../experiments/run.js';
import { storedSpec } from '../experiments/spec.js';
import type { ExperimentSpec } from '../experiments/types.js';
import { usesPhantoms } from './phantoms.js';

export interface ArmSummary {
  /** Stage name, or 'grid'. */
  group: string;
  /** The figure the arm is drawn in (a paper figure's number, or the stage's name). */
  figure: string;
  /** The max LR its runs trained with: tuned once at the largest N and reused (null when not stored). */
  maxLr: number | null;
  /** How that max LR was chosen: 'found' by the LR finder (and its rule), or 'given' in the spec. */
  maxLrFrom: { mode: 'found'; rule: string } | { mode: 'given' } | null;
  name: string;
  target: string;
  /** The sizes this arm runs: the spec's grid, or its stage's own. */
  nGrid: number[];
  /** Mean over done seeds per N (NaN where none done / no AUC). */
  auc: number[];
  aucTta: number[];
  /** Number of done runs per N. */
  done: number[];
  runs: RunRow[];
  armJson: string;
  /** Per-label test AUC (TTA when stored) at the largest N with done runs, averaged over seeds. */
  perLabel?: { n: number; labels: string[]; auc: number[] };
}

export interface PairTest {
  group: string;
  target: string;
  a: string;
  b: string;
  metric: 'testAucTta';
  meanDiff: number;
  p: number;
  pairs: number;
  /** 'n': pairs are the arms' means over seeds per N (the paper's test); 'n-seed': one pair per (N, seed) run. */
  over: 'n' | 'n-seed';
}

export interface ExperimentReport {
  spec: ExperimentSpec;
  arms: ArmSummary[];
  outcomes: StageOutcome[];
  tests: PairTest[];
  /** The source tasks the current spec plans (their own held-out AUC judges them). */
  sources: RunRow[];
  /** Every run of the experiment (provenance table). */
  runs: RunRow[];
  /** Runs of the current plan that failed (listed apart; never counted in any mean or test). */
  failed: RunRow[];
  /**
   * Runs in the database that the current spec no longer plans (an earlier version of it): listed apart, never counted.
   */
  superseded: RunRow[];
  /** Trained on torchxfer's simulated phantoms (by the spec's datasets or the runs' own record). */
  simulated: boolean;
  versions: Record<string, string[]>;
  counts: Record<string, number>;
}

function meanOf(xs: (number | null)[]): number {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

export function experimentReport(db: ResultsDb, name: string): ExperimentReport {
  const row = db.experiments().find((e) => e.name === name);
  if (!row) throw new Error(`No experiment named '${name}' in ${db.path}`);
  const spec = storedSpec(row.spec_json, `${db.path}: experiment '${name}'`);
  const plan = planExperiment(spec, doneLookup(db), pairedP);
  const arms: ArmSummary[] = plan.arms.map((a) => {
    const rows = a.jobs.map((j) => db.run(j.key)).filter((r): r is RunRow => r !== undefined);
    const done = rows.filter((r) => r.status === 'done');
    const at = (n: number) => done.filter((r) => r.n === n);
    const grid = [...new Set(a.jobs.map((j) => j.n as number))].sort((x, y) => x - y);
    const largestDone = done.filter((r) => r.n === grid[grid.length - 1]);
    const largest = largestDone.map((r) => runResult(r).maxLr).find((v) => typeof v === 'number');
    const rule = largestDone.map((r) => runResult(r).lrRule).find((v) => typeof v === 'string');
    const radiomics = a.arm.method === 'radiomics';
    return {
      group: a.stage ?? 'grid',
      figure: a.figure,
      maxLr: radiomics ? null : (largest ?? null),
      maxLrFrom: radiomics
        ? null
        : a.arm.maxLr === 'auto'
          ? { mode: 'found', rule: rule ?? 'a rule these runs did not record' }
          : { mode: 'given' },
      name: a.name,
      target: a.target,
      nGrid: grid,
      auc: grid.map((n) => meanOf(at(n).map((r) => r.test_auc))),
      aucTta: grid.map((n) => meanOf(at(n).map((r) => r.test_auc_tta ?? r.test_auc))),
      done: grid.map((n) => at(n).length),
      runs: rows,
      armJson: JSON.stringify(a.arm),
      perLabel: perLabelAt(done),
    };
  });
  const tests: PairTest[] = [];
  for (const key of new Set(arms.map((a) => `${a.group}\u0000${a.target}`))) {
    const [group, target] = key.split('\u0000') as [string, string];
    const mine = arms.filter((a) => a.group === group && a.target === target);
    for (let i = 0; i < mine.length; i++) {
      for (let j = i + 1; j < mine.length; j++) {
        const finite = (a: ArmSummary) => {
          const k = a.nGrid.map((_, i) => i).filter((i) => Number.isFinite(a.aucTta[i]));
          return { n: k.map((i) => a.nGrid[i]!), value: k.map((i) => a.aucTta[i]!) };
        };
        const c = compareOverGrid(finite(mine[i]!), finite(mine[j]!));
        const t = { p: c.p, meanDiff: c.meanDiff };
        const x = c.pairedN;
        // Over N only where the stage has several sizes: one N makes one pair, never a test.
        if (mine[i]!.nGrid.length > 1)
          tests.push({
            group,
            target,
            a: mine[i]!.name,
            b: mine[j]!.name,
            metric: 'testAucTta',
            meanDiff: t.meanDiff,
            p: t.p,
            pairs: x.length,
            over: 'n',
          });
        if (spec.seeds.length > 1)
          tests.push({
            group,
            target,
            a: mine[i]!.name,
            b: mine[j]!.name,
            metric: 'testAucTta',
            ...pairedOverRuns(mine[i]!, mine[j]!),
            over: 'n-seed',
          });
      }
    }
  }
  const runs = db.runs(name);
  const versions: Record<string, string[]> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(
      r.versions_json ? (JSON.parse(r.versions_json) as Record<string, string>) : {},
    )) {
      versions[k] = [...new Set([...(versions[k] ?? []), v])];
    }
  }
  const planned = new Set([...plan.sources, ...plan.arms.flatMap((a) => a.jobs)].map((j) => j.key));
  const current = runs.filter((r) => planned.has(r.key));
  const counts: Record<string, number> = {};
  for (const r of current) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const simulated = usesPhantoms(spec) || runs.some((r) => runResult(r).simulated === true);
  return {
    spec,
    arms,
    outcomes: plan.outcomes,
    tests,
    sources: current.filter((r) => r.kind === 'source'),
    runs: current,
    versions,
    counts,
    failed: current.filter((r) => r.status === 'failed'),
    superseded: runs.filter((r) => !planned.has(r.key)),
    simulated,
  };
}

/** Paired t-test over the (N, seed) cells both arms have done: seeds are repeats, so each is a pair. */
function pairedOverRuns(a: ArmSummary, b: ArmSummary): { meanDiff: number; p: number; pairs: number } {
  const cells = (arm: ArmSummary) =>
    new Map(
      arm.runs
        .filter((r) => r.status === 'done' && r.n !== null)
        .map((r) => [`${r.n}:${r.seed}`, r.test_auc_tta ?? r.test_auc]),
    );
  const ca = cells(a);
  const cb = cells(b);
  const keys = [...ca.keys()].filter((k) => typeof ca.get(k) === 'number' && typeof cb.get(k) === 'number');
  const x = keys.map((k) => ca.get(k)!);
  const y = keys.map((k) => cb.get(k)!);
  const meanDiff = keys.length ? x.reduce((s, v, i) => s + v - y[i]!, 0) / keys.length : NaN;
  return { meanDiff, p: keys.length >= 2 ? pairedTTest(x, y).p : NaN, pairs: keys.length };
}

function perLabelAt(done: RunRow[]): ArmSummary['perLabel'] {
  const withLabels = done.filter((r) => r.per_label_json && r.n !== null);
  if (!withLabels.length) return undefined;
  const n = Math.max(...withLabels.map((r) => r.n!));
  const maps = withLabels
    .filter((r) => r.n === n)
    .map((r) => {
      const p = JSON.parse(r.per_label_json!) as {
        auc: Record<string, number | null> | null;
        aucTta: Record<string, number | null> | null;
      };
      return p.aucTta ?? p.auc ?? {};
    });
  const labels = [...new Set(maps.flatMap((m) => Object.keys(m)))];
  if (labels.length < 2) return undefined;
  return { n, labels, auc: labels.map((l) => meanOf(maps.map((m) => m[l] ?? null))) };
}
