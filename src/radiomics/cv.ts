/** Stratified k-fold splits and cross-validated AUC of one hyper-parameter setting. */
import { rocAuc } from '../metrics/auc.js';
import { shuffle, type Random } from '../random.js';
import type { Matrix } from './standardize.js';

/** Fold index (0..k-1) of each sample; each class is shuffled then dealt round-robin so folds keep its share. */
export function stratifiedFolds(y: ArrayLike<number>, k: number, rng: Random): number[] {
  const fold = new Array<number>(y.length).fill(0);
  let next = 0;
  for (const cls of [0, 1]) {
    const members = shuffle(
      Array.from({ length: y.length }, (_, i) => i).filter((i) => y[i] === cls),
      rng,
    );
    for (const i of members) fold[i] = next++ % k;
  }
  return fold;
}

/** Something that fits on (X, y) and returns a scorer. */
export type Fit = (X: Matrix, y: number[]) => (Z: Matrix) => number[];

/** Mean AUC over the folds; folds whose held-out part lacks a class are left out (NaN when all are). */
export function crossValidatedAuc(X: Matrix, y: number[], folds: number[], k: number, fit: Fit): number {
  const aucs: number[] = [];
  for (let f = 0; f < k; f++) {
    const train = y.map((_, i) => i).filter((i) => folds[i] !== f);
    const test = y.map((_, i) => i).filter((i) => folds[i] === f);
    const ty = train.map((i) => y[i]!);
    if (test.length === 0 || ty.every((v) => v === ty[0])) continue;
    const score = fit(
      train.map((i) => X[i]!),
      ty,
    );
    const auc = rocAuc(
      test.map((i) => y[i]!),
      score(test.map((i) => X[i]!)),
    );
    if (!Number.isNaN(auc)) aucs.push(auc);
  }
  return aucs.length ? aucs.reduce((s, a) => s + a, 0) / aucs.length : NaN;
}
