// The radiomics classifiers against scikit-learn (computed now with /usr/bin/python3), and the CV search.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { rocAuc } from '../src/metrics/auc.js';
import { trainRadiomicsBaseline } from '../src/radiomics/baseline.js';
import { fitForest } from '../src/radiomics/forest.js';
import { fitLogistic } from '../src/radiomics/logistic.js';
import { mulberry32 } from '../src/random.js';
// Test data as the radiomics tests always drew it (seed mixed with the golden ratio).

import { fitStandardizer, type Matrix } from '../src/radiomics/standardize.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever JSON the reference script prints
function python(script: string, input: unknown): any {
  const r = spawnSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Gaussian features, labels from a sparse linear rule plus noise: overlapping classes, a unique optimum.
function linearData(n: number, p: number, seed: number): { X: Matrix; y: number[] } {
  const rng = mulberry32(seed ^ 0x9e3779b9);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const X = Array.from({ length: n }, () => Array.from({ length: p }, (_, j) => 3 * gauss() + j));
  const y = X.map((row) => (row[0]! - 0 - 0.5 * (row[1]! - 1) + 0.8 * gauss() * 3 > 0 ? 1 : 0));
  return { X, y };
}

// sklearn's objective: C * sum log-loss + l1Ratio * |w|_1 + (1 - l1Ratio) / 2 * |w|^2.
function objective(
  X: Matrix,
  y: number[],
  w: number[],
  b: number,
  f: { penalty: string; C: number; l1Ratio?: number },
): number {
  const r = f.penalty === 'l1' ? 1 : f.penalty === 'l2' ? 0 : f.l1Ratio!;
  let loss = 0;
  X.forEach((row, i) => {
    const z = row.reduce((s, v, j) => s + v * w[j]!, b);
    loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y[i]! * z;
  });
  return f.C * loss + r * w.reduce((s, v) => s + Math.abs(v), 0) + ((1 - r) / 2) * w.reduce((s, v) => s + v * v, 0);
}

const SKLEARN = `
import json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = json.load(sys.stdin)
X = np.array(d['X']); y = np.array(d['y'])
out = {'scaled': StandardScaler().fit_transform(X).tolist(), 'fits': []}
for f in d['fits']:
    kw = dict(penalty=f['penalty'], C=f['C'], solver=f['solver'], tol=1e-12, max_iter=200000)
    if f['penalty'] == 'elasticnet': kw['l1_ratio'] = f['l1Ratio']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = LogisticRegression(**kw).fit(np.array(d['Xs']), y)
    out['fits'].append({'coef': m.coef_[0].tolist(), 'intercept': float(m.intercept_[0])})
print(json.dumps(out))
`;

describe('standardisation and logistic regression match scikit-learn', () => {
  const { X, y } = linearData(150, 6, 1);
  const Xs = fitStandardizer(X).transform(X);
  const fits = [
    { penalty: 'l2', C: 0.05, solver: 'lbfgs' },
    { penalty: 'l2', C: 10, solver: 'lbfgs' },
    { penalty: 'l1', C: 0.06, solver: 'saga' },
    { penalty: 'l1', C: 1, solver: 'saga' },
    { penalty: 'elasticnet', C: 0.05, l1Ratio: 0.5, solver: 'saga' },
    { penalty: 'elasticnet', C: 2, l1Ratio: 0.2, solver: 'saga' },
  ] as const;
  const ref = python(SKLEARN, { X, Xs, y, fits });

  it('standardises as StandardScaler (population std)', () => {
    Xs.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(ref.scaled[i][j], 12)));
  });

  // Strictly convex (L2, elastic-net) or with a unique optimum on this generic data (L1), so two solvers
  // converged to tol 1e-12 (sklearn) and 1e-10 (ours) agree to far better than 1e-5 in coefficient units
  // of standardised features (whose scale is ~1): any bug in the objective moves them by far more.
  fits.forEach((f, k) => {
    it(`${f.penalty} C=${f.C}${'l1Ratio' in f ? ` l1Ratio=${f.l1Ratio}` : ''} has sklearn's coefficients`, () => {
      const m = fitLogistic(Xs, y, { penalty: f.penalty, C: f.C, l1Ratio: 'l1Ratio' in f ? f.l1Ratio : undefined });
      const want = ref.fits[k];
      m.coef.forEach((c, j) => expect(Math.abs(c - want.coef[j])).toBeLessThan(1e-5));
      expect(Math.abs(m.intercept - want.intercept)).toBeLessThan(1e-5);
      // The same zero pattern under L1 (exact zeros from soft-thresholding vs saga's).
      if (f.penalty === 'l1') m.coef.forEach((c, j) => expect(c === 0).toBe(Math.abs(want.coef[j]) < 1e-8));
      // And never a worse objective than sklearn's solution.
      expect(objective(Xs, y, m.coef, m.intercept, f)).toBeLessThanOrEqual(
        objective(Xs, y, want.coef, want.intercept, f) + 1e-9,
      );
    });
  });

  it('puts the intercept at the log-odds of the prevalence when L1 zeroes every coefficient', () => {
    // (sklearn's saga stops early here, on unchanged coefficients, with the intercept short of its optimum.)
    const m = fitLogistic(Xs, y, { penalty: 'l1', C: 0.02 });
    const prevalence = y.reduce((s, v) => s + v, 0) / y.length;
    expect(m.coef.every((c) => c === 0)).toBe(true);
    expect(m.intercept).toBeCloseTo(Math.log(prevalence / (1 - prevalence)), 10);
  });
});

