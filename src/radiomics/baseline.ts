/**
 * The radiomics baseline (docs/protocol.md, "Baselines and statistics"): standardised features, logistic regression
 * (L1, L2, elastic-net) and a random forest, tuned by seeded random search with stratified k-fold CV;
 * the setting with the best mean CV AUC is refitted on all training rows. Multi-label: one search and
 * one model per label.
 */
import { OptionError } from '../errors.js';
import { expectInteger } from '../validate.js';
import { rocAuc } from '../metrics/auc.js';
import { crossValidatedAuc, stratifiedFolds } from './cv.js';
import { fitForest } from './forest.js';
import { fitLogistic, type Penalty } from './logistic.js';
import { deriveSeed, mulberry32, randInt, type Random } from '../random.js';
import { fitStandardizer, type Matrix } from './standardize.js';

export type BaselineParams =
  | { kind: 'logistic'; penalty: Penalty; C: number; l1Ratio?: number }
  | { kind: 'forest'; nTrees: number; maxDepth: number | null; minSamplesLeaf: number };

export interface BaselineOptions {
  trainX: Matrix;
  trainY: number[] | number[][];
  valX?: Matrix;
  valY?: number[] | number[][];
  seed: number;
  /** Random-search draws (ignored when `candidates` is given). */
  searchIters: number;
  folds: number;
  /** Settings to compare instead of random draws. */
  candidates?: BaselineParams[];
}

export interface Trial {
  params: BaselineParams;
  cvAuc: number;
}

export interface LabelBaseline {
  params: BaselineParams | null;
  /** Best mean CV AUC; NaN when the label has one class only (no AUC: reported as missing). */
  cvAuc: number;
  valAuc?: number;
  trials: Trial[];
  predict(X: Matrix): number[];
}

export interface RadiomicsBaseline {
  /** One entry per label (one for binary labels). */
  model: LabelBaseline[];
  /** Mean of the per-label CV AUCs that exist (NaN if none). */
  cvAuc: number;
  valAuc?: number;
  params: (BaselineParams | null)[];
  /** Positive-class probabilities, one column per label: rows x labels. */
  predict(X: Matrix): number[][];
}

/** One random draw from the search space. */
export function drawParams(rng: Random): BaselineParams {
  const family = randInt(rng, 4);
  const C = 10 ** (-3 + 5 * rng()); // log-uniform in [1e-3, 1e2]
  if (family === 0) return { kind: 'logistic', penalty: 'l2', C };
  if (family === 1) return { kind: 'logistic', penalty: 'l1', C };
  if (family === 2) return { kind: 'logistic', penalty: 'elasticnet', C, l1Ratio: rng() };
  return {
    kind: 'forest',
    nTrees: [50, 100, 200][randInt(rng, 3)]!,
    maxDepth: [3, 6, 10, null][randInt(rng, 4)]!,
    minSamplesLeaf: [1, 2, 4, 8][randInt(rng, 4)]!,
  };
}

/** Fits standardiser + classifier on (X, y); returns the probability scorer. */
export function fitParams(params: BaselineParams, X: Matrix, y: number[], seed: number): (Z: Matrix) => number[] {
  const scaler = fitStandardizer(X);
  const Xs = scaler.transform(X);
  const model =
    params.kind === 'logistic'
      ? fitLogistic(Xs, y, { penalty: params.penalty, C: params.C, l1Ratio: params.l1Ratio, tol: 1e-6, maxIter: 100 })
      : fitForest(Xs, y, { ...params, seed });
  return (Z) => model.predictProba(scaler.transform(Z));
}

function checkMatrix(X: unknown, name: string): Matrix {
  if (!Array.isArray(X) || X.length === 0) throw new OptionError(name, 'a non-empty array of feature rows', X);
  const p = Array.isArray(X[0]) ? X[0].length : -1;
  X.forEach((row, i) => {
    if (
      !Array.isArray(row) ||
      row.length !== p ||
      p === 0 ||
      !row.every((v) => typeof v === 'number' && Number.isFinite(v))
    )
      throw new OptionError(`${name}[${i}]`, `an array of ${p > 0 ? p : 'one or more'} finite numbers`, row);
  });
  return X as Matrix;
}

