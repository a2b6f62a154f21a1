// Table I of the paper against the real NIH ChestX-ray14 (set NIH_ROOT to its directory): with the
// official split, Emphysema has 1093 test and 1423 train+val positives; Hernia 86 and 141.
import { describe, expect, it } from 'vitest';

import { loadNih } from '../src/data/datasets/nih.js';
import { splitByPatient } from '../src/data/sampling.js';

describe('NIH ChestX-ray14 Table I', () => {
  it.skipIf(!process.env.NIH_ROOT)(
    'official split positives match the paper, and the split is patient-disjoint',
    () => {
      const ds = loadNih(process.env.NIH_ROOT!, { keepMissing: true });
      const test = ds.officialSplits!.test!;
      const trainVal = ds.officialSplits!.trainVal!;
      const count = (label: string, set: Set<string>) => {
        const j = ds.labels.indexOf(label);
        return ds.samples.filter((s) => set.has(s.id) && s.targets[j] === 1).length;
      };
      expect(ds.samples.length).toBe(112120);
      expect([count('Emphysema', test), count('Emphysema', trainVal)]).toEqual([1093, 1423]);
      expect([count('Hernia', test), count('Hernia', trainVal)]).toEqual([86, 141]);
      const split = splitByPatient(ds, { mode: 'official', seed: 0 });
      const testPatients = new Set(split.test.map((s) => s.patientId));
      expect(split.train.concat(split.val).filter((s) => testPatients.has(s.patientId))).toEqual([]);
      expect(split.test.length).toBe(test.size);
    },
  );
});