describe('logistic regression on strongly collinear features (as GLCM properties across distances are)', () => {
  // Near-duplicate columns make the optimum ill-determined, so coefficients are not compared: the
  // objective is, and it must be at least as low as sklearn's (saga run to tol 1e-12).
  const rng = mulberry32(8 ^ 0x9e3779b9);
  const base = linearData(120, 3, 6);
  const X = base.X.map((r) => [
    r[0]!,
    r[0]! + 1e-3 * rng(),
    r[1]!,
    r[1]! + 1e-3 * rng(),
    r[2]!,
    2 * r[0]! - r[1]! + 1e-3 * rng(),
  ]);
  const Xs = fitStandardizer(X).transform(X);
  const fits = [
    { penalty: 'l1', C: 5, solver: 'saga' },
    { penalty: 'elasticnet', C: 5, l1Ratio: 0.7, solver: 'saga' },
    { penalty: 'l2', C: 50, solver: 'lbfgs' },
  ] as const;
  const ref = python(SKLEARN, { X, Xs, y: base.y, fits });
  fits.forEach((f, k) => {
    it(`${f.penalty} reaches an objective no worse than sklearn's`, () => {
      const m = fitLogistic(Xs, base.y, {
        penalty: f.penalty,
        C: f.C,
        l1Ratio: 'l1Ratio' in f ? f.l1Ratio : undefined,
      });
      const ours = objective(Xs, base.y, m.coef, m.intercept, f);
      const theirs = objective(Xs, base.y, ref.fits[k].coef, ref.fits[k].intercept, f);
      expect(ours).toBeLessThanOrEqual(theirs + 1e-9 * theirs);
      expect(m.iterations).toBeLessThan(50);
    });
  });
});

describe('random forest', () => {
  it('is well above chance on separable non-linear data and repeats for a seed', () => {
    const rng = mulberry32(3 ^ 0x9e3779b9);
    const make = (n: number) => {
      const X = Array.from({ length: n }, () => [rng() * 2 - 1, rng() * 2 - 1, rng(), rng()]);
      return { X, y: X.map((r) => (r[0]! * r[1]! > 0 ? 1 : 0)) }; // XOR of signs: no linear model separates it
    };
    const train = make(300);
    const test = make(200);
    const forest = fitForest(train.X, train.y, { nTrees: 50, maxDepth: null, minSamplesLeaf: 1, seed: 5 });
    expect(rocAuc(test.y, forest.predictProba(test.X))).toBeGreaterThan(0.95);
    const again = fitForest(train.X, train.y, { nTrees: 50, maxDepth: null, minSamplesLeaf: 1, seed: 5 });
    expect(again.predictProba(test.X)).toEqual(forest.predictProba(test.X));
    const linear = fitLogistic(train.X, train.y, { penalty: 'l2', C: 1 });
    expect(rocAuc(test.y, linear.predictProba(test.X))).toBeLessThan(0.7);
  });
});

