// The SVG chart module: the drawn SVG contains the data, labels and legend; the PNG renders with text.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { aucByArmChart, aucVsNChart, lineChart, panels, toPng, trainingCurvesChart } from '../src/plot/index.js';
import { paperFigure } from '../src/report/figures.js';
import type { ArmSummary } from '../src/report/data.js';
import { linearTicks, logTicks, niceDomain } from '../src/plot/ticks.js';

/** The [x, y] vertices of an SVG path made of M/L commands. */
function vertices(d: string): number[][] {
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}
function pathsOf(svg: string, cls: string): { name: string; d: string }[] {
  return [...svg.matchAll(new RegExp(`<path class="${cls}" data-name="([^"]*)" d="([^"]*)"`, 'g'))].map((m) => ({
    name: m[1],
    d: m[2],
  }));
}
function textsOf(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);
}

describe('lineChart', () => {
  const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const spec = {
    title: 'LR & momentum',
    x: { label: 'iteration' },
    y: { label: 'learning rate' },
    series: [
      { name: 'group 1', x, y: x.map((v) => v * v) },
      {
        name: 'group <2>',
        x,
        y: x.map((v) => 100 - v * v),
        dash: true,
        band: { lo: x.map((v) => 90 - v * v), hi: x.map((v) => 100 - v) },
      },
    ],
    markers: [{ x: 3, label: 'unfreeze group 2' }, { x: 6 }],
  };
  const svg = lineChart(spec);

  it('draws one path per series with one vertex per point, in order and increasing with the data', () => {
    const lines = pathsOf(svg, 'series');
    expect(lines.map((l) => l.name)).toEqual(['group 1', 'group &lt;2&gt;']);
    const v1 = vertices(lines[0].d);
    expect(v1).toHaveLength(10);
    // x increases left to right; y = x^2 increases, so the pixel y decreases (SVG y points down).
    for (let k = 1; k < 10; k++) {
      expect(v1[k][0]).toBeGreaterThan(v1[k - 1][0]);
      expect(v1[k][1]).toBeLessThan(v1[k - 1][1]);
    }
    expect(svg).toMatch(/data-name="group &lt;2&gt;" d="[^"]*"[^>]*stroke-dasharray="6 4"/);
  });

  it('has the band as a closed polygon of 2n vertices, the title, axis labels, legend and markers', () => {
    const bands = pathsOf(svg, 'band');
    expect(bands).toHaveLength(1);
    expect(vertices(bands[0].d)).toHaveLength(20);
    expect(bands[0].d.endsWith('Z')).toBe(true);
    expect(textsOf(svg, 'title')).toEqual(['LR &amp; momentum']);
    expect(textsOf(svg, 'x-label')).toEqual(['iteration']);
    expect(textsOf(svg, 'y-label')).toEqual(['learning rate']);
    expect([...svg.matchAll(/class="legend-entry" data-name="([^"]*)"/g)].map((m) => m[1])).toEqual([
      'group 1',
      'group &lt;2&gt;',
    ]);
    const markers = [...svg.matchAll(/<line class="marker" x1="([\d.]+)"[^>]*stroke="([^"]+)"/g)];
    expect(markers).toHaveLength(2);
    expect(markers.every((m) => m[2] === '#d62728')).toBe(true);
    // The marker at x=3 sits exactly on the 4th vertex of the series.
    expect(Number(markers[0][1])).toBeCloseTo(vertices(pathsOf(svg, 'series')[0].d)[3][0], 1);
    expect(textsOf(svg, 'marker-label')).toEqual(['unfreeze group 2']);
  });

  it('breaks lines at NaN and, on a log axis, at values <= 0; log ticks are decades', () => {
    const s = lineChart({
      x: { log: true },
      y: { label: 'loss' },
      series: [{ name: 'a', x: [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1], y: [1, 2, NaN, 3, 4, 5, 6, 7] }],
    });
    const d = pathsOf(s, 'series')[0].d;
    expect(d.match(/M/g)).toHaveLength(2);
    expect(vertices(d)).toHaveLength(7);
    expect(textsOf(s, 'tick x-tick')).toEqual(['1e-7', '1e-6', '1e-5', '1e-4', '1e-3', '1e-2', '1e-1', '1']);
    const neg = lineChart({ x: { log: true }, y: {}, series: [{ name: 'b', x: [-1, 0, 1, 10], y: [1, 2, 3, 4] }] });
    expect(vertices(pathsOf(neg, 'series')[0].d)).toHaveLength(2);
  });

  it('respects fixed y limits (ticks within them) and rejects malformed series naming the field', () => {
    const s = lineChart({ x: {}, y: { min: 0.5, max: 1 }, series: [{ name: 'auc', x: [50, 100], y: [0.7, 0.8] }] });
    const ticks = textsOf(s, 'tick y-tick').map(Number);
    expect(Math.min(...ticks)).toBe(0.5);
    expect(Math.max(...ticks)).toBe(1);
    expect(() => lineChart({ x: {}, y: {}, series: [{ name: 'a', x: [1, 2], y: [1] }] })).toThrow(
      /Expected an array as long as x \(2\) for charts\[0\]\.series\[0\]\.y/,
    );
    expect(() => lineChart({ x: {}, y: { min: 1, max: 0 }, series: [] })).toThrow(
      /Expected a number above min \(1\) for charts\[0\]\.y\.max but received 0/,
    );
    expect(() => lineChart({ x: { log: true, min: 0 }, y: {}, series: [] })).toThrow(
      /Expected a number > 0 \(log axis\) for charts\[0\]\.x\.min/,
    );
    expect(() => panels([])).toThrow(/Expected a non-empty array of chart specs for charts/);
  });

  it('draws a staircase for step series and gives a constant series a sensible range', () => {
    const s = lineChart({ x: {}, y: {}, series: [{ name: 'lr', x: [0, 1, 2], y: [0.9, 0.9, 0.9], step: true }] });
    const v = vertices(pathsOf(s, 'series')[0].d);
    expect(v).toHaveLength(5);
    expect(v[1]).toEqual([v[2][0], v[0][1]]); // horizontal first, then vertical
    const ticks = textsOf(s, 'tick y-tick').map(Number);
    expect(Math.min(...ticks)).toBeGreaterThanOrEqual(0.8);
    expect(Math.max(...ticks)).toBeLessThanOrEqual(1);
  });

  it('lays out several panels in a grid', () => {
    const one = { x: {}, y: {}, series: [{ name: 'a', x: [0, 1], y: [0, 1] }], width: 300, height: 200 };
    const s = panels([one, one, one], { columns: 2, title: 'Three' });
    expect(s.match(/<g class="panel"/g)).toHaveLength(3);
    expect(s).toMatch(/<svg[^>]* width="600" height="430"/);
    expect(textsOf(s, 'suptitle')).toEqual(['Three']);
    // Clip ids differ between documents (SVGs inlined into one page) and match within one.
    const ids = (svg: string) => [...new Set([...svg.matchAll(/tx-clip-[\w-]+/g)].map((m) => m[0]))];
    expect(ids(s)).toHaveLength(3);
    expect(ids(lineChart(one))).not.toEqual(ids(lineChart({ ...one, title: 'other' })));
  });
});

