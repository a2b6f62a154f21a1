/**
 * Bootstrap confidence interval of an AUC: stratified (positives resampled among positives,
 * negatives among negatives, so every replicate has both classes), seeded, percentile interval.
 */
import { quantile } from '../stats/describe.js';
import { seededRandom } from '../stats/random.js';
import { expectInteger, expectNumber } from '../validate.js';
import { aucFromClasses, splitByClass, type LabelLike } from './auc.js';

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

export function bootstrapAucCi(labels: LabelLike, scores: ArrayLike<number>, opts: BootstrapOptions = {}): AucInterval {
  const B = expectInteger(opts.replicates ?? 1000, 'replicates', 1, 1e7);
  const level = expectNumber(opts.level ?? 0.95, 'level', 0, 1, { exclusiveMin: true });
  const seed = expectInteger(opts.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
  const { pos, neg } = splitByClass(labels, scores);
  const auc = aucFromClasses(pos, neg);
  if (Number.isNaN(auc)) return { auc, lo: NaN, hi: NaN, level, replicates: B };
  // Rank all scores once; a replicate is then a count per tied group, and its AUC one O(n) pass.
  const all = [...Array.from(pos, (s) => ({ s, pos: true })), ...Array.from(neg, (s) => ({ s, pos: false }))].sort((a, b) => a.s - b.s);
  const group = new Int32Array(all.length);
  let g = -1;
  all.forEach((e, i) => (group[i] = i > 0 && all[i - 1].s === e.s ? g : ++g));
  const posIdx = all.flatMap((e, i) => (e.pos ? [i] : []));
  const negIdx = all.flatMap((e, i) => (e.pos ? [] : [i]));
  const nGroups = g + 1;
  const posCount = new Float64Array(nGroups);
  const negCount = new Float64Array(nGroups);
  const rand = seededRandom(seed);
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
