/**
 * ROC AUC in the Mann-Whitney form: the probability that a random positive scores above a random
 * negative, ties counting one half. Equals scikit-learn's roc_auc_score (trapezoidal ROC area).
 */
import { OptionError } from '../errors.js';

/** Labels: 1/true positive, 0/false negative, NaN/null = masked out (not counted). */
export type LabelLike = ArrayLike<number | boolean | null>;

/** The AUC, or NaN when only one class is present (an AUC does not exist then; never throws). */
export function rocAuc(labels: LabelLike, scores: ArrayLike<number>, name = 'labels'): number {
  const { pos, neg } = splitByClass(labels, scores, name);
  return aucFromClasses(pos, neg);
}

/** Positive and negative scores; masked labels dropped; a non-binary label or NaN score is an error. */
export function splitByClass(
  labels: LabelLike,
  scores: ArrayLike<number>,
  name = 'labels',
): { pos: Float64Array; neg: Float64Array } {
  if (!isArrayLike(labels)) throw new OptionError(name, 'an array of 0/1 labels', labels);
  if (!isArrayLike(scores) || scores.length !== labels.length)
    throw new OptionError('scores', `an array of ${labels.length} scores (as long as ${name})`, scores);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === null || (typeof l === 'number' && Number.isNaN(l))) continue;
    const s = scores[i];
    if (typeof s !== 'number' || Number.isNaN(s)) throw new OptionError(`scores[${i}]`, 'a number', s);
    if (l === 1 || l === true) pos.push(s);
    else if (l === 0 || l === false) neg.push(s);
    else throw new OptionError(`${name}[${i}]`, '0, 1 or NaN (masked)', l);
  }
  return { pos: Float64Array.from(pos), neg: Float64Array.from(neg) };
}

/** AUC from the two score sets by one sort: for each positive, negatives below plus half the ties. */
export function aucFromClasses(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  if (pos.length === 0 || neg.length === 0) return NaN;
  const p = Float64Array.from(pos).sort();
  const n = Float64Array.from(neg).sort();
  let below = 0; // negatives strictly below the current positive
  let wins = 0;
  for (let i = 0; i < p.length;) {
    const v = p[i];
    let j = i;
    while (j < p.length && p[j] === v) j++;
    while (below < n.length && n[below] < v) below++;
    let tie = below;
    while (tie < n.length && n[tie] === v) tie++;
    wins += (j - i) * (below + 0.5 * (tie - below));
    i = j;
  }
  return wins / (p.length * n.length);
}

export function isArrayLike(v: unknown): v is ArrayLike<never> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}
