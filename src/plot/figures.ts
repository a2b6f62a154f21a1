/**
 * Every figure torchxfer draws, built over lineChart/panels: AUC vs N per arm (the paper's Figs. 3-8),
 * training curves, the LR finder's curve, and LR/momentum schedules per layer group (Figs. 1 and 2).
 */
import type { ScheduleTable } from '../schedule/strategy.js';
import type { LrFinderCurve } from '../schedule/lr-finder.js';
import { lineChart, panels, type ChartSpec, type SeriesSpec } from './chart.js';
import { PALETTE } from './svg.js';

export interface Arm {
  name: string;
  /** Training-set sizes. */
  n: number[];
  auc: number[];
  /** Optional 95% CI per point (NaN where absent). */
  lo?: number[];
  hi?: number[];
  dash?: boolean | string;
  color?: string;
}

export interface AucPanel {
  /** The target, e.g. 'Emphysema'. */
  title: string;
  arms: Arm[];
}

/** One panel per target, one line per arm with its CI band, AUC on [0.5, 1] unless data go lower. */
export function aucVsNChart(
  panelsSpec: AucPanel[],
  opts: { title?: string; columns?: number; logN?: boolean } = {},
): string {
  const charts: ChartSpec[] = panelsSpec.map((p) => {
    const all = p.arms.flatMap((a) => [...a.auc, ...(a.lo ?? [])]).filter(Number.isFinite);
    const min = Math.min(0.5, Math.floor(Math.min(...all, 1) * 10) / 10);
    return {
      title: p.title,
      x: { label: 'training set size N', log: opts.logN },
      y: { label: 'test AUC', min, max: 1 },
      legend: 'bottom-right',
      series: p.arms.map((a): SeriesSpec => ({
        name: a.name,
        x: a.n,
        y: a.auc,
        band: a.lo && a.hi ? { lo: a.lo, hi: a.hi } : undefined,
        points: true,
        dash: a.dash,
        color: a.color,
      })),
    };
  });
  return panels(charts, { title: opts.title, columns: opts.columns ?? Math.min(2, charts.length) });
}

export interface ArmRuns {
  name: string;
  /** One test AUC per repeat (seed). */
  values: number[];
  color?: string;
}

export interface ArmRunsPanel {
  title: string;
  arms: ArmRuns[];
}

/**
 * AUC at one training-set size: an arm per slot, a dot per seed joined by its range, a bar at the mean.
 * With one N a line over N says nothing; the spread over seeds is what a reader weighs a difference by.
 */
export function aucByArmChart(
  panelsSpec: ArmRunsPanel[],
  opts: { n: number; title?: string; columns?: number },
): string {
  const charts: ChartSpec[] = panelsSpec.map((p) => {
    const all = p.arms.flatMap((a) => a.values).filter(Number.isFinite);
    const min = Math.min(0.5, Math.floor(Math.min(...all, 1) * 10) / 10);
    const series = p.arms.flatMap((a, k): SeriesSpec[] => {
      const color = a.color ?? PALETTE[k % PALETTE.length];
      const seeds = a.values.filter(Number.isFinite).sort((x, y) => x - y);
      const mean = seeds.length ? seeds.reduce((s, v) => s + v, 0) / seeds.length : NaN;
      return [
        { name: '', x: seeds.map(() => k), y: seeds, points: true, color, width: 1.2 },
        { name: '', x: [k - 0.2, k + 0.2], y: [mean, mean], color, width: 3.5 },
      ];
    });
    return {
      title: p.title,
      x: { label: `N = ${opts.n}: a dot per seed, a bar at the mean`, categories: p.arms.map((a) => a.name) },
      y: { label: 'test AUC', min, max: 1 },
      legend: 'none',
      series,
    };
  });
  return panels(charts, { title: opts.title, columns: opts.columns ?? Math.min(2, charts.length) });
}

export interface History {
  /** Epoch (or step) numbers. */
  x: number[];
  trainLoss?: number[];
  valLoss?: number[];
  valAuc?: number[];
  /** Where the kept checkpoint is (lowest validation loss). */
  best?: number;
}

