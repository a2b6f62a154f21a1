/**
 * Binary logistic regression with scikit-learn's objective:
 *   C * sum_i logloss(y_i, b + x_i.w) + l1Ratio * ||w||_1 + (1 - l1Ratio) / 2 * ||w||^2
 * (penalty 'l2': l1Ratio = 0, 'l1': l1Ratio = 1, 'elasticnet': 0 <= l1Ratio <= 1; the intercept is not
 * penalised, as with sklearn's lbfgs/saga). Solved by proximal Newton: each outer step builds the
 * quadratic model of the log-loss (gradient and the (p+1)^2 Hessian), minimises model + penalty exactly
 * (L2: one Cholesky solve; L1/elastic-net: coordinate descent on the Hessian to find the support and
 * signs, then an exact solve on that support), then line-searches the true objective. The problem is
 * convex, so this converges (quadratically near the optimum) to sklearn's solution, even on the strongly
 * collinear radiomic features where plain coordinate descent or saga crawl.
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

/** Solves A x = b for symmetric positive definite A (k x k, row-major) by Cholesky; null if not PD. */
export function choleskySolve(A: Float64Array, b: Float64Array, k: number): Float64Array | null {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * k + j]!;
      for (let m = 0; m < j; m++) s -= L[i * k + m]! * L[j * k + m]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * k + i] = Math.sqrt(s);
      } else L[i * k + j] = s / L[j * k + j]!;
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < k; i++) {
    for (let m = 0; m < i; m++) x[i] = x[i]! - L[i * k + m]! * x[m]!;
    x[i] = x[i]! / L[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    for (let m = i + 1; m < k; m++) x[i] = x[i]! - L[m * k + i]! * x[m]!;
    x[i] = x[i]! / L[i * k + i]!;
  }
  return x;
}

/**
 * argmin_z c.z + z'Gz/2 + l1 |z_pen|_1 + l2/2 |z_pen|^2, where every coordinate but the last (the
 * intercept) is penalised; G is (p+1) x (p+1) positive definite. Starts from z (updated in place).
 */
function solveModel(G: Float64Array, c: Float64Array, z: Float64Array, l1: number, l2: number, tol: number): void {
  const k = c.length;
  const p = k - 1;
  const pen = (j: number) => (j < p ? 1 : 0);
  if (l1 === 0) {
    const A = Float64Array.from(G);
    for (let j = 0; j < p; j++) A[j * k + j] = A[j * k + j]! + l2;
    const x = choleskySolve(
      A,
      Float64Array.from(c, (v) => -v),
      k,
    );
    if (x) return void z.set(x);
  }
  if (featureSign(G, c, z, l1, l2)) return;
  // Fallback (a singular support): coordinate descent, approximate on strongly collinear features.
  const Gz = new Float64Array(k); // G z, kept current through coordinate moves
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) Gz[i] = Gz[i]! + G[i * k + j]! * z[j]!;
  for (let sweep = 0; sweep < 500; sweep++) {
    let maxMove = 0;
    for (let j = 0; j < k; j++) {
      const H = G[j * k + j]! + l2 * pen(j);
      const a = c[j]! + Gz[j]! - G[j * k + j]! * z[j]!; // gradient of the smooth part without z_j's own term
      const zNew = pen(j) ? softThreshold(-a, l1) / H : -a / H;
      const delta = zNew - z[j]!;
      if (delta !== 0) {
        z[j] = zNew;
        for (let i = 0; i < k; i++) Gz[i] = Gz[i]! + delta * G[i * k + j]!;
        maxMove = Math.max(maxMove, Math.abs(delta));
      }
    }
    if (maxMove < tol) return;
  }
}

/**
 * Feature-sign search (Lee, Battle, Raina & Ng 2006) for the L1 model above: keeps an active set with
 * fixed signs, solves the quadratic on it exactly, line-searches through sign changes, and grows the
 * set by the worst KKT violator. Exact in finitely many steps; false if a solve fails (singular support).
 */
