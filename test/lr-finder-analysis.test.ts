// LR finder analysis: ramp, smoothing (against pandas' bias-corrected EWM), stop rule, suggestions.
import { describe, expect, it } from 'vitest';

import { lrFinderChart } from '../src/plot/index.js';
import {
  analyseLrFinder,
  LrFinderTracker,
  lrRamp,
  smoothLosses,
  suggestLr,
  valleyIndex,
} from '../src/schedule/lr-finder.js';
import { close, python } from './stats-reference.js';

describe('ramp and smoothing', () => {
  it('ramps exponentially from start to end over numIter steps', () => {
    const r = lrRamp();
    expect(r(0)).toBe(1e-7);
    expect(close(r(99), 10, 1e-14)).toBe(true);
    // Constant ratio between steps: 1e8^(1/99).
    for (const i of [1, 17, 60]) expect(close(r(i + 1) / r(i), 1e8 ** (1 / 99), 1e-12)).toBe(true);
    expect(lrRamp({ numIter: 1 })(0)).toBe(1e-7);
    expect(() => lrRamp({ start: 1, end: 0.5 })).toThrow(/for end but received 0.5/);
  });

  it('smooths like pandas ewm(alpha = 1 - beta, adjust=True), i.e. the bias-corrected EMA', () => {
    const losses = Array.from({ length: 150 }, (_, i) => 2 + Math.sin(i / 7) + 0.3 * Math.cos(i * 1.3));
    const ref = python<number[][]>(
      `import pandas as pd
out = [pd.Series(inp).ewm(alpha=1 - b, adjust=True).mean().tolist() for b in (0.98, 0.9)]`,
      losses,
    );
    [0.98, 0.9].forEach((b, k) =>
      smoothLosses(losses, b).forEach((v, i) => expect(close(v, ref[k][i], 1e-12), `beta ${b} i ${i}`).toBe(true)),
    );
  });

  it('stops at the first step where the smoothed loss exceeds 4x its best, or is NaN', () => {
    const losses = [...Array(30).fill(1), ...Array(70).fill(50)];
    const smoothed = smoothLosses(losses);
    const expected = smoothed.findIndex((s) => s > 4); // best is 1 throughout the flat start
    const t = new LrFinderTracker();
    let stoppedAt = -1;
    for (let i = 0; i < losses.length && stoppedAt < 0; i++) if (t.record(i, losses[i])) stoppedAt = i;
    expect(expected).toBeGreaterThan(30);
    expect(stoppedAt).toBe(expected);
    expect(t.losses).toHaveLength(expected + 1);
    const n = new LrFinderTracker();
    expect([n.record(1, 2), n.record(2, 1.5), n.record(3, NaN)]).toEqual([false, false, true]);
  });
});

describe('suggestions', () => {
  it('min is the LR at the smallest loss, minDiv10 a tenth of it, after trimming the ends', () => {
    const lrs = Array.from({ length: 100 }, (_, i) => 10 ** (-7 + (8 * i) / 99));
    const loss = lrs.map((_, i) => 1 + ((i - 63) / 40) ** 2);
    loss[2] = -5; // inside the trimmed start: ignored
    const s = suggestLr(lrs, loss);
    expect(s.min.index).toBe(63);
    expect(s.min.lr).toBe(lrs[63]);
    expect(s.minDiv10).toBe(lrs[63] / 10);
  });

  it('valley is 2/3 down the longest strictly decreasing stretch', () => {
    // Rising, then strictly decreasing over indices 20..80 (61 points), then rising again.
    const n = 100;
    const loss = Array.from({ length: n }, (_, i) =>
      i < 20 ? 1.5 + i * 0.01 : i <= 80 ? 3 - (i - 20) * 0.03 : 1.2 + (i - 80) * 0.5,
    );
    // The longest decreasing subsequence is 20..80 (every earlier value is below 3): 61 points.
    // fastai: start = end - length = 19, idx = start + int(61/3) + int(61/3/2) = 19 + 20 + 10.
    expect(valleyIndex(loss)).toBe(49);
    const lrs = loss.map((_, i) => i);
    const s = suggestLr(lrs, loss, { skipStart: 0, skipEnd: 0 });
    expect(s.valley.index).toBe(49);
    // 2/3 down the valley (20..80): between 55% and 70% of its span.
    expect((s.valley.index - 20) / 60).toBeGreaterThan(0.45);
    expect((s.valley.index - 20) / 60).toBeLessThan(0.7);
    expect(s.min.index).toBe(80);
  });

  it('analyse cuts at the first NaN; too short a run gives no suggestion instead of throwing', () => {
    const lrs = Array.from({ length: 60 }, (_, i) => 1e-6 * 1.2 ** i);
    const losses = lrs.map((_, i) => (i < 50 ? 2 - i * 0.02 : NaN));
    const c = analyseLrFinder(lrs, losses);
    expect(c.suggestions!.min.index).toBe(49);
    expect(analyseLrFinder([1, 2, 3], [1, 0.5, 0.2]).suggestions).toBeNull();
    expect(() => suggestLr([1, 2, 3], [1, 0.5, 0.2])).toThrow(/Expected a curve with at least 7 finite points/);
  });

  it('draws the curve on a log axis with the three suggestions marked', () => {
    const lrs = Array.from({ length: 100 }, (_, i) => 10 ** (-7 + (8 * i) / 99));
    const losses = lrs.map((lr) => 1 + 0.5 * Math.tanh(-Math.log10(lr) - 3) + (lr > 0.1 ? 20 * lr : 0));
    const svg = lrFinderChart(analyseLrFinder(lrs, losses));
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg.match(/<line class="marker"/g)).toHaveLength(3);
    const labels = [...svg.matchAll(/<text class="marker-label"[^>]*>([^<]*)</g)].map((m) => m[1].split(' ')[0]);
    expect(labels).toEqual(['min', 'min/10', 'valley']);
    expect(svg).toContain('>1e-7<');
    expect(svg).toContain('>learning rate<');
  });
});
