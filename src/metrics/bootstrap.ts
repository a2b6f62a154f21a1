/**
 * Bootstrap confidence interval of an AUC: stratified (positives resampled among positives,
 * negatives among negatives, so every replicate has both classes), seeded, percentile interval.
 */
import { quantile } from '../stats/describe.js';
import { mulberry32 } from '../random.js';
import { expectInteger, expectNumber } from '../validate.js';
import { aucFromClasses, splitByClass, type LabelLike } from './auc.js';
import { macroAuc, maskedColumns, type Matrix } from './macro.js';

export interface BootstrapOptions {
  /** Number of replicates (1000). */
  replicates?: number;
  /** Interval level (0.95). */
  level?: number;
  seed?: number;
}

export interface AucInterval {
  auc: number;
  lo: number;
  hi: number;
  level: number;
  replicates: number;
}

function options(opts: BootstrapOptions): { B: number; level: number; seed: number } {
  return {
    B: expectInteger(opts.replicates ?? 1000, 'replicates', 1, 1e7),
    level: expectNumber(opts.level ?? 0.95, 'level', 0, 1, { exclusiveMin: true }),
    seed: expectInteger(opts.seed ?? 0, 'seed', 0, 2 ** 32 - 1),
  };
}

export function bootstrapAucCi(labels: LabelLike, scores: ArrayLike<number>, opts: BootstrapOptions = {}): AucInterval {
  const { B, level, seed } = options(opts);
  const { pos, neg } = splitByClass(labels, scores);
  const auc = aucFromClasses(pos, neg);
  if (Number.isNaN(auc)) return { auc, lo: NaN, hi: NaN, level, replicates: B };
  // Rank all scores once; a replicate is then a count per tied group, and its AUC one O(n) pass.
  const all = [...Array.from(pos, (s) => ({ s, pos: true })), ...Array.from(neg, (s) => ({ s, pos: false }))].sort(
    (a, b) => a.s - b.s,
  );
  const group = new Int32Array(all.length);
  let g = -1;
  all.forEach((e, i) => (group[i] = i > 0 && all[i - 1].s === e.s ? g : ++g));
  const posIdx = all.flatMap((e, i) => (e.pos ? [i] : []));
  const negIdx = all.flatMap((e, i) => (e.pos ? [] : [i]));
  const nGroups = g + 1;
  const posCount = new Float64Array(nGroups);
  const negCount = new Float64Array(nGroups);
  const rand = mulberry32(seed);
  const values = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    posCount.fill(0);
    negCount.fill(0);
    for (let k = 0; k < posIdx.length; k++) posCount[group[posIdx[Math.floor(rand() * posIdx.length)]]]++;
    for (let k = 0; k < negIdx.length; k++) negCount[group[negIdx[Math.floor(rand() * negIdx.length)]]]++;
    let negBelow = 0;
    let wins = 0;
    for (let k = 0; k < nGroups; k++) {
      wins += posCount[k] * (negBelow + 0.5 * negCount[k]);
      negBelow += negCount[k];
    }
    values[b] = wins / (posIdx.length * negIdx.length);
  }
  const alpha = (1 - level) / 2;
  return { auc, lo: quantile(values, alpha), hi: quantile(values, 1 - alpha), level, replicates: B };
}

/**
 * Bootstrap CI of the macro AUC of a multi-label problem: rows (images) resampled with replacement,
 * keeping the labels of an image together; in a replicate, a label left with one class is skipped
 * in that replicate's mean. Replicates with no label left are dropped.
 */
export function bootstrapMacroAucCi(
  labels: Matrix<number | boolean | null>,
  scores: Matrix<number>,
  mask?: Matrix<number | boolean>,
  opts: BootstrapOptions = {},
): AucInterval {
  const { B, level, seed } = options(opts);
  const auc = macroAuc(labels, scores, mask).mean;
  if (Number.isNaN(auc)) return { auc, lo: NaN, hi: NaN, level, replicates: 0 };
  const cols = maskedColumns(labels, scores, mask);
  const rows = cols[0].scores.length;
  // Per label, its unmasked entries sorted by score, with the first entry of each tie group marked.
  const ranked = cols.map(({ labels: lab, scores: sc }) => {
    const idx = Array.from({ length: rows }, (_, i) => i).filter(
      (i) => lab[i] === 1 || lab[i] === true || lab[i] === 0 || lab[i] === false,
    );
    idx.sort((a, b) => sc[a] - sc[b]);
    return {
      row: Int32Array.from(idx),
      pos: Uint8Array.from(idx, (i) => (lab[i] === 1 || lab[i] === true ? 1 : 0)),
      newGroup: Uint8Array.from(idx, (i, k) => (k === 0 || sc[idx[k - 1]] !== sc[i] ? 1 : 0)),
    };
  });
  const weight = new Float64Array(rows);
  const rand = mulberry32(seed);
  const values: number[] = [];
  for (let b = 0; b < B; b++) {
    weight.fill(0);
    for (let k = 0; k < rows; k++) weight[Math.floor(rand() * rows)]++;
    let total = 0;
    let present = 0;
    for (const r of ranked) {
      let negBelow = 0; // resampled negatives in earlier tie groups
      let gPos = 0;
      let gNeg = 0;
      let P = 0;
      let wins = 0;
      for (let k = 0; k <= r.row.length; k++) {
        if (k === r.row.length || r.newGroup[k]) {
          wins += gPos * (negBelow + 0.5 * gNeg);
          negBelow += gNeg;
          P += gPos;
          gPos = 0;
          gNeg = 0;
          if (k === r.row.length) break;
        }
        if (r.pos[k]) gPos += weight[r.row[k]];
        else gNeg += weight[r.row[k]];
      }
      if (P > 0 && negBelow > 0) {
        total += wins / (P * negBelow);
        present++;
      }
    }
    if (present > 0) values.push(total / present);
  }
  const alpha = (1 - level) / 2;
  return { auc, lo: quantile(values, alpha), hi: quantile(values, 1 - alpha), level, replicates: values.length };
}