/** Labels as columns: number[] -> one column; number[][] (rows x labels) -> one per label. */
function labelColumns(Y: unknown, rows: number, name: string): number[][] {
  if (!Array.isArray(Y) || Y.length !== rows) throw new OptionError(name, `an array of ${rows} labels`, Y);
  const multi = Array.isArray(Y[0]);
  const L = multi ? (Y[0] as unknown[]).length : 1;
  const cols = Array.from({ length: L }, () => new Array<number>(rows));
  Y.forEach((v, i) => {
    const row = multi ? v : [v];
    if (!Array.isArray(row) || row.length !== L || L === 0 || !row.every((x) => x === 0 || x === 1))
      throw new OptionError(`${name}[${i}]`, multi ? `an array of ${L} labels, each 0 or 1` : '0 or 1', v);
    row.forEach((x, l) => (cols[l]![i] = x as number));
  });
  return cols;
}

function trainLabel(X: Matrix, y: number[], o: BaselineOptions, seed: number): LabelBaseline {
  const positives = y.reduce((s, v) => s + v, 0);
  if (positives === 0 || positives === y.length) {
    const constant = positives / y.length; // one class only: no model, no AUC
    return { params: null, cvAuc: NaN, trials: [], predict: (Z) => Z.map(() => constant) };
  }
  const rng = mulberry32(deriveSeed('radiomics-search', seed));
  const folds = stratifiedFolds(y, o.folds, rng);
  const candidates = o.candidates ?? Array.from({ length: o.searchIters }, () => drawParams(rng));
  const trials = candidates.map((params) => ({
    params,
    cvAuc: crossValidatedAuc(X, y, folds, o.folds, (Xt, yt) => fitParams(params, Xt, yt, seed)),
  }));
  let best = trials[0]!;
  for (const t of trials) if (t.cvAuc > best.cvAuc || Number.isNaN(best.cvAuc)) best = t;
  return { params: best.params, cvAuc: best.cvAuc, trials, predict: fitParams(best.params, X, y, seed) };
}

const meanOf = (values: number[]): number => {
  const ok = values.filter((v) => !Number.isNaN(v));
  return ok.length ? ok.reduce((s, v) => s + v, 0) / ok.length : NaN;
};

export function trainRadiomicsBaseline(options: BaselineOptions): RadiomicsBaseline {
  const X = checkMatrix(options.trainX, 'trainX');
  const Y = labelColumns(options.trainY, X.length, 'trainY');
  const seed = expectInteger(options.seed, 'seed');
  expectInteger(options.searchIters, 'searchIters', 1);
  const minority = Math.min(
    ...Y.map((c) => Math.min(c.filter((v) => v === 1).length, c.filter((v) => v === 0).length)).filter((m) => m > 0),
    X.length,
  );
  expectInteger(options.folds, 'folds', 2, Math.max(2, minority));
  if (options.candidates !== undefined && (!Array.isArray(options.candidates) || options.candidates.length === 0))
    throw new OptionError('candidates', 'a non-empty array of settings', options.candidates);
  const labels = Y.map((y, l) => trainLabel(X, y, options, seed + 7919 * l));
  const result: RadiomicsBaseline = {
    model: labels,
    cvAuc: meanOf(labels.map((m) => m.cvAuc)),
    params: labels.map((m) => m.params),
    predict: (Z) => {
      const cols = labels.map((m) => m.predict(Z));
      return Z.map((_, i) => cols.map((c) => c[i]!));
    },
  };
  if (options.valX !== undefined || options.valY !== undefined) {
    const VX = checkMatrix(options.valX, 'valX');
    if (VX[0]!.length !== X[0]!.length)
      throw new OptionError('valX', `rows of ${X[0]!.length} features`, `rows of ${VX[0]!.length}`);
    const VY = labelColumns(options.valY, VX.length, 'valY');
    if (VY.length !== Y.length) throw new OptionError('valY', `${Y.length} label(s) per row`, `${VY.length}`);
    labels.forEach((m, l) => (m.valAuc = rocAuc(VY[l]!, m.predict(VX))));
    result.valAuc = meanOf(labels.map((m) => m.valAuc!));
  }
  return result;
}