describe('trainRadiomicsBaseline', () => {
  const rng = mulberry32(11 ^ 0x9e3779b9);
  const xor = (n: number) => {
    const X = Array.from({ length: n }, () => [rng() * 2 - 1, rng() * 2 - 1, rng()]);
    return { X, y: X.map((r) => (r[0]! * r[1]! > 0 ? 1 : 0)) };
  };

  it('CV search picks the forest over logistic regression on XOR data, and predicts well', () => {
    const train = xor(200);
    const val = xor(100);
    const r = trainRadiomicsBaseline({
      trainX: train.X,
      trainY: train.y,
      valX: val.X,
      valY: val.y,
      seed: 1,
      searchIters: 1,
      folds: 4,
      candidates: [
        { kind: 'logistic', penalty: 'l2', C: 1 },
        { kind: 'forest', nTrees: 30, maxDepth: null, minSamplesLeaf: 1 },
        { kind: 'logistic', penalty: 'l1', C: 0.1 },
      ],
    });
    expect(r.params[0]).toMatchObject({ kind: 'forest' });
    const trials = r.model[0]!.trials;
    expect(r.cvAuc).toBe(Math.max(...trials.map((t) => t.cvAuc)));
    expect(trials[0]!.cvAuc).toBeLessThan(0.7);
    expect(r.cvAuc).toBeGreaterThan(0.9);
    expect(r.valAuc).toBeGreaterThan(0.9);
  });

  it('CV search picks the weaker penalty when the signal is linear and strong regularisation kills it', () => {
    const { X, y } = linearData(120, 5, 4);
    const r = trainRadiomicsBaseline({
      trainX: X,
      trainY: y,
      seed: 2,
      searchIters: 1,
      folds: 3,
      candidates: [
        { kind: 'logistic', penalty: 'l1', C: 1e-4 },
        { kind: 'logistic', penalty: 'l1', C: 1 },
      ],
    });
    // C = 1e-4 under L1 zeroes every coefficient: constant scores, AUC 0.5.
    expect(r.model[0]!.trials[0]!.cvAuc).toBe(0.5);
    expect(r.params[0]).toEqual({ kind: 'logistic', penalty: 'l1', C: 1 });
  });

  it('multi-label: one model per label, a one-class label reported as missing, seeded search repeats', () => {
    const train = xor(120);
    const Y = train.y.map((v, i) => [v, 1 - v, 0 * i]);
    const opts = { trainX: train.X, trainY: Y, seed: 9, searchIters: 3, folds: 3 };
    const r = trainRadiomicsBaseline(opts);
    expect(r.model).toHaveLength(3);
    expect(r.model[2]!.cvAuc).toBeNaN();
    expect(r.params[2]).toBeNull();
    expect(Number.isNaN(r.cvAuc)).toBe(false);
    expect(r.predict(train.X.slice(0, 2)).map((row) => row.length)).toEqual([3, 3]);
    expect(trainRadiomicsBaseline(opts).params).toEqual(r.params);
  });

  it('rejects bad options with OptionError naming them', () => {
    const X = [[1], [2], [3], [4]];
    expect(() =>
      trainRadiomicsBaseline({ trainX: X, trainY: [0, 1, 0, 2], seed: 1, searchIters: 1, folds: 2 }),
    ).toThrow(/Expected 0 or 1 for trainY\[3\] but received 2/);
    expect(() => trainRadiomicsBaseline({ trainX: X, trainY: [0, 1, 0], seed: 1, searchIters: 1, folds: 2 })).toThrow(
      /for trainY/,
    );
    expect(() =>
      trainRadiomicsBaseline({ trainX: [[1], [NaN]], trainY: [0, 1], seed: 1, searchIters: 1, folds: 2 }),
    ).toThrow(/for trainX\[1\]/);
    expect(() =>
      trainRadiomicsBaseline({ trainX: X, trainY: [0, 1, 0, 1], seed: 1, searchIters: 1, folds: 3 }),
    ).toThrow(/integer between 2 and 2 for folds/);
    expect(() =>
      trainRadiomicsBaseline({ trainX: X, trainY: [0, 1, 0, 1], seed: 1.5, searchIters: 1, folds: 2 }),
    ).toThrow(/for seed/);
  });
});
