/**
 * A random forest for binary labels: CART trees grown on bootstrap samples with the Gini criterion,
 * sqrt(features) candidates per split, leaves holding the fraction of positives; the probability is
 * the mean over trees (as scikit-learn's RandomForestClassifier). Seeded: one seed, one forest.
 */
import { deriveSeed, mulberry32, randInt, shuffle, type Random } from '../random.js';
import type { Matrix } from './standardize.js';

export interface ForestOptions {
  nTrees: number;
  /** Maximum depth; null grows until leaves are pure or too small. */
  maxDepth: number | null;
  minSamplesLeaf: number;
  seed: number;
}

type Node =
  { leaf: true; value: number } | { leaf: false; feature: number; threshold: number; left: Node; right: Node };

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

/**
 * Best Gini split of one feature: the node's positive and negative values are sorted separately (native
 * typed-array sorts) and merged, evaluating a threshold between each pair of distinct values.
 * Gini: minimise sum over children of n_c * gini_c, i.e. maximise sum of (pos^2 + neg^2) / n_c.
 */
function bestSplit(
  col: Float64Array,
  y: ArrayLike<number>,
  idx: number[],
  pos: number,
  minLeaf: number,
  scratch: Float64Array,
): { score: number; threshold: number } {
  const n = idx.length;
  // Views on one buffer per fit: no allocation of value arrays per node and feature.
  const posVals = scratch.subarray(0, pos);
  const negVals = scratch.subarray(pos, n);
  let a = 0;
  let b = 0;
  for (const i of idx) {
    if (y[i] === 1) posVals[a++] = col[i]!;
    else negVals[b++] = col[i]!;
  }
  posVals.sort();
  negVals.sort();
  let best = { score: -Infinity, threshold: 0 };
  let i = 0;
  let j = 0;
  while (i < posVals.length || j < negVals.length) {
    const v = Math.min(i < posVals.length ? posVals[i]! : Infinity, j < negVals.length ? negVals[j]! : Infinity);
    while (i < posVals.length && posVals[i] === v) i++;
    while (j < negVals.length && negVals[j] === v) j++;
    const nl = i + j;
    const nr = n - nl;
    if (nr === 0) break;
    if (nl < minLeaf || nr < minLeaf) continue;
    const next = Math.min(i < posVals.length ? posVals[i]! : Infinity, j < negVals.length ? negVals[j]! : Infinity);
    const rp = pos - i;
    const score = (i * i + j * j) / nl + (rp * rp + (nr - rp) * (nr - rp)) / nr;
    if (score > best.score) best = { score, threshold: v + (next - v) / 2 };
  }
  return best;
}

function growTree(
  cols: Float64Array[],
  y: ArrayLike<number>,
  idx: number[],
  depth: number,
  opts: ForestOptions,
  rng: Random,
  scratch: Float64Array,
): Node {
  const n = idx.length;
  const pos = positivesOf(idx, y);
  if (pos === 0 || pos === n || n < 2 * opts.minSamplesLeaf || (opts.maxDepth !== null && depth >= opts.maxDepth))
    return { leaf: true, value: pos / n };
  const p = cols.length;
  const tries = Math.max(1, Math.floor(Math.sqrt(p)));
  const features = shuffle(
    Array.from({ length: p }, (_, j) => j),
    rng,
  ).slice(0, tries);
  let best = { score: (pos * pos + (n - pos) * (n - pos)) / n + 1e-12, feature: -1, threshold: 0 }; // must beat no split
  for (const f of features) {
    const s = bestSplit(cols[f]!, y, idx, pos, opts.minSamplesLeaf, scratch);
    if (s.score > best.score) best = { ...s, feature: f };
  }
  if (best.feature < 0) return { leaf: true, value: pos / n };
  const col = cols[best.feature]!;
  const left = idx.filter((i) => col[i]! <= best.threshold);
  const right = idx.filter((i) => col[i]! > best.threshold);
  return {
    leaf: false,
    feature: best.feature,
    threshold: best.threshold,
    left: growTree(cols, y, left, depth + 1, opts, rng, scratch),
    right: growTree(cols, y, right, depth + 1, opts, rng, scratch),
  };
}

function predictTree(node: Node, row: number[]): number {
  while (!node.leaf) node = row[node.feature]! <= node.threshold ? node.left : node.right;
  return node.value;
}

export function fitForest(X: Matrix, y: ArrayLike<number>, options: ForestOptions): ForestModel {
  const rng = mulberry32(deriveSeed('random-forest', options.seed));
  const n = X.length;
  const trees: Node[] = [];
  const p = n ? X[0]!.length : 0;
  const cols = Array.from({ length: p }, (_, j) => Float64Array.from(X, (row) => row[j]!)); // column-major for splits
  const scratch = new Float64Array(n);
  for (let t = 0; t < options.nTrees; t++) {
    const sample = Array.from({ length: n }, () => randInt(rng, n));
    trees.push(growTree(cols, y, sample, 0, options, rng, scratch));
  }
  return {
    kind: 'forest',
    options: { ...options },
    trees,
    predictProba: (Z) => Z.map((row) => trees.reduce((s, tree) => s + predictTree(tree, row), 0) / trees.length),
  };
}
