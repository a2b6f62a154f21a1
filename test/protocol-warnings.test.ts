/**
 * Where the protocol bends, the user is told: resampling, random-split fallbacks, tiny evaluation sets, LR-finder
 * picks.
 */
import { describe, expect, it } from 'vitest';

import type { Sample, Splits } from '../src/data/types.js';
import { protocolWarnings } from '../src/train/data.js';
import { analyseLrFinder, lrRamp, pickMaxLr } from '../src/schedule/lr-finder.js';

const sample = (id: string, y: number): Sample => ({ id, path: `/x/${id}`, patientId: id, targets: [y] });
const set = (pos: number, neg: number, prefix: string) => [
  ...Array.from({ length: pos }, (_, i) => sample(`${prefix}p${i}`, 1)),
  ...Array.from({ length: neg }, (_, i) => sample(`${prefix}n${i}`, 0)),
];

describe('protocolWarnings', () => {
  const big = (): Splits => ({ labels: ['A'], train: set(50, 50, 't'), val: set(20, 20, 'v'), test: set(40, 40, 's') });

  it('says nothing when the protocol holds', () => {
    expect(protocolWarnings(big(), { split: 'official' }, 'official', 'nih')).toEqual([]);
  });

  it('names a random-split fallback', () => {
    const w = protocolWarnings(big(), { split: 'official' }, 'random', 'folder:/data');
    expect(w).toEqual([
      expect.stringMatching(
        /^folder:\/data has no official test list: a random 70\/10\/20 split by patient was used instead of 'official'/,
      ),
    ]);
  });

  it('counts the unique images of a training set resampled with replacement', () => {
    const s = big();
    s.train = [...set(3, 3, 't'), ...set(3, 3, 't'), ...set(3, 3, 't')];
    expect(protocolWarnings(s, { split: 'official' }, 'official', 'nih')).toEqual([
      expect.stringContaining(
        'N = 18 was asked for but the training pool has only 6 unique image(s) (3 positive) for it: the other 12 are repeats',
      ),
    ]);
  });

  it('flags tiny validation and test sets with their class counts', () => {
    const s = big();
    s.test = set(1, 1, 's');
    s.val = set(2, 9, 'v');
    const w = protocolWarnings(s, { split: 'official' }, 'official', 'nih');
    expect(w).toEqual([
      expect.stringContaining('validation set has 2 positive and 9 negative image(s) for A'),
      expect.stringContaining(
        'test set has 1 positive and 1 negative image(s) for A: its AUC is coarse (see the 95% CI width)',
      ),
    ]);
  });
});

describe('pickMaxLr', () => {
  const ramp = lrRamp({ numIter: 100 });
  const lrs = Array.from({ length: 100 }, (_, i) => ramp(i));

  it('picks by rule: valley (default), minimum / 10, minimum (the paper, with a warning)', () => {
    // A loss that falls, bottoms near lr 1e-2 and explodes.
    const losses = lrs.map(
      (lr) => 1 + 0.5 * Math.tanh(-Math.log10(lr / 1e-4)) + (lr > 1e-2 ? (lr / 1e-2) ** 2 - 1 : 0),
    );
    const curve = analyseLrFinder(lrs, losses);
    const s = curve.suggestions!;
    expect(pickMaxLr(curve, 'valley')).toEqual({ lr: s.valley.lr, rule: 'valley', warning: undefined });
    expect(pickMaxLr(curve, 'min-div-10').lr).toBe(s.minDiv10);
    const paper = pickMaxLr(curve, 'minimum');
    expect(paper.lr).toBe(s.min.lr);
    expect(paper.warning).toMatch(/edge of divergence; if training diverges try --lr-rule valley/);
  });

  it('warns that a flat curve says little, with what to try', () => {
    const curve = analyseLrFinder(
      lrs,
      lrs.map((_, i) => 0.693 + 1e-4 * Math.sin(i)),
    );
    const pick = pickMaxLr(curve, 'valley');
    expect(pick.warning).toMatch(/curve is flat .* try a fixed --max-lr/);
  });

  it('refuses a curve with no suggestion, naming --max-lr', () => {
    expect(() => pickMaxLr(analyseLrFinder([1e-3, 1e-2], [1, NaN]), 'valley')).toThrow(/give --max-lr/);
  });
});