describe('figures', () => {
  it('AUC vs N: a panel per target, per arm a line with one dot per N and a CI band', () => {
    const n = [50, 100, 200, 400];
    const arm = (name: string, b: number) => ({
      name,
      n,
      auc: n.map(() => b),
      lo: n.map(() => b - 0.05),
      hi: n.map(() => b + 0.05),
    });
    const svg = aucVsNChart([
      { title: 'Emphysema', arms: [arm('ImageNet', 0.7), arm('MURA', 0.65)] },
      { title: 'Hernia', arms: [arm('ImageNet', 0.3)] },
    ]);
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    expect(pathsOf(svg, 'series').map((p) => p.name)).toEqual(['ImageNet', 'MURA', 'ImageNet']);
    expect(pathsOf(svg, 'band')).toHaveLength(3);
    expect(svg.match(/<circle class="point"/g)).toHaveLength(12);
    expect(textsOf(svg, 'title')).toEqual(['Emphysema', 'Hernia']);
    // The Hernia panel reaches below 0.5 to show an AUC of 0.3, whose band starts at 0.25.
    expect(svg).toMatch(/>0\.2</);
  });

  it('AUC at one N: an arm per labelled slot, a dot per seed on one vertical, a bar at the mean', () => {
    const svg = aucByArmChart(
      [
        {
          title: 'cardiomegaly',
          arms: [
            { name: 'none', values: [0.5, 0.7, 0.6] },
            { name: 'chest-source', values: [0.8, 0.75, 0.85] },
          ],
        },
      ],
      { n: 50 },
    );
    expect(textsOf(svg, 'tick x-tick')).toEqual(['none', 'chest-source']);
    expect(textsOf(svg, 'x-label')[0]).toMatch(/^N = 50/);
    expect(svg.match(/<circle class="point"/g)).toHaveLength(6);
    expect(svg).not.toMatch(/class="legend"/);
    const [noneSeeds, noneMean, chestSeeds, chestMean] = pathsOf(svg, 'series').map((p) => vertices(p.d));
    // Seeds: one x per arm, slots left to right; sorted, so the path runs from the lowest AUC (largest y) up.
    expect(new Set(noneSeeds!.map((v) => v[0])).size).toBe(1);
    expect(chestSeeds![0]![0]).toBeGreaterThan(noneSeeds![0]![0]!);
    expect(noneSeeds!.map((v) => v[1])).toEqual([...noneSeeds!.map((v) => v[1]!)].sort((a, b) => b - a));
    // The mean bar is horizontal, centred on its arm's slot, at the mean (here the middle seed's AUC).
    for (const [seeds, mean] of [
      [noneSeeds!, noneMean!],
      [chestSeeds!, chestMean!],
    ]) {
      expect(mean[0]![1]).toBe(mean[1]![1]);
      expect((mean[0]![0]! + mean[1]![0]!) / 2).toBeCloseTo(seeds[0]![0]!, 1);
      expect(mean[0]![1]).toBeCloseTo(seeds[1]![1]!, 1);
    }
    expect(() => lineChart({ x: { categories: [] }, y: {}, series: [] })).toThrow(/charts\[0\]\.x\.categories/);
  });

  it("the report's paper figure draws seeds per arm when every arm runs one N, lines over N otherwise", () => {
    const run = (n: number, seed: number, auc: number) => ({
      status: 'done',
      n,
      seed,
      test_auc: auc,
      test_auc_tta: auc,
      result_json: '{}',
    });
    const arm = (name: string, nGrid: number[], aucs: number[]) =>
      ({
        group: 'source-data',
        figure: '6',
        name,
        target: 'cardiomegaly',
        nGrid,
        aucTta: nGrid.map(() => aucs[0]!),
        auc: [],
        done: [],
        runs: nGrid.flatMap((n) => aucs.map((a, s) => run(n, s, a))),
      }) as unknown as ArmSummary;
    const one = paperFigure('6', [arm('none', [50], [0.5, 0.6]), arm('chest', [50], [0.7, 0.8])], { simulated: true });
    expect(textsOf(one.svg, 'tick x-tick')).toEqual(['none', 'chest']);
    expect(one.svg.match(/<circle class="point"/g)).toHaveLength(4);
    expect(one.title).toBe('SIMULATED phantoms. Fig. 6: source-data');
    const grid = paperFigure('6', [arm('none', [50, 100], [0.5]), arm('chest', [50, 100], [0.7])]);
    expect(textsOf(grid.svg, 'x-label')).toEqual(['training set size N']);
    expect(pathsOf(grid.svg, 'series').map((p) => p.name)).toEqual(['none', 'chest']);
  });

  it('training curves: loss panel and AUC panel with the best epoch marked', () => {
    const x = [1, 2, 3, 4];
    const svg = trainingCurvesChart({
      x,
      trainLoss: [1, 0.8, 0.7, 0.6],
      valLoss: [1, 0.9, 0.95, 1],
      valAuc: [0.6, 0.7, 0.72, 0.71],
      best: 2,
    });
    expect(pathsOf(svg, 'series').map((p) => p.name)).toEqual(['train loss', 'validation loss', 'validation AUC']);
    expect(svg.match(/<line class="marker"/g)).toHaveLength(2);
  });
});

