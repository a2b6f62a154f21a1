// Divergence after each epoch: what is warned, what stops the run, and that each says what to try.
import { describe, expect, it } from 'vitest';

import { divergenceSigns } from '../src/train/divergence.js';
import type { EpochRecord } from '../src/train/state.js';

const history = (valLosses: number[], valAucs: (number | null)[] = []): EpochRecord[] =>
  valLosses.map((valLoss, i) => ({
    epoch: i + 1,
    trainLoss: 0.5,
    valLoss,
    valAuc: valAucs[i] ?? 0.8,
    lr: 1e-3,
    seconds: 1,
    imagesPerSecond: 10,
  }));

describe('divergenceSigns', () => {
  it('says nothing about a run that learns, or one whose loss wobbles', () => {
    expect(divergenceSigns(history([0.7, 0.5, 0.45]), 1e-3)).toEqual([]);
    expect(divergenceSigns(history([0.7, 5]), 1e-3)).toEqual([]); // 7x epoch 1, under the floor of 10
    expect(divergenceSigns([], 1e-3)).toEqual([]);
  });

  it('warns of an exploded validation loss with what to try, and keeps training', () => {
    const [sign, ...rest] = divergenceSigns(history([0.7, 0.6, 25]), 0.05);
    expect(rest).toEqual([]);
    expect(sign).toMatchObject({ kind: 'exploded', stop: false });
    expect(sign!.message).toBe(
      'the validation loss exploded to 25 at epoch 3 (epoch 1: 0.700); max_lr 0.0500 is likely too high: try a lower max_lr: --lr-rule min-div-10, or --max-lr 0.00500. The lowest-loss checkpoint is kept.',
    );
  });

  it('stops a run whose validation loss ran away (the LR finder case: 5.8e17), keeping the best checkpoint', () => {
    const [sign] = divergenceSigns(history([0.69, 5.8e17]), 0.0955);
    expect(sign).toMatchObject({ kind: 'exploded', stop: true });
    expect(sign!.message).toMatch(
      /exploded to 5\.80e\+17 at epoch 2 .* --max-lr 0\.00955\. Training stopped; the lowest-loss checkpoint is kept\./,
    );
    // A loss of 90 after 0.69 is 130x: a warning only (under the stop floor of 100).
    expect(divergenceSigns(history([0.69, 90]), 0.01)[0]).toMatchObject({ stop: false });
  });

  it('warns when the validation AUC sits at chance for two epochs, naming the labels as a suspect too', () => {
    expect(divergenceSigns(history([0.7, 0.7], [0.8, 0.5]), 1e-3)).toEqual([]);
    const [sign] = divergenceSigns(history([0.7, 0.7, 0.7], [0.6, 0.5, 0.502]), 1e-3);
    expect(sign).toMatchObject({ kind: 'chance', stop: false });
    expect(sign!.message).toMatch(
      /AUC has been 0\.502 \(chance\) for 2 epochs.*--max-lr 1\.00e-4, or check the labels/,
    );
    expect(divergenceSigns(history([0.7, 0.7], [null, null]), 1e-3)).toEqual([]); // no AUC (one class): no verdict
  });

  it('leaves a non-finite loss to the step that met it (it stops the run there)', () => {
    expect(divergenceSigns(history([0.7, NaN]), 1e-3)).toEqual([]);
  });
});