/** Loss curves (train/validation) and, when given, validation AUC beside them. */
export function trainingCurvesChart(h: History, opts: { title?: string; xLabel?: string } = {}): string {
  const markers = h.best !== undefined ? [{ x: h.best, label: 'best', color: '#2ca02c' }] : [];
  const xLabel = opts.xLabel ?? 'epoch';
  const loss: SeriesSpec[] = [];
  if (h.trainLoss) loss.push({ name: 'train loss', x: h.x, y: h.trainLoss });
  if (h.valLoss) loss.push({ name: 'validation loss', x: h.x, y: h.valLoss, dash: true });
  const charts: ChartSpec[] = [
    { title: 'Loss', x: { label: xLabel }, y: { label: 'BCE loss' }, series: loss, markers },
  ];
  if (h.valAuc)
    charts.push({
      title: 'Validation AUC',
      x: { label: xLabel },
      y: { label: 'AUC' },
      series: [{ name: 'validation AUC', x: h.x, y: h.valAuc, points: true }],
      markers,
      legend: 'bottom-right',
    });
  return panels(charts, { title: opts.title, columns: charts.length });
}

/** The loss vs LR curve on a log axis, with the suggestions marked. */
export function lrFinderChart(curve: LrFinderCurve, title = 'Learning-rate finder'): string {
  const s = curve.suggestions;
  const fmt = (v: number) => v.toPrecision(2);
  const markers = s
    ? [
        { x: s.min.lr, label: `min ${fmt(s.min.lr)}`, color: '#d62728' },
        { x: s.minDiv10, label: `min/10 ${fmt(s.minDiv10)}`, color: '#9467bd' },
        { x: s.valley.lr, label: `valley ${fmt(s.valley.lr)}`, color: '#2ca02c' },
      ]
    : [];
  const finite = curve.smoothed.filter(Number.isFinite);
  // Clip the exploding tail so the useful part of the curve keeps the vertical range.
  const yMax = finite.length ? Math.min(Math.max(...finite), 4 * Math.min(...finite) + 1e-12) : undefined;
  return lineChart({
    title,
    x: { label: 'learning rate', log: true },
    y: {
      label: 'loss',
      ...(yMax !== undefined && finite.length > 1 ? { min: Math.min(0, Math.min(...finite)), max: yMax } : {}),
    },
    series: [
      { name: 'loss', x: curve.lrs, y: curve.losses, color: '#bbbbbb', width: 1 },
      { name: 'smoothed loss', x: curve.lrs, y: curve.smoothed, color: '#0072B2' },
    ],
    markers,
    legend: 'top-left',
  });
}

/** The paper's Figs. 1 and 2: LR and momentum vs iteration per layer group, unfreezing marked. */
export function scheduleChart(table: ScheduleTable, title?: string): string {
  const x = Array.from({ length: table.steps }, (_, i) => i);
  // A frozen group's values are not applied: leave that stretch of its line out.
  const onlyTrainable = (v: number[], g: number) => v.map((y, i) => (table.groups[g].trainable[i] ? y : NaN));
  const markers = table.unfreeze.map((u) => ({ x: u.step, label: `group ${u.group}` }));
  const series = (key: 'lr' | 'momentum') =>
    table.groups.map((grp, g) => ({
      name: `group ${g + 1}${g === 2 ? ' (head)' : ''}`,
      x,
      y: onlyTrainable(grp[key], g),
      dash: g === 0 ? '2 3' : g === 1 ? '7 4' : undefined,
      step: true,
    }));
  return panels(
    [
      {
        title: 'Learning rate',
        x: { label: 'iteration' },
        y: { label: 'learning rate' },
        series: series('lr'),
        markers,
      },
      {
        title: 'Momentum',
        x: { label: 'iteration' },
        y: { label: 'momentum' },
        series: series('momentum'),
        markers,
        legend: 'bottom-right',
      },
    ],
    { title, columns: 2 },
  );
}