describe('ticks', () => {
  it('are nice 1-2-5 steps covering the domain', () => {
    expect(niceDomain(0.013, 0.87)).toEqual([0, 1]);
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0, 2000)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(logTicks(50, 2000)).toEqual([50, 100, 200, 500, 1000, 2000]);
  });
});

describe('toPng', () => {
  it('writes a PNG of the SVG size (times scale) and the text is rendered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'torchxfer-plot-'));
    const chart = lineChart({
      title: 'T',
      x: { label: 'x' },
      y: {},
      series: [{ name: 'a', x: [0, 1], y: [0, 1] }],
      width: 320,
      height: 240,
    });
    expect(await toPng(chart, join(dir, 'c.png'))).toEqual({ width: 320, height: 240 });
    const meta = await sharp(join(dir, 'c.png')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 320, 240]);
    expect(await toPng(chart, join(dir, 'c2.png'), { scale: 2 })).toEqual({ width: 640, height: 480 });
    // Text alone: a white canvas with one word must come back with dark pixels where the word is.
    const word = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><rect width="200" height="60" fill="white"/><text x="10" y="40" font-family="DejaVu Sans, sans-serif" font-size="30">AUC</text></svg>`;
    await toPng(word, join(dir, 'w.png'));
    const { data } = await sharp(join(dir, 'w.png')).greyscale().raw().toBuffer({ resolveWithObject: true });
    const dark = data.filter((v) => v < 100).length;
    expect(dark).toBeGreaterThan(150);
    const blank = word.replace('AUC', '');
    await toPng(blank, join(dir, 'b.png'));
    const b = await sharp(join(dir, 'b.png')).greyscale().raw().toBuffer();
    expect(b.filter((v) => v < 100).length).toBe(0);
  });
});