function featureSign(G: Float64Array, c: Float64Array, z: Float64Array, l1: number, l2: number): boolean {
  const k = c.length;
  const p = k - 1;
  const H = Float64Array.from(G);
  for (let j = 0; j < p; j++) H[j * k + j] = H[j * k + j]! + l2;
  const model = (v: Float64Array): number => {
    let q = 0;
    for (let i = 0; i < k; i++) {
      let hv = 0;
      for (let j = 0; j < k; j++) hv += H[i * k + j]! * v[j]!;
      q += v[i]! * (c[i]! + hv / 2) + (i < p ? l1 * Math.abs(v[i]!) : 0);
    }
    return q;
  };
  const gradient = (v: Float64Array): Float64Array =>
    Float64Array.from(c, (ci, i) => {
      let s = ci;
      for (let j = 0; j < k; j++) s += H[i * k + j]! * v[j]!;
      return s;
    });
  const sign = new Float64Array(k).map((_, j) => (j < p ? Math.sign(z[j]!) : 0));
  const scale = Math.max(1, l1, ...Array.from(c, Math.abs));
  for (let step = 0; step < 20 * k; step++) {
    const g = gradient(z);
    const active = Array.from({ length: k }, (_, j) => j).filter((j) => j === p || sign[j] !== 0);
    if (active.every((j) => Math.abs(g[j]! + l1 * sign[j]!) <= 1e-9 * scale)) {
      let worst = -1;
      for (let j = 0; j < p; j++)
        if (sign[j] === 0 && Math.abs(g[j]!) > l1 * (1 + 1e-9) && (worst < 0 || Math.abs(g[j]!) > Math.abs(g[worst]!)))
          worst = j;
      if (worst < 0) return true; // every zero coordinate satisfies |gradient| <= l1: optimal
      sign[worst] = -Math.sign(g[worst]!);
      active.push(worst);
      active.sort((a, b) => a - b);
    }
    const m = active.length;
    const A = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    active.forEach((j, a) => {
      active.forEach((i, b) => (A[a * m + b] = H[j * k + i]!));
      rhs[a] = -c[j]! - l1 * sign[j]!;
    });
    const x = choleskySolve(A, rhs, m);
    if (!x) return false;
    const target = new Float64Array(k);
    active.forEach((j, a) => (target[j] = x[a]!));
    // The best of the target and each point where a coefficient crosses zero on the way there.
    let best = target;
    let bestQ = model(target);
    for (const j of active) {
      if (j === p || z[j] === 0 || Math.sign(target[j]!) === Math.sign(z[j]!)) continue;
      const t = z[j]! / (z[j]! - target[j]!);
      const point = Float64Array.from(z, (v, i) => v + t * (target[i]! - v));
      point[j] = 0;
      const q = model(point);
      if (q < bestQ) {
        best = point;
        bestQ = q;
      }
    }
    z.set(best);
    for (let j = 0; j < p; j++) sign[j] = Math.sign(z[j]!);
  }
  return false;
}

export function fitLogistic(X: Matrix, y: ArrayLike<number>, options: LogisticOptions): LogisticModel {
  const n = X.length;
  const p = n ? X[0]!.length : 0;
  const k = p + 1; // coefficients then the intercept
  const { C } = options;
  const l1 = options.penalty === 'l1' ? 1 : options.penalty === 'l2' ? 0 : (options.l1Ratio ?? 0.5);
  const l2 = 1 - l1;
  const tol = options.tol ?? 1e-10;
  const maxIter = options.maxIter ?? 200;
  const rows = X.map((r) => Float64Array.from([...r, 1]));
  const theta = new Float64Array(k);
  const eta = new Float64Array(n);

  const penalty = (v: Float64Array): number => {
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < p; j++) {
      s1 += Math.abs(v[j]!);
      s2 += v[j]! * v[j]!;
    }
    return l1 * s1 + (l2 / 2) * s2;
  };
  const objective = (v: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < k; j++) z += rows[i]![j]! * v[j]!;
      loss += softplus(z) - y[i]! * z;
    }
    return C * loss + penalty(v);
  };

  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    const grad = new Float64Array(k);
    const G = new Float64Array(k * k);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      let z = 0;
      for (let j = 0; j < k; j++) z += row[j]! * theta[j]!;
      eta[i] = z;
      const pr = sigmoid(z);
      const g = C * (pr - y[i]!);
      const h = Math.max(C * pr * (1 - pr), 1e-12 * C); // floor keeps the model strictly convex
      for (let a = 0; a < k; a++) {
        grad[a] = grad[a]! + g * row[a]!;
        const hr = h * row[a]!;
        for (let b = 0; b <= a; b++) G[a * k + b] = G[a * k + b]! + hr * row[b]!;
      }
    }
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) G[a * k + b] = G[b * k + a]!;
    // Model in z = theta + d: c.z + z'Gz/2 with c = grad - G theta.
    const c = Float64Array.from(grad, (v, a) => {
      let s = v;
      for (let b = 0; b < k; b++) s -= G[a * k + b]! * theta[b]!;
      return s;
    });
    const z = Float64Array.from(theta);
    solveModel(G, c, z, l1, l2, tol * 1e-2);
    const d = Float64Array.from(z, (v, j) => v - theta[j]!);
    // Line search (Tseng & Yun): accept t when the objective drops by a fraction of the model's decrease.
    let gd = 0;
    for (let j = 0; j < k; j++) gd += grad[j]! * d[j]!;
    const f0 = objective(theta);
    const delta = gd + penalty(z) - penalty(theta);
    let t = 1;
    let next = z;
    for (let s = 0; s < 60 && objective(next) > f0 + 1e-4 * t * delta; s++) {
      t /= 2;
      next = Float64Array.from(theta, (v, j) => v + t * d[j]!);
    }
    let maxStep = 0;
    for (let j = 0; j < k; j++) maxStep = Math.max(maxStep, Math.abs(next[j]! - theta[j]!));
    theta.set(next);
    if (maxStep < tol) {
      iterations++;
      break;
    }
  }
  const coef = Array.from(theta.subarray(0, p));
  const intercept = theta[p]!;
  return {
    kind: 'logistic',
    coef,
    intercept,
    options: { ...options },
    iterations,
    predictProba: (Z) => Z.map((row) => sigmoid(row.reduce((s, v, j) => s + v * coef[j]!, intercept))),
  };
}
