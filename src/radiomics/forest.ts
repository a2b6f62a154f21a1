/**
 * A random forest for binary labels: CART trees grown on bootstrap samples with the Gini criterion,
 * sqrt(features) candidates per split, leaves holding the fraction of positives; the probability is
 * the mean over trees (as scikit-learn's RandomForestClassifier). Seeded: one seed, one forest.
 */
import { randInt, seededRng, shuffle, type Rng } from './rng.js';
import type { Matrix } from './standardize.js';

export interface ForestOptions {
  nTrees: number;
  /** Maximum depth; null grows until leaves are pure or too small. */
  maxDepth: number | null;
  minSamplesLeaf: number;
  seed: number;
}

type Node = { leaf: true; value: number } | { leaf: false; feature: number; threshold: number; left: Node; right: Node };

export interface ForestModel {
  kind: 'forest';
  options: ForestOptions;
  trees: Node[];
  predictProba(X: Matrix): number[];
}

function positivesOf(idx: number[], y: ArrayLike<number>): number {
  let c = 0;
  for (const i of idx) c += y[i]!;
  return c;
}

function growTree(X: Matrix, y: ArrayLike<number>, idx: number[], depth: number, opts: ForestOptions, rng: Rng): Node {
  const n = idx.length;
  const pos = positivesOf(idx, y);
  if (pos === 0 || pos === n || n < 2 * opts.minSamplesLeaf || (opts.maxDepth !== null && depth >= opts.maxDepth)) return { leaf: true, value: pos / n };
  const p = X[0]!.length;
  const tries = Math.max(1, Math.floor(Math.sqrt(p)));
  const features = shuffle(Array.from({ length: p }, (_, j) => j), rng).slice(0, tries);
  // Gini: minimise sum over children of n_c * gini_c, i.e. maximise sum of (pos^2 + neg^2) / n_c.
  let best = { score: (pos * pos + (n - pos) * (n - pos)) / n + 1e-12, feature: -1, threshold: 0 };
  for (const f of features) {
    const sorted = idx.slice().sort((a, b) => X[a]![f]! - X[b]![f]!);
    let leftPos = 0;
    for (let k = 0; k < n - 1; k++) {
      leftPos += y[sorted[k]!]!;
      const nl = k + 1;
      const nr = n - nl;
      const lo = X[sorted[k]!]![f]!;
      const hi = X[sorted[k + 1]!]![f]!;
      if (lo === hi || nl < opts.minSamplesLeaf || nr < opts.minSamplesLeaf) continue;
      const rightPos = pos - leftPos;
      const score = (leftPos ** 2 + (nl - leftPos) ** 2) / nl + (rightPos ** 2 + (nr - rightPos) ** 2) / nr;
      if (score > best.score) best = { score, feature: f, threshold: lo + (hi - lo) / 2 };
    }
  }
  if (best.feature < 0) return { leaf: true, value: pos / n };
  const left = idx.filter((i) => X[i]![best.feature]! <= best.threshold);
  const right = idx.filter((i) => X[i]![best.feature]! > best.threshold);
  return {
    leaf: false,
    feature: best.feature,
    threshold: best.threshold,
    left: growTree(X, y, left, depth + 1, opts, rng),
    right: growTree(X, y, right, depth + 1, opts, rng),
  };
}

function predictTree(node: Node, row: number[]): number {
  while (!node.leaf) node = row[node.feature]! <= node.threshold ? node.left : node.right;
  return node.value;
}

export function fitForest(X: Matrix, y: ArrayLike<number>, options: ForestOptions): ForestModel {
  const rng = seededRng(options.seed);
  const n = X.length;
  const trees: Node[] = [];
  for (let t = 0; t < options.nTrees; t++) {
    const sample = Array.from({ length: n }, () => randInt(rng, n));
    trees.push(growTree(X, y, sample, 0, options, rng));
  }
  return {
    kind: 'forest',
    options: { ...options },
    trees,
    predictProba: (Z) => Z.map((row) => trees.reduce((s, tree) => s + predictTree(tree, row), 0) / trees.length),
  };
}
