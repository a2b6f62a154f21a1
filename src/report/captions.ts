/**
 * Captions that say what a figure shows: which arms, on which targets, what each line (or dot), bar
 * and band is, at which N, over how many seeds, on which test set, and which test compares them.
 * Table I of this run beside the paper's (positives per partition of each binary target).
 */
import { runResult } from '../experiments/db.js';
import type { ArmSummary, ExperimentReport } from './data.js';

const list = (xs: (string | number)[]) =>
  xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

/** Test-set size and positives of a target, from its runs' records. */
function testSetWords(arms: ArmSummary[], target: string): string {
  for (const a of arms.filter((x) => x.target === target)) {
    for (const run of a.runs) {
      const e = runResult(run).evalSizes;
      if (e) return `${target}: ${e.test} test images (${e.testPositives} positive)`;
    }
  }
  return `${target}: test set size not recorded`;
}

/** The caption of a figure drawn from these arms (one panel per target). */
export function figureCaption(
  figure: string,
  arms: ArmSummary[],
  r: Pick<ExperimentReport, 'spec' | 'simulated'>,
): string {
  const targets = [...new Set(arms.map((a) => a.target))];
  const names = [...new Set(arms.map((a) => a.name))];
  const grid = [...new Set(arms.flatMap((a) => a.nGrid))].sort((a, b) => a - b);
  const seeds = r.spec.seeds.length;
  const stage = arms[0]?.group;
  const head = /^\d+$/.test(figure) ? `Fig. ${figure}${stage && stage !== 'grid' ? ` (${stage})` : ''}.` : `${figure}.`;
  const what = `${r.simulated ? 'SIMULATED phantoms. ' : ''}Test AUC with test-time augmentation of ${list(names)} on ${list(targets)} (a panel per target).`;
  const how =
    grid.length === 1
      ? `All at N = ${grid[0]}: a dot per seed (${seeds} seed${seeds === 1 ? '' : 's'}), a bar at their mean.`
      : `Against the training-set size N (${list(grid)}): each line is an arm's mean over ${seeds} seed${seeds === 1 ? '' : 's'} at each N; the band is the 95% bootstrap interval of the test AUC over the test images, averaged over seeds.`;
  const tests =
    grid.length > 1
      ? "The tables below compare every pair of arms by paired two-sided t-tests over N (seed means; the paper's test)" +
        (seeds > 1 ? ' and over every (N, seed) run.' : '.')
      : seeds > 1
        ? "The tables below compare every pair of arms by paired two-sided t-tests over the seeds' runs."
        : 'One run per arm: no test is possible.';
  const from = [
    ...new Set(
      arms.filter((a) => a.name !== 'radiomics').map((a) => (JSON.parse(a.armJson) as { source?: string }).source),
    ),
  ];
  const start =
    names.length > 1 && from.length === 1 && from[0] && from[0] !== 'none'
      ? ` Every arm starts from the source model ${from[0]}.`
      : '';
  return `${head} ${what}${start} ${how} Test sets: ${targets.map((t) => testSetWords(arms, t)).join('; ')}. ${tests}`;
}

export interface Table1Row {
  target: string;
  partition: 'training' | 'validation' | 'testing';
  thisRun: number | null;
  /** The paper's Table I, for the paper's own targets only. */
  paper: number | null;
}

/** Table I of the paper: positives per partition (binary NIH targets). */
const PAPER_TABLE_1: Record<string, [number, number, number]> = {
  Emphysema: [1272, 151, 1093],
  Hernia: [121, 20, 86],
  Pneumonia: [779, 55, 97],
};

/** The paper's label of a target when it is one of the paper's binary NIH tasks, else undefined. */
function paperLabel(r: ExperimentReport, target: string): string | undefined {
  const t = r.spec.targets.find((x) => x.name === target) as
    ({ label?: string } & ExperimentReport['spec']['targets'][number]) | undefined;
  const label = t?.label ?? (t?.labels?.length === 1 ? t.labels[0] : undefined);
  return t?.dataset === 'nih' && !r.simulated && label !== undefined && PAPER_TABLE_1[label] ? label : undefined;
}

/** Positives per partition of every binary target, this run's beside the paper's where the paper had the task. */
export function table1(r: ExperimentReport): Table1Row[] {
  const rows: Table1Row[] = [];
  for (const target of [...new Set(r.arms.map((a) => a.target))]) {
    const results = r.arms
      .filter((a) => a.target === target)
      .flatMap((a) => a.runs.filter((x) => x.status === 'done').map(runResult));
    const labels = (results.map((x) => Object.keys(x.perLabelAuc ?? {})).find((l) => l.length) ?? []).length;
    if (labels > 1) continue;
    const e = results.map((x) => x.evalSizes).find((v) => v !== undefined);
    const pool = results.map((x) => x.counts?.poolPositives).find((v) => typeof v === 'number');
    const paper = paperLabel(r, target);
    const values = [pool ?? null, e?.valPositives ?? null, e?.testPositives ?? null];
    (['training', 'validation', 'testing'] as const).forEach((partition, i) =>
      rows.push({ target, partition, thisRun: values[i]!, paper: paper ? PAPER_TABLE_1[paper]![i]! : null }),
    );
  }
  return rows;
}
