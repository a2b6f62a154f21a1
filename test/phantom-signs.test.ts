/**
 * Each finding's radiographic sign is measurable in the pixels. Every comparison is between twins: the
 * same planned patient and view drawn with and without the finding, measured with simple image statistics
 * that know nothing of the generator (no internal parameters are read).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { renderChest } from '../src/data/phantom/chest.js';
import { NIH_FINDINGS, NIH_PREVALENCE, type Finding } from '../src/data/phantom/labels.js';
import { renderMsk, type MskAbnormality } from '../src/data/phantom/msk.js';
import { planChest, planMsk } from '../src/data/phantom/plan.js';
import { synthesize } from '../src/data/phantom/synthesize.js';
import { csvRows, tempDir } from './phantom-helpers.js';

const S = 128;
const SEED = 3;
const twins = planChest(SEED, 60, 0)
  .filter((r) => r.plan.followUp === 0)
  .slice(0, 24);
const draw = (labels: Finding[]) => twins.map((r) => renderChest(SEED, { ...r.plan, labels }, S));
const controls = draw([]);

function boxMean(im: Uint8Array, x0: number, x1: number, y0: number, y1: number): number {
  let s = 0;
  let n = 0;
  for (let y = Math.floor(y0 * S); y < y1 * S; y++)
    for (let x = Math.floor(x0 * S); x < x1 * S; x++, n++) s += im[y * S + x]!;
  return s / n;
}

/**
 * Share of the central band (25-75% of the width) that is brighter than midway between the darkest lung
 * pixel and the mediastinum, averaged over rows of the lower chest where both lungs are visible.
 */
function heartShare(im: Uint8Array): number {
  let sum = 0;
  let rows = 0;
  for (let y = Math.floor(0.4 * S); y < 0.75 * S; y++) {
    const row = im.subarray(y * S, (y + 1) * S);
    const left = Math.min(...row.subarray(0.1 * S, 0.4 * S));
    const right = Math.min(...row.subarray(0.6 * S, 0.9 * S));
    const centre = [...row.subarray(0.45 * S, 0.55 * S)].sort((a, b) => a - b)[Math.floor(0.05 * S)]!;
    if (centre - Math.max(left, right) < 25) continue;
    const threshold = (Math.max(left, right) + centre) / 2;
    let bright = 0;
    for (let x = Math.floor(0.25 * S); x < 0.75 * S; x++) if (row[x]! > threshold) bright++;
    sum += bright / (0.5 * S);
    rows++;
  }
  return sum / rows;
}

