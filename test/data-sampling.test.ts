// Sampling of the protocol (docs/protocol.md, "Data"): patient-disjoint splits, balanced binary sets, nested
// multi-label
// subsets, ChestX-ray13 disjointness, determinism by seed, and the one-class error.
import { describe, expect, it } from 'vitest';

import { NIH_LABELS } from '../src/data/datasets/nih.js';
import { hashIds } from '../src/train/data.js';
import { deriveSeed, mulberry32 } from '../src/random.js';
import {
  binaryExperiment,
  binarySplits,
  binaryTrainSubset,
  chestXray13,
  multiLabelExperiment,
  multiLabelSplits,
  sampleIds,
  splitByPatient,
} from '../src/data/sampling.js';
import type { Dataset, Sample } from '../src/data/types.js';

/** A synthetic NIH-like dataset: `patients` patients with 1-4 images; label j positive with rate[j]. */
function synthetic(patients: number, seed: number, rates: Partial<Record<string, number>> = {}): Dataset {
  const rand = mulberry32(seed);
  const samples: Sample[] = [];
  const test = new Set<string>();
  for (let p = 0; p < patients; p++) {
    const inTest = rand() < 0.2;
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const id = `${String(p).padStart(8, '0')}_${String(k).padStart(3, '0')}.png`;
      const targets = NIH_LABELS.map((l) => (rand() < (rates[l] ?? 0.1) ? 1 : 0));
      samples.push({ id, path: `/x/${id}`, patientId: String(p), targets });
      if (inTest) test.add(id);
    }
  }
  const trainVal = new Set(samples.filter((s) => !test.has(s.id)).map((s) => s.id));
  return { name: 'nih', labels: [...NIH_LABELS], samples, officialSplits: { trainVal, test }, skipped: [] };
}

function patients(samples: Sample[]): Set<string> {
  return new Set(samples.map((s) => s.patientId));
}

function expectDisjoint(a: Set<string>, b: Set<string>) {
  expect([...a].filter((x) => b.has(x))).toEqual([]);
}

const ds = synthetic(2000, 7, { Hernia: 0.01, Emphysema: 0.05 });

describe('patient splits', () => {
  for (const mode of ['official', 'random'] as const) {
    it(`${mode}: no patient in two splits, every sample in one, deterministic by seed`, () => {
      const s = splitByPatient(ds, { mode, seed: 3 });
      const [tr, va, te] = [patients(s.train), patients(s.val), patients(s.test)];
      expectDisjoint(tr, va);
      expectDisjoint(tr, te);
      expectDisjoint(va, te);
      expect(s.train.length + s.val.length + s.test.length).toBe(ds.samples.length);
      expect(splitByPatient(ds, { mode, seed: 3 })).toEqual(s);
      expect(sampleIds(splitByPatient(ds, { mode, seed: 4 }).val)).not.toEqual(sampleIds(s.val));
      const nPatients = patients(ds.samples).size;
      if (mode === 'official') {
        expect(s.test.every((x) => ds.officialSplits!.test!.has(x.id))).toBe(true);
        expect(va.size / (tr.size + va.size)).toBeCloseTo(0.1, 2);
      } else {
        expect(tr.size / nPatients).toBeCloseTo(0.7, 2);
        expect(va.size / nPatients).toBeCloseTo(0.1, 2);
      }
    });
  }

  it('an official split that crosses patients is an error', () => {
    const bad = synthetic(50, 1);
    const first = bad.samples.find((s) => bad.officialSplits!.test!.has(s.id))!;
    const other = bad.samples.find((s) => !bad.officialSplits!.test!.has(s.id))!;
    bad.samples.push({ ...other, id: 'extra.png', patientId: first.patientId });
    bad.officialSplits!.trainVal!.add('extra.png');
    expect(() => splitByPatient(bad, { mode: 'official' })).toThrow(`patient '${first.patientId}'`);
  });
});

