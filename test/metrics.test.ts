// Metrics against scikit-learn and torch: ROC AUC (ties as half), macro AUC, bootstrap CI, BCE.
import { describe, expect, it } from 'vitest';

import { bce, bceWithLogits, bootstrapAucCi, bootstrapMacroAucCi, macroAuc, rocAuc } from '../src/metrics/index.js';
import { mulberry32 } from '../src/random.js';
import { close, python } from './stats-reference.js';

function dataset(seed: number, n: number, tied: boolean) {
  const rand = mulberry32(seed);
  const labels = Array.from({ length: n }, () => (rand() < 0.4 ? 1 : 0));
  if (!labels.includes(1)) labels[0] = 1;
  if (!labels.includes(0)) labels[1] = 0;
  // Positives score higher on average; tied scores come from a coarse grid.
  const scores = labels.map((l) => {
    const s = rand() + 0.35 * l;
    return tied ? Math.round(s * 4) / 4 : s;
  });
  return { labels, scores };
}

describe('rocAuc', () => {
  it('equals sklearn roc_auc_score on tied and untied random scores over many seeds', () => {
    const cases = [];
    for (let seed = 1; seed <= 40; seed++) cases.push(dataset(seed, 5 + ((seed * 37) % 300), seed % 2 === 0));
    const ref = python<number[]>(
      `from sklearn.metrics import roc_auc_score
out = [float(roc_auc_score(c["labels"], c["scores"])) for c in inp]`,
      cases,
    );
    cases.forEach((c, i) => expect(close(rocAuc(c.labels, c.scores), ref[i], 1e-12), `seed ${i + 1}`).toBe(true));
    // Ties really occur in the tied cases, and all-tied scores give exactly one half.
    expect(new Set(cases[1].scores).size).toBeLessThan(cases[1].scores.length);
    expect(rocAuc([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  it('gives NaN with one class present and never throws for it; bad labels are named', () => {
    expect(Number.isNaN(rocAuc([1, 1, 1], [0.1, 0.2, 0.3]))).toBe(true);
    expect(Number.isNaN(rocAuc([0, NaN, 0], [0.1, 0.2, 0.3]))).toBe(true);
    expect(Number.isNaN(rocAuc([], []))).toBe(true);
    expect(rocAuc([true, false, NaN], [0.9, 0.1, 0.5])).toBe(1);
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/Expected 0, 1 or NaN \(masked\) for labels\[1\] but received 2/);
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/Expected an array of 2 scores \(as long as labels\) for scores/);
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow(/for scores\[1\]/);
  });
});

describe('macroAuc', () => {
  it('is the mean of per-label sklearn AUCs, with masked entries excluded and one-class labels missing', () => {
    const rand = mulberry32(11);
    const n = 60;
    const L = 4;
    const labels: number[][] = Array.from({ length: n }, () => Array.from({ length: L }, () => (rand() < 0.5 ? 1 : 0)));
    const scores = labels.map((row) => row.map((l) => rand() + 0.3 * l));
    labels.forEach((row) => (row[2] = 0)); // label 2: negatives only -> missing
    const mask = labels.map(() => Array.from({ length: L }, () => rand() > 0.2));
    labels[5][1] = NaN; // a NaN label is masked too
    const r = macroAuc(labels, scores, mask);
    const ref = python<(number | null)[]>(
      `from sklearn.metrics import roc_auc_score
import math
out = []
for j in range(${L}):
    keep = [i for i in range(len(inp["y"])) if inp["m"][i][j] and not (inp["y"][i][j] is None or math.isnan(inp["y"][i][j]))]
    y = [inp["y"][i][j] for i in keep]
    out.append(float(roc_auc_score(y, [inp["s"][i][j] for i in keep])) if len(set(y)) == 2 else None)`,
      { y: labels.map((row) => row.map((v) => (Number.isNaN(v) ? null : v))), s: scores, m: mask },
    );
    expect(r.missing).toEqual([2]);
    expect(r.perLabel[2]).toBeNull();
    r.perLabel.forEach((v, j) =>
      v === null ? expect(ref[j]).toBeNull() : expect(close(v, ref[j]!, 1e-12)).toBe(true),
    );
    const present = ref.filter((v): v is number => v !== null);
    expect(close(r.mean, present.reduce((a, b) => a + b) / present.length, 1e-12)).toBe(true);
    // The flat row-major form gives the same answer.
    const flat = macroAuc(
      { data: labels.flat(), cols: L },
      { data: scores.flat(), cols: L },
      { data: mask.flat(), cols: L },
    );
    expect(flat).toEqual(r);
    expect(() => macroAuc(labels, scores.slice(1))).toThrow(/Expected a matrix shaped as labels \(60 x 4\) for scores/);
    expect(Number.isNaN(macroAuc([[0], [0]], [[0.1], [0.2]]).mean)).toBe(true);
  });
});

describe('bootstrapAucCi', () => {
  it('contains the AUC, is reproducible by seed, shrinks with n and matches an independent numpy bootstrap', () => {
    const small = dataset(5, 80, false);
    const big = dataset(6, 2000, false);
    const a = bootstrapAucCi(small.labels, small.scores, { seed: 1 });
    const b = bootstrapAucCi(big.labels, big.scores, { seed: 1 });
    for (const r of [a, b]) {
      expect(r.lo).toBeLessThan(r.auc);
      expect(r.hi).toBeGreaterThan(r.auc);
      expect(r.replicates).toBe(1000);
    }
    expect(b.hi - b.lo).toBeLessThan((a.hi - a.lo) / 3);
    expect(bootstrapAucCi(small.labels, small.scores, { seed: 1 })).toEqual(a);
    expect(bootstrapAucCi(small.labels, small.scores, { seed: 2 })).not.toEqual(a);
    // Different generator, same procedure: interval ends agree to Monte Carlo error.
    const ref = python<[number, number]>(
      `import numpy as np
from sklearn.metrics import roc_auc_score
y = np.array(inp["labels"]); s = np.array(inp["scores"]); rng = np.random.default_rng(0)
P = np.flatnonzero(y == 1); N = np.flatnonzero(y == 0); v = []
for _ in range(1500):
    idx = np.concatenate([rng.choice(P, len(P)), rng.choice(N, len(N))])
    v.append(roc_auc_score(y[idx], s[idx]))
out = [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))]`,
      small,
    );
    const width = ref[1] - ref[0];
    expect(Math.abs(a.lo - ref[0])).toBeLessThan(0.2 * width);
    expect(Math.abs(a.hi - ref[1])).toBeLessThan(0.2 * width);
    const one = bootstrapAucCi([1, 1], [0.2, 0.3]);
    expect([one.auc, one.lo, one.hi].every(Number.isNaN)).toBe(true);
    expect(() => bootstrapAucCi(small.labels, small.scores, { replicates: 0 })).toThrow(
      /Expected an integer between 1 and 10000000 for replicates but received 0/,
    );
  });
});

describe('bootstrapMacroAucCi', () => {
  it('resamples images with their labels; the interval contains the macro AUC and matches a numpy bootstrap', () => {
    const rand = mulberry32(21);
    const n = 150;
    const labels = Array.from({ length: n }, () => [rand() < 0.5 ? 1 : 0, rand() < 0.2 ? 1 : 0, rand() < 0.6 ? 1 : 0]);
    const scores = labels.map((row) => row.map((l, j) => rand() + (0.2 + 0.2 * j) * l));
    const mask = labels.map(() => [true, true, rand() > 0.3]);
    const r = bootstrapMacroAucCi(labels, scores, mask, { seed: 4 });
    expect(r.auc).toBe(macroAuc(labels, scores, mask).mean);
    expect(r.lo).toBeLessThan(r.auc);
    expect(r.hi).toBeGreaterThan(r.auc);
    expect(bootstrapMacroAucCi(labels, scores, mask, { seed: 4 })).toEqual(r);
    const ref = python<[number, number]>(
      `import numpy as np
from scipy.stats import rankdata
y = np.array(inp["y"], dtype=float); s = np.array(inp["s"]); m = np.array(inp["m"], dtype=bool)
rng = np.random.default_rng(1); n = len(y); v = []
def auc(yy, ss):
    P = (yy == 1).sum(); N = (yy == 0).sum()
    if P == 0 or N == 0: return None
    return (rankdata(ss)[yy == 1].sum() - P * (P + 1) / 2) / (P * N)
for _ in range(1500):
    idx = rng.integers(0, n, n)
    a = [auc(y[idx, j][m[idx, j]], s[idx, j][m[idx, j]]) for j in range(y.shape[1])]
    a = [x for x in a if x is not None]
    if a: v.append(np.mean(a))
out = [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))]`,
      { y: labels, s: scores, m: mask },
    );
    const width = ref[1] - ref[0];
    expect(Math.abs(r.lo - ref[0])).toBeLessThan(0.2 * width);
    expect(Math.abs(r.hi - ref[1])).toBeLessThan(0.2 * width);
  });
});

describe('binary cross-entropy', () => {
  it('matches torch (with logits, and on probabilities with its -100 log clamp)', () => {
    const logits = [-120, -30, -2.5, -0.1, 0, 0.7, 3, 45, 200];
    const targets = [0, 1, 1, 0, 1, 0.3, 0, 1, 0];
    const probs = [0, 1e-50, 0.2, 0.5, 0.99, 1, 0.3, 0.7, 1];
    const ref = python<number[]>(
      `import torch, torch.nn.functional as F
x = torch.tensor(inp["x"], dtype=torch.float64); t = torch.tensor(inp["t"], dtype=torch.float64); p = torch.tensor(inp["p"], dtype=torch.float64)
out = [F.binary_cross_entropy_with_logits(x, t).item(), F.binary_cross_entropy(p, t).item()]`,
      { x: logits, t: targets, p: probs },
    );
    expect(close(bceWithLogits(logits, targets), ref[0], 1e-12)).toBe(true);
    expect(close(bce(probs, targets), ref[1], 1e-12)).toBe(true);
    expect(bceWithLogits([5, 1], [NaN, 1])).toBeCloseTo(Math.log1p(Math.exp(-1)), 14);
    expect(() => bce([1.5], [1])).toThrow(/Expected a probability in \[0, 1\] for probs\[0\] but received 1.5/);
  });
});
