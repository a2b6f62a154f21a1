// Statistics against scipy: the paired t-test, the Student t CDF and the incomplete beta it rests on.
import { describe, expect, it } from 'vitest';

import {
  compareOverGrid,
  mean,
  median,
  pairedTTest,
  quantile,
  std,
  studentTCdf,
  variance,
} from '../src/stats/index.js';
import { mulberry32 } from '../src/random.js';
import { incompleteBeta } from '../src/stats/special.js';
import { close, python } from './stats-reference.js';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

describe('Student t CDF and incomplete beta', () => {
  it('match scipy.stats.t.cdf and scipy.special.betainc to ~1e-10 over a wide grid', () => {
    const pts: [number, number][] = [];
    for (const df of [1, 2, 3, 4.5, 7, 10, 19, 30, 100, 1000, 1e5]) {
      for (const t of [
        -1e3, -40, -8, -3.2, -2, -1, -0.5, -1e-3, -1e-9, 0, 1e-9, 1e-3, 0.3, 1, 1.96, 2.5, 4, 9, 30, 500,
      ])
        pts.push([t, df]);
    }
    const betaPts: [number, number, number][] = [];
    for (const a of [0.5, 1, 2.5, 10, 80])
      for (const b of [0.5, 3, 25, 200])
        for (const x of [1e-6, 0.01, 0.2, 0.5, 0.77, 0.99, 1 - 1e-7]) betaPts.push([a, b, x]);
    const ref = python<{ cdf: number[]; sf: number[]; beta: number[] }>(
      `from scipy import stats, special
out = {"cdf": [float(stats.t.cdf(t, df)) for t, df in inp["t"]], "sf": [float(stats.t.sf(t, df)) for t, df in inp["t"]],
       "beta": [float(special.betainc(a, b, x)) for a, b, x in inp["beta"]]}`,
      { t: pts, beta: betaPts },
    );
    pts.forEach(([t, df], i) => {
      const mine = studentTCdf(t, df);
      // Both tails are compared relatively: the tiny tail holds the information a p-value needs.
      expect(close(mine, ref.cdf[i], 1e-10, 1e-300), `cdf(${t}, ${df}) = ${mine} vs ${ref.cdf[i]}`).toBe(true);
      expect(
        close(1 - mine, ref.sf[i], 1e-9, 1e-15) || close(studentTCdf(-t, df), ref.sf[i], 1e-10),
        `sf(${t}, ${df})`,
      ).toBe(true);
    });
    betaPts.forEach(([a, b, x], i) => {
      expect(
        close(incompleteBeta(a, b, x), ref.beta[i], 1e-10, 1e-300),
        `I_${x}(${a}, ${b}) = ${incompleteBeta(a, b, x)} vs ${ref.beta[i]}`,
      ).toBe(true);
    });
  });
});

describe('pairedTTest', () => {
  it('equals scipy.stats.ttest_rel (t and p) on random pairs, small n included', () => {
    const rand = mulberry32(7);
    const cases: { a: number[]; b: number[] }[] = [];
    for (const n of [2, 3, 4, 5, 8, 10, 10, 10, 30, 200]) {
      for (let rep = 0; rep < 4; rep++) {
        const shift = (rep - 1.5) * 0.3;
        const a = Array.from({ length: n }, () => 0.7 + 0.1 * gaussian(rand));
        cases.push({ a, b: a.map((v) => v + shift * 0.1 + 0.05 * gaussian(rand)) });
      }
    }
    const ref = python<[number, number][]>(
      `from scipy import stats
out = [[float(r.statistic), float(r.pvalue)] for r in (stats.ttest_rel(c["a"], c["b"]) for c in inp)]`,
      cases,
    );
    cases.forEach(({ a, b }, i) => {
      const r = pairedTTest(a, b);
      expect(r.df).toBe(a.length - 1);
      expect(close(r.t, ref[i][0], 1e-10), `t for case ${i}: ${r.t} vs ${ref[i][0]}`).toBe(true);
      expect(close(r.p, ref[i][1], 1e-9, 1e-300), `p for case ${i}: ${r.p} vs ${ref[i][1]}`).toBe(true);
    });
  });

  it('handles degenerate inputs as scipy does and rejects bad ones naming the argument', () => {
    const ref = python<[number, number][]>(
      `from scipy import stats
import warnings
warnings.simplefilter("ignore")
out = [[float(r.statistic), float(r.pvalue)] for r in (stats.ttest_rel(c[0], c[1]) for c in inp)]`,
      [
        [
          [1, 2, 3],
          [0, 1, 2],
        ],
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
        [[1], [2]],
      ],
    );
    const mine = [pairedTTest([1, 2, 3], [0, 1, 2]), pairedTTest([1, 2, 3], [1, 2, 3]), pairedTTest([1], [2])];
    mine.forEach((r, i) => {
      expect(close(r.t, ref[i][0], 0)).toBe(true);
      expect(close(r.p, ref[i][1], 0)).toBe(true);
    });
    expect(() => pairedTTest([1, 2], [1])).toThrow(
      /Expected an array of 2 finite numbers \(as long as a\) for b but received an array of length 1/,
    );
    expect(() => pairedTTest([1, NaN], [1, 2])).toThrow(/for a /);
  });
});

describe('compareOverGrid', () => {
  it('pairs the arms by N, ignoring sizes only one arm has, and tests as ttest_rel on the pairs', () => {
    const a = { n: [400, 50, 100, 200, 3000], value: [0.8, 0.6, 0.7, 0.74, 0.9] };
    const b = { n: [50, 100, 200, 400, 600], value: [0.55, 0.69, 0.7, 0.71, 0.75] };
    const r = compareOverGrid(a, b);
    expect(r.pairedN).toEqual([50, 100, 200, 400]);
    expect(r.unpairedN).toEqual([600, 3000]);
    const ref = python<number[]>(
      `from scipy import stats
r = stats.ttest_rel([0.6, 0.7, 0.74, 0.8], [0.55, 0.69, 0.7, 0.71])
out = [float(r.statistic), float(r.pvalue)]`,
      null,
    );
    expect(close(r.t, ref[0], 1e-10)).toBe(true);
    expect(close(r.p, ref[1], 1e-10)).toBe(true);
    expect(() => compareOverGrid({ n: [50, 50], value: [1, 2] }, b)).toThrow(/Expected distinct sizes for a\.n/);
  });
});

describe('descriptive helpers', () => {
  it('match numpy (mean, std ddof 0/1, var, quantiles with linear interpolation)', () => {
    const rand = mulberry32(3);
    const x = Array.from({ length: 37 }, () => gaussian(rand) * 3 + 1);
    const ref = python<number[]>(
      `import numpy as np
x = np.array(inp)
out = [x.mean(), x.std(ddof=0), x.std(ddof=1), x.var(ddof=1), np.median(x)] + [float(np.quantile(x, q)) for q in (0, 0.025, 0.3, 0.975, 1)]`,
      x,
    );
    const mine = [
      mean(x),
      std(x, 0),
      std(x, 1),
      variance(x, 1),
      median(x),
      ...[0, 0.025, 0.3, 0.975, 1].map((q) => quantile(x, q)),
    ];
    mine.forEach((v, i) => expect(close(v, ref[i], 1e-12, 1e-14), `stat ${i}: ${v} vs ${ref[i]}`).toBe(true));
    expect(Number.isNaN(mean([]))).toBe(true);
    expect(Number.isNaN(std([5]))).toBe(true);
  });
});