describe('binary experiments', () => {
  const split = splitByPatient(ds, { seed: 1 });
  const exp = binaryExperiment(ds, 'Emphysema', split, 11);

  it('validation and test are balanced: all positives plus as many negatives', () => {
    for (const [set, pool] of [
      [exp.val, split.val],
      [exp.test, split.test],
    ] as const) {
      const pos = set.filter((s) => s.targets[0] === 1).length;
      const allPos = pool.filter((s) => s.targets[ds.labels.indexOf('Emphysema')] === 1).length;
      expect(pos).toBe(allPos);
      expect(set.length).toBe(2 * pos);
      expect(new Set(set.map((s) => s.id)).size).toBe(set.length);
    }
    expect(binaryExperiment(ds, 'Emphysema', split, 11)).toEqual(exp);
    expect(sampleIds(binaryExperiment(ds, 'Emphysema', split, 12).test)).not.toEqual(sampleIds(exp.test));
  });

  it('training subsets are 50/50, from the train pool, every unique positive used before one repeats, seeded', () => {
    for (const n of [50, 200, 2000]) {
      const sub = binaryTrainSubset(exp, n);
      expect(sub.length).toBe(n);
      expect(sub.filter((s) => s.targets[0] === 1).length).toBe(n / 2);
      const trainIds = new Set(split.train.map((s) => s.id));
      expect(sub.every((s) => trainIds.has(s.id))).toBe(true);
      expect(binaryTrainSubset(exp, n)).toEqual(sub);
    }
    const big = binaryTrainSubset(exp, 2000);
    const posIds = big.filter((s) => s.targets[0] === 1).map((s) => s.id);
    expect(exp.positives.length).toBeLessThan(1000);
    expect(new Set(posIds).size).toBeLessThan(posIds.length); // repeats: drawn with replacement
    // ...but only beyond the unique ones: every positive of the pool is in the subset.
    expect(new Set(posIds).size).toBe(exp.positives.length);
    // Unique positives never fall as N grows (they did when any shortfall drew every positive with replacement).
    const unique = [200, 400, 800, 1000, 1400, 1600, 2000].map(
      (n) =>
        new Set(
          binaryTrainSubset(exp, n)
            .filter((x) => x.targets[0] === 1)
            .map((x) => x.id),
        ).size,
    );
    expect(unique).toEqual(
      unique.map((_, i) => Math.min([200, 400, 800, 1000, 1400, 1600, 2000][i]! / 2, exp.positives.length)),
    );
    expect(new Set(big.filter((s) => s.targets[0] === 0).map((s) => s.id)).size).toBe(1000);
    const s = binarySplits(exp, 100);
    expect(s.labels).toEqual(['Emphysema']);
    expect(s.val).toBe(exp.val);
  });

  it('unknown (NaN) targets, e.g. CheXpert uncertain with "ignore", are left out of binary sets', () => {
    const e = ds.labels.indexOf('Emphysema');
    const withNaN = {
      ...ds,
      samples: ds.samples.map((s, i) =>
        i % 3 === 0 ? { ...s, targets: s.targets.map((t, j) => (j === e ? NaN : t)) } : s,
      ),
    };
    const x = binaryExperiment(withNaN, 'Emphysema', splitByPatient(withNaN, { seed: 1 }), 11);
    const all = [...x.positives, ...x.negatives, ...x.val, ...x.test];
    expect(all.every((s) => s.targets[0] === 0 || s.targets[0] === 1)).toBe(true);
    expect(x.positives.length + x.negatives.length).toBeLessThan(split.train.length);
  });

  it('a split with one class is a clear error', () => {
    const none = {
      ...ds,
      samples: ds.samples.map((s) => ({
        ...s,
        targets: s.targets.map((t, j) => (j === 13 && !ds.officialSplits!.test!.has(s.id) ? 0 : t)),
      })),
    };
    expect(() => binaryExperiment(none, 'Hernia', splitByPatient(none, { seed: 1 }), 1)).toThrow(
      /^nih: the validation split has only one class for Hernia \(0 positive, \d+ negative\)/,
    );
    expect(() => binaryExperiment(ds, 'Nope', split, 1)).toThrow(/for label but received 'Nope'/);
  });

  it('ChestX-ray13 is Emphysema-negative, 13 labels, disjoint from every image the Emphysema experiment uses at any N', () => {
    const grid = [50, 100, 200];
    const src = chestXray13(ds, split, exp, grid);
    expect(src.labels).toEqual(NIH_LABELS.filter((l) => l !== 'Emphysema'));
    const used = new Set([...exp.val, ...exp.test, ...grid.flatMap((n) => binaryTrainSubset(exp, n))].map((s) => s.id));
    expect(src.samples.filter((s) => used.has(s.id))).toEqual([]);
    const e = ds.labels.indexOf('Emphysema');
    const byId = new Map(ds.samples.map((s) => [s.id, s]));
    expect(src.samples.every((s) => byId.get(s.id)!.targets[e] === 0)).toBe(true);
    const one = src.samples[0]!;
    expect(one.targets).toEqual(byId.get(one.id)!.targets.filter((_, j) => j !== e));
    // Only what the experiment uses is removed: every other negative of train_val stays in the pool.
    const pool = [...split.train, ...split.val].filter((s) => s.targets[e] === 0 && !used.has(s.id)).map((s) => s.id);
    expect([...src.officialSplits!.trainVal!].sort()).toEqual(pool.sort());
    expect(
      src.samples
        .filter((s) => src.officialSplits!.test!.has(s.id))
        .every((s) => split.test.some((t) => t.id === s.id)),
    ).toBe(true);
    // Its own split: 90/10 by patient, no patient in two splits.
    const own = splitByPatient(src, { mode: 'official', seed: 0 });
    expect(own.train.length + own.val.length).toBe(pool.length);
    const valPatients = new Set(own.val.map((s) => s.patientId));
    expect(own.train.some((s) => valPatients.has(s.patientId))).toBe(false);
    // Unknown grid: the whole training pool is excluded.
    const conservative = chestXray13(ds, split, exp, 'all');
    const pooled = new Set([...exp.positives, ...exp.negatives].map((s) => s.id));
    expect(conservative.samples.some((s) => pooled.has(s.id))).toBe(false);
    expect(conservative.samples.length).toBeLessThan(src.samples.length);
  });
});

