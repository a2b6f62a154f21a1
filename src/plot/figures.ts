/** Ready-made figures over lineChart/panels: AUC vs N per arm (the paper's Figs. 3-8), training curves. */
import { panels, type ChartSpec, type SeriesSpec } from './chart.js';

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
export function aucVsNChart(panelsSpec: AucPanel[], opts: { title?: string; columns?: number; logN?: boolean } = {}): string {
  const charts: ChartSpec[] = panelsSpec.map((p) => {
    const all = p.arms.flatMap((a) => [...a.auc, ...(a.lo ?? [])]).filter(Number.isFinite);
    const min = Math.min(0.5, Math.floor(Math.min(...all, 1) * 10) / 10);
    return {
      title: p.title,
      x: { label: 'training set size N', log: opts.logN },
      y: { label: 'test AUC', min, max: 1 },
      legend: 'bottom-right',
      series: p.arms.map(
        (a): SeriesSpec => ({ name: a.name, x: a.n, y: a.auc, band: a.lo && a.hi ? { lo: a.lo, hi: a.hi } : undefined, points: true, dash: a.dash, color: a.color }),
      ),
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
  const charts: ChartSpec[] = [{ title: 'Loss', x: { label: xLabel }, y: { label: 'BCE loss' }, series: loss, markers }];
  if (h.valAuc) charts.push({ title: 'Validation AUC', x: { label: xLabel }, y: { label: 'AUC' }, series: [{ name: 'validation AUC', x: h.x, y: h.valAuc, points: true }], markers, legend: 'bottom-right' });
  return panels(charts, { title: opts.title, columns: charts.length });
}
