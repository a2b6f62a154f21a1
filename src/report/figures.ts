/**
 * The report's figures (src/report assembles the page), drawn by the figure builders of src/plot: AUC vs N
 * per arm (aucVsNChart, the paper's Figs 3-8; aucByArmChart, a dot per seed, where every arm runs one N),
 * training curves (trainingCurvesChart), LR finder (lrFinderChart) and the learning-rate schedule actually
 * applied (lineChart).
 */
import { runResult, type EpochRow, type RunRow } from '../experiments/db.js';
import { lineChart } from '../plot/chart.js';
import { aucByArmChart, aucVsNChart, lrFinderChart, trainingCurvesChart, type Arm } from '../plot/figures.js';
import { analyseLrFinder } from '../schedule/lr-finder.js';
import type { ArmSummary } from './data.js';

export interface Figure {
  /** File stem, unique in the report. */
  id: string;
  title: string;
  svg: string;
}

/** The figures of one run: training curves, then schedule and LR finder when stored. */
export interface RunFigure {
  id: string;
  title: string;
  parts: Figure[];
}

/** One figure per stage (or grid) x target: test AUC with TTA vs N, one series per arm. */
export function aucFigure(
  group: string,
  target: string,
  arms: ArmSummary[],
  opts: { simulated?: boolean } = {},
): Figure {
  const named = `${group === 'grid' ? 'Arms' : `Stage ${group}`}: ${target}`;
  const title = opts.simulated ? `SIMULATED phantoms. ${named}` : named;
  return { id: `auc-${slug(group)}-${slug(target)}`, title, svg: aucSvg([{ title, arms }], {}) };
}

/** One figure per figure of the experiment (a paper figure): a panel per target, a line per arm, CI bands. */
/** `simulated`: the experiment ran on phantoms, and the figure says so in its title (it may be shown alone). */
export function paperFigure(figure: string, arms: ArmSummary[], opts: { simulated?: boolean } = {}): Figure {
  const targets = [...new Set(arms.map((a) => a.target))];
  const stage = arms[0]?.group;
  const named = /^\d+$/.test(figure) ? `Fig. ${figure}${stage && stage !== 'grid' ? `: ${stage}` : ''}` : figure;
  const title = opts.simulated ? `SIMULATED phantoms. ${named}` : named;
  const panels = targets.map((t) => ({ title: t, arms: arms.filter((a) => a.target === t) }));
  return { id: `figure-${slug(figure)}`, title, svg: aucSvg(panels, { title, columns: Math.min(2, panels.length) }) };
}

/**
 * Panels of arms: a dot per seed per arm when every arm runs one N (a line over one N says nothing),
 * otherwise a line over N per arm with its CI band.
 */
function aucSvg(panels: { title: string; arms: ArmSummary[] }[], opts: { title?: string; columns?: number }): string {
  const n = singleN(panels.flatMap((p) => p.arms));
  if (n !== undefined)
    return aucByArmChart(
      panels.map((p) => ({ title: p.title, arms: p.arms.map((a) => ({ name: a.name, values: seedValues(a, n) })) })),
      { n, ...opts },
    );
  return aucVsNChart(
    panels.map((p) => ({
      title: p.title,
      arms: p.arms.map((a): Arm => ({ name: a.name, n: a.nGrid, auc: a.aucTta, ...ciBand(a) })),
    })),
    opts,
  );
}

/** The one training-set size every arm runs, if they run just one. */
function singleN(arms: ArmSummary[]): number | undefined {
  const sizes = new Set(arms.flatMap((a) => a.nGrid));
  return sizes.size === 1 ? [...sizes][0] : undefined;
}

/** Each done seed's test AUC (TTA when stored) at N = n. */
function seedValues(a: ArmSummary, n: number): number[] {
  return a.runs.filter((r) => r.status === 'done' && r.n === n).map((r) => r.test_auc_tta ?? r.test_auc ?? NaN);
}

/**
 * A 95% band per N when the runs carry one: the runner's bootstrap CI of the test AUC (testAucCi),
 * averaged over seeds; NaN where an N lacks it.
 */
function ciBand(a: ArmSummary): { lo?: number[]; hi?: number[] } {
  const cis = a.nGrid.map((n) =>
    a.runs
      .filter((r) => r.status === 'done' && r.n === n)
      .map((r) => (runResult(r) as { testAucCi?: [number, number] }).testAucCi)
      .filter((c): c is [number, number] => Array.isArray(c)),
  );
  if (cis.every((c) => c.length === 0)) return {};
  const avg = (c: [number, number][], k: 0 | 1) => (c.length ? c.reduce((s, x) => s + x[k], 0) / c.length : NaN);
  return { lo: cis.map((c) => avg(c, 0)), hi: cis.map((c) => avg(c, 1)) };
}

export function runFigure(run: RunRow, epochs: EpochRow[], label: string): RunFigure {
  const id = `run-${run.key.slice(0, 12)}`;
  const r = runResult(run);
  const num = (v: number | null) => (v === null ? NaN : v);
  const parts: Figure[] = [
    {
      id,
      title: label,
      svg: trainingCurvesChart(
        {
          x: epochs.map((e) => e.epoch),
          trainLoss: epochs.map((e) => num(e.train_loss)),
          valLoss: epochs.map((e) => num(e.val_loss)),
          ...(epochs.some((e) => e.val_auc !== null) ? { valAuc: epochs.map((e) => num(e.val_auc)) } : {}),
          ...(r.bestEpoch !== undefined ? { best: r.bestEpoch } : {}),
        },
        { title: label },
      ),
    },
  ];
  if (r.schedule && r.schedule.step.length) {
    parts.push({
      id: `${id}-schedule`,
      title: `${label}: schedule`,
      svg: lineChart({
        title: 'Learning rate applied',
        x: { label: 'optimiser step' },
        y: { label: 'learning rate', log: true },
        series: [{ name: 'lr', x: r.schedule.step, y: r.schedule.lr }],
        legend: 'none',
      }),
    });
  }
  if (r.lrFinder && r.lrFinder.lr.length) {
    parts.push({
      id: `${id}-lr-finder`,
      title: `${label}: LR finder`,
      svg: lrFinderChart(analyseLrFinder(r.lrFinder.lr, r.lrFinder.loss), 'Learning-rate finder'),
    });
  }
  return { id, title: label, parts };
}

export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}