/** Mean absolute detail (pixel minus its neighbours two pixels away) in a box: vessel markings, texture. */
function detail(im: Uint8Array, x0: number, x1: number, y0: number, y1: number): number {
  let s = 0;
  let n = 0;
  for (let y = Math.floor(y0 * S); y < y1 * S; y++) {
    for (let x = Math.floor(x0 * S); x < x1 * S; x++, n++) {
      const i = y * S + x;
      s += Math.abs(im[i]! - (im[i - 2]! + im[i + 2]! + im[i - 2 * S]! + im[i + 2 * S]!) / 4);
    }
  }
  return s / n;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
/** Share of twin pairs where the finding's image beats its control on `stat` in the given direction. */
function pairedShare(
  stat: (im: Uint8Array) => number,
  withFinding: Uint8Array[],
  direction: 1 | -1,
): { share: number; diff: number } {
  const a = withFinding.map(stat);
  const b = controls.map(stat);
  return { share: a.filter((v, i) => direction * (v - b[i]!) > 0).length / a.length, diff: mean(a) - mean(b) };
}

describe('chest findings leave their sign in the pixels', () => {
  it('cardiomegaly: the heart takes more of the lower central chest', () => {
    const r = pairedShare(heartShare, draw(['Cardiomegaly']), 1);
    expect(r.share).toBeGreaterThanOrEqual(0.85);
    expect(r.diff).toBeGreaterThan(0.08);
  });

  it('emphysema: the lungs are darker', () => {
    const r = pairedShare((im) => boxMean(im, 0.2, 0.8, 0.25, 0.6), draw(['Emphysema']), -1);
    expect(r.share).toBeGreaterThanOrEqual(0.9);
    expect(r.diff).toBeLessThan(-10);
  });

  it('effusion: a costophrenic angle turns opaque', () => {
    const cp = (im: Uint8Array) => Math.max(boxMean(im, 0.12, 0.3, 0.6, 0.75), boxMean(im, 0.7, 0.88, 0.6, 0.75));
    const r = pairedShare(cp, draw(['Effusion']), 1);
    expect(r.share).toBeGreaterThanOrEqual(0.6);
    expect(r.diff).toBeGreaterThan(5);
  });

  it('pneumothorax: one upper lateral zone loses its markings (left/right detail ratio drops)', () => {
    const symmetry = (im: Uint8Array) => {
      const l = detail(im, 0.15, 0.3, 0.2, 0.5);
      const rgt = detail(im, 0.7, 0.85, 0.2, 0.5);
      return Math.min(l, rgt) / Math.max(l, rgt);
    };
    const r = pairedShare(symmetry, draw(['Pneumothorax']), -1);
    expect(r.share).toBeGreaterThanOrEqual(0.7);
    expect(r.diff).toBeLessThan(-0.03);
  });

  it('consolidation and pneumonia: lung zones turn brighter', () => {
    const lungs = (im: Uint8Array) => boxMean(im, 0.12, 0.88, 0.2, 0.65);
    for (const f of ['Consolidation', 'Pneumonia'] as const) {
      const r = pairedShare(lungs, draw([f]), 1);
      expect(r.share, f).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('every finding changes the image', () => {
    for (const f of NIH_FINDINGS) {
      const few = twins.slice(0, 6);
      const changed = few.filter((r, i) =>
        renderChest(SEED, { ...r.plan, labels: [f] }, S).some((v, k) => v !== controls[i]![k]),
      ).length;
      expect(changed, f).toBe(few.length);
    }
  });
});

describe('msk abnormalities', () => {
  const energy = (im: Uint8Array, w: number, h: number) => {
    let s = 0;
    for (let y = 1; y < h - 1; y++)
      for (let x = 1; x < w - 1; x++) {
        const i = y * w + x;
        s += Math.abs(4 * im[i]! - im[i - 1]! - im[i + 1]! - im[i - w]! - im[i + w]!);
      }
    return s;
  };
  const studies = planMsk(9, 120, 96)
    .filter((r) => r.plan.view === 0)
    .slice(0, 24);

  it('abnormal films carry more edge energy (fracture gaps, lesion margins, metal) than their normal twins', () => {
    let wins = 0;
    let total = 0;
    for (const kind of ['fracture', 'hardware', 'lytic', 'sclerotic'] as MskAbnormality[]) {
      for (const r of studies) {
        const { width: w, height: h } = r.plan;
        const abnormal = renderMsk(9, { ...r.plan, abnormality: kind });
        const normal = renderMsk(9, { ...r.plan, abnormality: null });
        if (energy(abnormal, w, h) > energy(normal, w, h)) wins++;
        total++;
      }
    }
    expect(wins / total).toBeGreaterThanOrEqual(0.75);
  });

  it('a fracture shows at the demo input size: a main bone, inside the film, displaced (not a crack under a pixel)', () => {
    // Pixels that change by a visible amount (8 grey levels) between a fractured film and its normal twin, at 112 px.
    const plans = planMsk(9, 200, 112)
      .filter((r) => r.plan.view === 0)
      .slice(0, 40);
    const changed = plans.map((r) => {
      const a = renderMsk(9, { ...r.plan, abnormality: 'fracture' });
      const b = renderMsk(9, { ...r.plan, abnormality: null });
      return a.filter((v, i) => Math.abs(v - b[i]!) >= 8).length;
    });
    // Version 4 (a crack anywhere, often in a phalanx or below the film) changed a median of ~370 and as few as 55.
    const sorted = [...changed].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)], changed.join(' ')).toBeGreaterThanOrEqual(500);
    expect(sorted[0], changed.join(' ')).toBeGreaterThanOrEqual(90);
  });

  it('hardware saturates the film', () => {
    const saturated = (im: Uint8Array) => im.filter((v) => v >= 250).length;
    const more = studies.filter(
      (r) =>
        saturated(renderMsk(9, { ...r.plan, abnormality: 'hardware' })) >
        saturated(renderMsk(9, { ...r.plan, abnormality: null })),
    ).length;
    expect(more / studies.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe('labels', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function prevalences(
    n: number,
    boost?: number,
    prevalence?: Partial<Record<Finding, number>>,
  ): Promise<Map<string, number>> {
    const dir = await tempDir('phantom-labels');
    dirs.push(dir);
    await synthesize({
      kind: 'chest',
      out: join(dir, 'set'),
      n,
      seed: 21,
      size: 64,
      prevalenceBoost: boost,
      prevalence,
    });
    const rows = csvRows(await readFile(join(dir, 'set', 'Data_Entry_2017.csv'), 'utf8')).slice(1);
    const counts = new Map<string, number>();
    for (const r of rows) for (const f of r[1]!.split('|')) counts.set(f, (counts.get(f) ?? 0) + 1);
    return new Map([...counts].map(([k, v]) => [k, v / rows.length]));
  }

  it('follows NIH prevalences (CSV read back; 5 binomial standard errors, follow-ups are correlated)', async () => {
    const n = 500;
    const p = await prevalences(n);
    for (const f of NIH_FINDINGS) {
      const q = NIH_PREVALENCE[f];
      expect(Math.abs((p.get(f) ?? 0) - q), f).toBeLessThanOrEqual(5 * Math.sqrt((q * (1 - q)) / n) + 0.005);
    }
    expect(p.get('No Finding')).toBeGreaterThan(0.38);
    expect(p.get('No Finding')).toBeLessThan(0.62);
  });

  it('prevalenceBoost raises rare findings', async () => {
    const n = 300;
    const p = await prevalences(n, 0.2);
    for (const f of NIH_FINDINGS) expect(p.get(f) ?? 0, f).toBeGreaterThan(0.2 - 5 * Math.sqrt((0.2 * 0.8) / n));
  });

  it('prevalence sets a designed finding outright, the others keep NIH values; bad maps are named', async () => {
    const n = 300;
    const p = await prevalences(n, undefined, { Nodule: 0.5 });
    expect(Math.abs((p.get('Nodule') ?? 0) - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
    expect(p.get('Hernia') ?? 0).toBeLessThan(0.03);
    const out = join(await tempDir('phantom-labels'), 'bad');
    await expect(
      synthesize({ kind: 'chest', out, n: 5, seed: 1, prevalence: { Nodules: 0.3 } as never }),
    ).rejects.toThrow(/a key of prevalence/);
    await expect(synthesize({ kind: 'chest', out, n: 5, seed: 1, prevalence: { Nodule: 1.5 } })).rejects.toThrow(
      /prevalence\.Nodule/,
    );
    await expect(synthesize({ kind: 'msk', out, n: 5, seed: 1, prevalence: { Nodule: 0.3 } })).rejects.toThrow(
      /for prevalence/,
    );
  });
});