describe('multi-label subsets', () => {
  it('smaller N are prefixes of larger N; the order is seeded', () => {
    const split = splitByPatient(ds, { seed: 2 });
    const exp = multiLabelExperiment(ds, split, 5);
    const s50 = multiLabelSplits(exp, 50).train.map((s) => s.id);
    const s400 = multiLabelSplits(exp, 400).train.map((s) => s.id);
    expect(s400.slice(0, 50)).toEqual(s50);
    expect(multiLabelExperiment(ds, split, 5).order.map((s) => s.id)).toEqual(exp.order.map((s) => s.id));
    expect(
      multiLabelExperiment(ds, split, 6)
        .order.slice(0, 50)
        .map((s) => s.id),
    ).not.toEqual(s50);
    expect(() => multiLabelSplits(exp, exp.order.length + 1)).toThrow(/for n but received/);
  });
});

describe('ids and seeds', () => {
  it('hashIds ignores order and sees any change; derived seeds differ by part', () => {
    expect(hashIds(['b', 'a', 'c'])).toBe(hashIds(['c', 'b', 'a']));
    expect(hashIds(['a', 'b'])).not.toBe(hashIds(['a', 'b', 'c']));
    expect(hashIds(['a', 'b'])).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveSeed('x', 1)).not.toBe(deriveSeed('x', 2));
    const r1 = mulberry32(42);
    const r2 = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => r1());
    expect(Array.from({ length: 1000 }, () => r2())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe('splits do not depend on where the data sits', () => {
  it('the same labels CSV in two folders gives the same patient split, evaluation sets and subsets', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadUserCsv } = await import('../src/data/datasets/user-csv.js');
    const rows = Array.from({ length: 60 }, (_, i) => `img${i}.png,p${Math.floor(i / 2)},${i % 2}`);
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'txsplit-')));
    try {
      const views = dirs.map((d) => {
        writeFileSync(join(d, 'labels.csv'), `path,patient,y\n${rows.join('\n')}\n`);
        const ds = loadUserCsv(join(d, 'labels.csv'), { keepMissing: true });
        const split = splitByPatient(ds, { mode: 'random', seed: 3 });
        const exp = binaryExperiment(ds, 'y', split, 3);
        return {
          split: [split.train, split.val, split.test].map(sampleIds),
          val: sampleIds(exp.val),
          train: sampleIds(binaryTrainSubset(exp, 20)),
        };
      });
      expect(views[0]).toEqual(views[1]);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
