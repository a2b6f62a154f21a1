/** The report's figures (through src/plot): AUC vs N per arm (the paper's Figs 3-8), training curves, schedule, LR finder. */
import { lineChart, panels, type ChartSpec, type SeriesSpec } from '../plot/index.js';
import type { EpochRow, RunRow } from '../experiments/db.js';
import { runResult, type ArmSummary } from './data.js';

export interface Figure {
  /** File stem, unique in the report. */
  id: string;
  title: string;
  svg: string;
}

/** One figure per stage (or grid) x target: test AUC with TTA vs N, one series per arm. */
export function aucFigure(group: string, target: string, arms: ArmSummary[]): Figure {
  const series: SeriesSpec[] = arms.map((a) => {
    const band = ciBand(a);
    return { name: a.name, x: a.nGrid, y: a.aucTta, points: true, ...(band ? { band } : {}) };
  });
  const title = `${group === 'grid' ? 'Arms' : `Stage ${group}`}: ${target}`;
  const spec: ChartSpec = { title, x: { label: 'Training images (N)' }, y: { label: 'Test AUC (TTA)' }, series, legend: 'bottom-right' };
  return { id: `auc-${slug(group)}-${slug(target)}`, title, svg: lineChart(spec) };
}

/**
 * A 95% band per N when the runs carry one: the runner's bootstrap CI of the test AUC (testAucCi),
 * averaged over seeds. None when any N lacks it.
 */
function ciBand(a: ArmSummary): { lo: number[]; hi: number[] } | undefined {
  const lo: number[] = [];
  const hi: number[] = [];
  for (const n of a.nGrid) {
    const cis = a.runs
      .filter((r) => r.status === 'done' && r.n === n)
      .map((r) => (runResult(r) as { testAucCi?: [number, number] }).testAucCi)
      .filter((c): c is [number, number] => Array.isArray(c));
    if (!cis.length) return undefined;
    lo.push(cis.reduce((s, c) => s + c[0], 0) / cis.length);
    hi.push(cis.reduce((s, c) => s + c[1], 0) / cis.length);
  }
  return { lo, hi };
}

/** Training curves of one run (train/val loss per epoch), with its schedule and LR-finder curve when stored. */
export function runFigure(run: RunRow, epochs: EpochRow[], label: string): Figure {
  const e = epochs.map((x) => x.epoch);
  const charts: ChartSpec[] = [
    {
      title: 'Loss per epoch',
      x: { label: 'Epoch' },
      y: { label: 'Loss' },
      series: [
        { name: 'train', x: e, y: epochs.map((x) => x.train_loss ?? NaN), points: true },
        { name: 'validation', x: e, y: epochs.map((x) => x.val_loss ?? NaN), points: true },
      ],
      width: 420,
      height: 300,
    },
  ];
  const r = runResult(run);
  if (r.schedule && r.schedule.step.length) {
    charts.push({ title: 'Learning-rate schedule', x: { label: 'Step' }, y: { label: 'LR', log: true }, series: [{ name: 'lr', x: r.schedule.step, y: r.schedule.lr }], legend: 'none', width: 420, height: 300 });
  }
  if (r.lrFinder && r.lrFinder.lr.length) {
    charts.push({
      title: 'LR finder',
      x: { label: 'Learning rate', log: true },
      y: { label: 'Loss' },
      series: [{ name: 'loss', x: r.lrFinder.lr, y: r.lrFinder.loss }],
      markers: r.lrFinder.chosen ? [{ x: r.lrFinder.chosen, label: 'chosen' }] : [],
      legend: 'none',
      width: 420,
      height: 300,
    });
  }
  return { id: `run-${run.key.slice(0, 12)}`, title: label, svg: panels(charts, { title: label }) };
}

export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}
