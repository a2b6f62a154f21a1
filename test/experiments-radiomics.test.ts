// Radiomics as an experiment method: each of the four classifiers tuned by CV on the training rows,
// the best chosen by validation AUC (the native feature extraction is tested in radiomics-features).
import { describe, expect, it } from 'vitest';

import { rocAuc } from '../src/metrics/auc.js';
import {
  chooseClassifier,
  CLASSIFIER_FAMILIES,
  familyCandidates,
  familyOf,
} from '../src/experiments/radiomics-runner.js';
import { mulberry32 } from '../src/random.js';

/** Rows of 6 features; the label depends on feature 0 (linear) and on |feature 1| > 1 (not linear). */
function rows(n: number, seed: number) {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const X: number[][] = [];
  const Y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 6 }, normal);
    X.push(x);
    Y.push([x[0]! + 1.5 * (Math.abs(x[1]!) > 1 ? 1 : -1) + 0.5 * normal() > 0 ? 1 : 0]);
  }
  return { X, Y };
}

describe('radiomics method', () => {
  it('draws settings of one family only, reproducibly', () => {
    for (const family of CLASSIFIER_FAMILIES) {
      const c = familyCandidates(family, 5, 3);
      expect(c.map(familyOf)).toEqual(Array(5).fill(family));
      expect(familyCandidates(family, 5, 3)).toEqual(c);
    }
    expect(familyCandidates('l1', 5, 4)).not.toEqual(familyCandidates('l1', 5, 3));
  });

  it('tunes each of the four classifiers and keeps the one with the best validation AUC', () => {
    const train = rows(160, 1);
    const val = rows(120, 2);
    const { best, tried, folds } = chooseClassifier(train.X, train.Y, val.X, val.Y, {
      seed: 0,
      searchIters: 3,
      folds: 4,
    });
    expect(folds).toBe(4);
    expect(tried.map((t) => t.family)).toEqual([...CLASSIFIER_FAMILIES]);
    for (const t of tried) {
      expect(t.model.params.every((p) => p !== null && familyOf(p) === t.family)).toBe(true);
      // The validation AUC is the AUC of the fitted model's scores on the validation rows.
      expect(t.model.valAuc).toBeCloseTo(
        rocAuc(
          val.Y.map((y) => y[0]!),
          t.model.predict(val.X).map((p) => p[0]!),
        ),
        12,
      );
    }
    expect(best.model.valAuc).toBe(Math.max(...tried.map((t) => t.model.valAuc!)));
  });

  it('uses fewer folds when the training subset has fewer examples of a class', () => {
    const train = rows(40, 5);
    const few = { X: train.X, Y: train.Y.map((y, i) => (i < 3 ? [1] : [0])) };
    const val = rows(30, 6);
    expect(chooseClassifier(few.X, few.Y, val.X, val.Y, { seed: 0, searchIters: 1, folds: 5 }).folds).toBe(3);
  });
});

describe('radiomics jobs through the experiment runner', () => {
  it('features from the cached images of the job splits; the chosen classifier tested on the test set; stored like a CNN run', async () => {
    const { validateSpec } = await import('../src/experiments/spec.js');
    const { planExperiment } = await import('../src/experiments/plan.js');
    const { pairedP } = await import('../src/experiments/paired.js');
    const { trainArmRunner } = await import('../src/experiments/train-runner.js');
    const spec = validateSpec(
      {
        name: 'rad',
        mode: 'grid',
        nGrid: [60],
        targets: [
          {
            name: 'cardio',
            dataset: 'phantom-chest',
            label: 'Cardiomegaly',
            options: { imageSize: 64, valLimit: 40, testLimit: 60 },
          },
        ],
        arms: [{ name: 'radiomics', method: 'radiomics', options: { searchIters: 2, folds: 3 } }],
      },
      {},
    );
    const job = planExperiment(spec, () => undefined, pairedP).arms[0]!.jobs[0]!;
    const events: unknown[] = [];
    const result = await trainArmRunner({ progress: null }).run(job, {
      signal: new AbortController().signal,
      onEpoch: (m) => events.push(m),
    });
    expect(events).toEqual([]);
    expect(result.testAucTta).toBeNull();
    expect(result.testAuc).toBeGreaterThan(0);
    expect(result.testAuc).toBeLessThanOrEqual(1);
    expect(CLASSIFIER_FAMILIES).toContain(result.radiomics!.classifier);
    const chosen = result.radiomics!.byFamily[result.radiomics!.classifier]!;
    expect(chosen.valAuc).toBe(Math.max(...Object.values(result.radiomics!.byFamily).map((f) => f.valAuc!)));
    expect(result.sampleIdsHash).toMatch(/^[0-9a-f]{64}$/);
  }, 600_000);
});
