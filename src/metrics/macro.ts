/** Multi-label AUC: the mean of per-label AUCs; a label with one class present is reported missing. */
import { OptionError } from '../errors.js';
import { isArrayLike, rocAuc } from './auc.js';

/** Rows are samples, columns labels; or a flat row-major array with its column count. */
export type Matrix<T> = ArrayLike<T>[] | { data: ArrayLike<T>; cols: number };

export interface MacroAuc {
  /** Mean over the labels that have an AUC; NaN when none has. */
  mean: number;
  /** One entry per label: its AUC, or null when missing (one class only after masking). */
  perLabel: (number | null)[];
  /** Indices of the missing labels. */
  missing: number[];
}

/**
 * `mask` (same shape, optional): false/0 excludes an entry, as does a NaN/null label (e.g. an
 * uncertain CheXpert label left out).
 */
export function macroAuc(
  labels: Matrix<number | boolean | null>,
  scores: Matrix<number>,
  mask?: Matrix<number | boolean>,
): MacroAuc {
  const perLabel = maskedColumns(labels, scores, mask).map(({ labels: lab, scores: sc }, j) => {
    const auc = rocAuc(lab, sc, `labels[:, ${j}]`);
    return Number.isNaN(auc) ? null : auc;
  });
  const present = perLabel.filter((v): v is number => v !== null);
  return {
    mean: present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    perLabel,
    missing: perLabel.flatMap((v, j) => (v === null ? [j] : [])),
  };
}

/** Per label: its labels (masked entries as NaN) and scores, after checking the shapes agree. */
export function maskedColumns(
  labels: Matrix<number | boolean | null>,
  scores: Matrix<number>,
  mask?: Matrix<number | boolean>,
): { labels: (number | boolean | null)[]; scores: number[] }[] {
  const L = columns(labels, 'labels');
  const S = columns(scores, 'scores');
  const shape = `a matrix shaped as labels (${L[0]?.length ?? 0} x ${L.length})`;
  if (S.length !== L.length || S[0]?.length !== L[0]?.length) throw new OptionError('scores', shape, scores);
  const M = mask ? columns(mask, 'mask') : undefined;
  if (M && (M.length !== L.length || M[0]?.length !== L[0]?.length)) throw new OptionError('mask', shape, mask);
  return L.map((col, j) => ({ labels: M ? col.map((v, i) => (M[j][i] ? v : NaN)) : col, scores: S[j] }));
}

/** Column arrays of a matrix given as rows or as { data, cols }. */
function columns<T>(m: Matrix<T>, name: string): T[][] {
  if (Array.isArray(m)) {
    const cols = m.length ? (isArrayLike(m[0]) ? m[0].length : -1) : 0;
    m.forEach((row, i) => {
      if (!isArrayLike(row) || row.length !== cols)
        throw new OptionError(`${name}[${i}]`, `a row of ${cols} values`, row);
    });
    return Array.from({ length: cols }, (_, j) => m.map((row) => (row as ArrayLike<T>)[j]));
  }
  if (m && typeof m === 'object' && isArrayLike((m as { data: unknown }).data)) {
    const { data, cols } = m as { data: ArrayLike<T>; cols: number };
    if (!Number.isInteger(cols) || cols < 1 || data.length % cols !== 0)
      throw new OptionError(`${name}.cols`, `a positive divisor of the data length ${data.length}`, cols);
    const rows = data.length / cols;
    return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => data[i * cols + j]));
  }
  throw new OptionError(name, 'an array of rows or { data, cols }', m);
}
