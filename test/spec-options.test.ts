/**
 * A spec's `options`: every key the runner reads is known and checked; anything else is an error listing the valid
 * keys.
 */
import { describe, expect, it } from 'vitest';

import { planExperiment, planJobs } from '../src/experiments/plan.js';
import { pairedP } from '../src/experiments/paired.js';
import { validateSpec } from '../src/experiments/spec.js';
import { SPEC_OPTIONS } from '../src/experiments/spec-options.js';
import { jobTrainOptions } from '../src/experiments/train-runner.js';

const spec = (targetOptions: Record<string, unknown>, armOptions: Record<string, unknown> = {}) => ({
  name: 'o',
  mode: 'grid',
  nGrid: [50],
  seeds: [0],
  targets: [{ name: 't', dataset: 'csv', root: '/data/table.csv', label: 'A', options: targetOptions }],
  base: { epochs: 2, maxLr: 0.001, options: armOptions },
  arms: [
    { name: 'a', policy: 'one-cycle' },
    { name: 'b', policy: 'regular' },
  ],
});

describe('spec options', () => {
  it('an unknown key is refused with its path and the list of valid keys', () => {
    expect(() => validateSpec(spec({ cropp: 88 }), {})).toThrow(
      `Expected one of the option keys ${Object.keys(SPEC_OPTIONS).join(', ')} for targets[0].options.cropp but received 'cropp'`,
    );
    expect(() => validateSpec(spec({}, { imagesize: 96 }), {})).toThrow(
      /for base\.options\.imagesize but received 'imagesize'/,
    );
  });

  it('values are checked; restated defaults must match what the readers do', () => {
    expect(() => validateSpec(spec({ crop: 'big' }), {})).toThrow(/for targets\[0\]\.options\.crop but received 'big'/);
    expect(() => validateSpec(spec({ balanced: false }), {})).toThrow(
      /Expected true \(binary targets always have balanced/,
    );
    expect(() => validateSpec(spec({ uncertain: { Atelectasis: 0 } }), {})).toThrow(/the paper's per-label policy/);
    expect(() =>
      validateSpec(
        spec({ uncertain: { Atelectasis: 1, Edema: 1, Cardiomegaly: 0, Consolidation: 0, 'Pleural Effusion': 0 } }),
        {},
      ),
    ).not.toThrow();
  });

  it('crop and the dataset reader options reach the training config', async () => {
    const s = validateSpec(
      spec({ crop: 88, imageSize: 96, pathColumn: 'file', patientColumn: 'pid', labelColumns: ['A'], split: 'random' }),
      {},
    );
    const job = planJobs(planExperiment(s, () => undefined, pairedP))[0]!;
    const config = await jobTrainOptions(job);
    expect(config).toMatchObject({
      crop: 88,
      imageSize: 96,
      pathColumn: 'file',
      patientColumn: 'pid',
      labelColumns: ['A'],
      split: 'random',
      format: 'csv',
    });
  });
});
