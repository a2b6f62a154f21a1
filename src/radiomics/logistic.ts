/**
 * Binary logistic regression with scikit-learn's objective:
 *   C * sum_i logloss(y_i, b + x_i.w) + l1Ratio * ||w||_1 + (1 - l1Ratio) / 2 * ||w||^2
 * (penalty 'l2': l1Ratio = 0, 'l1': l1Ratio = 1, 'elasticnet': 0 <= l1Ratio <= 1; the intercept is not
 * penalised, as with sklearn's lbfgs/saga). Solved by proximal Newton (glmnet's method): a quadratic
 * model of the log-loss per outer step, minimised by coordinate descent with soft-thresholding, then a
 * line search on the true objective. The problem is convex, so it converges to sklearn's optimum.
 */
import type { Matrix } from './standardize.js';

export type Penalty = 'l1' | 'l2' | 'elasticnet';

export interface LogisticOptions {
  penalty: Penalty;
  /** Inverse regularisation strength, > 0. */
  C: number;
  /** Elastic-net mixing, used when penalty is 'elasticnet'. */
  l1Ratio?: number;
  /** Stop when no coefficient moves more than this in an outer step. */
  tol?: number;
  maxIter?: number;
}

export interface LogisticModel {
  kind: 'logistic';
  coef: number[];
  intercept: number;
  options: LogisticOptions;
  /** Outer (Newton) iterations used. */
  iterations: number;
  predictProba(X: Matrix): number[];
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
// log(1 + exp(z)) without overflow.
const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const softThreshold = (v: number, t: number): number => (v > t ? v - t : v < -t ? v + t : 0);

export function fitLogistic(X: Matrix, y: ArrayLike<number>, options: LogisticOptions): LogisticModel {
  const n = X.length;
  const p = n ? X[0]!.length : 0;
  const { C } = options;
  const l1 = options.penalty === 'l1' ? 1 : options.penalty === 'l2' ? 0 : (options.l1Ratio ?? 0.5);
  const l2 = 1 - l1;
  const tol = options.tol ?? 1e-10;
  const maxIter = options.maxIter ?? 500;
  // Column-major copy: coordinate descent walks columns.
  const cols = Array.from({ length: p }, (_, j) => Float64Array.from(X, (row) => row[j]!));
  const w = new Float64Array(p);
  let b = 0;
  const eta = new Float64Array(n);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const q = new Float64Array(n);
  const dw = new Float64Array(p);

  const penalty = (v: ArrayLike<number>, step: ArrayLike<number>, t: number): number => {
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < p; j++) {
      const z = v[j]! + t * step[j]!;
      s1 += Math.abs(z);
      s2 += z * z;
    }
    return l1 * s1 + (l2 / 2) * s2;
  };
  const objective = (t: number): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const z = eta[i]! + t * q[i]!;
      loss += softplus(z) - y[i]! * z;
    }
    return C * loss + penalty(w, dw, t);
  };

  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    for (let i = 0; i < n; i++) {
      let z = b;
      for (let j = 0; j < p; j++) z += cols[j]![i]! * w[j]!;
      eta[i] = z;
      const pr = sigmoid(z);
      g[i] = C * (pr - y[i]!);
      h[i] = Math.max(C * pr * (1 - pr), 1e-12 * C); // floor keeps the quadratic model strictly convex
    }
    const hjj = cols.map((c) => c.reduce((s, v, i) => s + h[i]! * v * v, 0));
    const hSum = h.reduce((s, v) => s + v, 0);
    dw.fill(0);
    q.fill(0);
    let db = 0;
    // Coordinate descent on the penalised quadratic model, in the direction d = (dw, db), q = X dw + db.
    for (let sweep = 0; sweep < 1000; sweep++) {
      let maxMove = 0;
      for (let j = 0; j < p; j++) {
        const col = cols[j]!;
        let a = 0;
        for (let i = 0; i < n; i++) a += col[i]! * (g[i]! + h[i]! * q[i]!);
        const H = hjj[j]!;
        const z = w[j]! + dw[j]!;
        const zNew = softThreshold(H * z - a, l1) / (H + l2);
        const move = zNew - z;
        if (move !== 0) {
          dw[j] = dw[j]! + move;
          for (let i = 0; i < n; i++) q[i] = q[i]! + move * col[i]!;
          maxMove = Math.max(maxMove, Math.abs(move) * Math.sqrt(H + l2));
        }
      }
      let a0 = 0;
      for (let i = 0; i < n; i++) a0 += g[i]! + h[i]! * q[i]!;
      const move0 = -a0 / hSum;
      db += move0;
      for (let i = 0; i < n; i++) q[i] = q[i]! + move0;
      maxMove = Math.max(maxMove, Math.abs(move0) * Math.sqrt(hSum));
      if (maxMove < tol * 1e-2) break;
    }
    // Line search (Tseng & Yun): accept t when the objective drops by a fraction of the model's decrease.
    let gq = 0;
    for (let i = 0; i < n; i++) gq += g[i]! * q[i]!;
    const f0 = objective(0);
    const delta = gq + penalty(w, dw, 1) - penalty(w, dw, 0);
    let t = 1;
    for (let k = 0; k < 60 && objective(t) > f0 + 1e-4 * t * delta; k++) t /= 2;
    let maxStep = Math.abs(t * db);
    for (let j = 0; j < p; j++) {
      w[j] = w[j]! + t * dw[j]!;
      maxStep = Math.max(maxStep, Math.abs(t * dw[j]!));
    }
    b += t * db;
    if (maxStep < tol) {
      iterations++;
      break;
    }
  }
  const coef = Array.from(w);
  const intercept = b;
  return {
    kind: 'logistic',
    coef,
    intercept,
    options: { ...options },
    iterations,
    predictProba: (Z) => Z.map((row) => sigmoid(row.reduce((s, v, j) => s + v * coef[j]!, intercept))),
  };
}
