/**
 * The one-cycle policy (Smith 2018; paper eq. 1): the learning rate rises for 30% of the steps from
 * max_lr/25 to max_lr and anneals to max_lr/finalDiv; momentum mirrors it, 0.95 -> 0.85 -> 0.95.
 */
import { expectInteger, expectNumber, expectOneOf } from '../validate.js';
import { cosine, phases, type Schedule } from './compose.js';

export const ONE_CYCLE_CONVENTIONS = ['paper', 'pytorch'] as const;
export type OneCycleConvention = (typeof ONE_CYCLE_CONVENTIONS)[number];

export interface OneCycleOptions {
  maxLr: number;
  /** Total optimiser steps (epochs x batches per epoch). */
  steps: number;
  /** Starting LR = maxLr / divFactor (25). */
  divFactor?: number;
  /**
   * Final LR = maxLr / finalDiv: 25000 (the paper's eq. 1, default for 'paper'); the authors' code,
   * fastai v1 and PyTorch end at maxLr / 250000 (default for 'pytorch').
   */
  finalDiv?: number;
  /** Fraction of the steps spent rising (0.3). */
  pctStart?: number;
  /** Momentum bounds: maxMomentum at the ends, minMomentum at the peak LR. */
  maxMomentum?: number;
  minMomentum?: number;
  /**
   * 'paper': cut = ceil(pctStart steps), rise f(i; lo, max, cut) for i < cut then f(i - cut; max,
   * final, steps - cut). 'pytorch': torch.optim.lr_scheduler.OneCycleLR (cos), which peaks at step
   * pctStart*steps - 1 and reaches the final LR at the last step.
   */
  convention?: OneCycleConvention;
}

export interface OneCycle {
  lr: Schedule;
  momentum: Schedule;
  steps: number;
}

export function oneCycle(opts: OneCycleOptions): OneCycle {
  const convention = expectOneOf(opts.convention ?? 'paper', 'convention', ONE_CYCLE_CONVENTIONS);
  const maxLr = expectNumber(opts.maxLr, 'maxLr', 0, Infinity, { exclusiveMin: true });
  const steps = expectInteger(opts.steps, 'steps', 1);
  const divFactor = expectNumber(opts.divFactor ?? 25, 'divFactor', 0, Infinity, { exclusiveMin: true });
  const finalDiv = expectNumber(opts.finalDiv ?? (convention === 'paper' ? 25000 : 250000), 'finalDiv', 0, Infinity, {
    exclusiveMin: true,
  });
  const pctStart = expectNumber(opts.pctStart ?? 0.3, 'pctStart', 0, 1);
  const maxM = expectNumber(opts.maxMomentum ?? 0.95, 'maxMomentum', 0, 1);
  const minM = expectNumber(opts.minMomentum ?? 0.85, 'minMomentum', 0, 1);
  const lo = maxLr / divFactor;
  const end = maxLr / finalDiv;
  if (convention === 'paper') {
    const cut = Math.ceil(pctStart * steps);
    const rest = steps - cut;
    const lr = phases([
      { steps: cut, schedule: cosine(lo, maxLr, cut) },
      { steps: rest, schedule: cosine(maxLr, end, rest) },
    ]);
    const momentum = phases([
      { steps: cut, schedule: cosine(maxM, minM, cut) },
      { steps: rest, schedule: cosine(minM, maxM, rest) },
    ]);
    // Past the end the cosine would climb again: hold the final values instead.
    const clamp = (i: number) => Math.min(Math.max(i, 0), steps);
    return { steps, lr: (i) => lr(clamp(i)), momentum: (i) => momentum(clamp(i)) };
  }
  // PyTorch's phases are in fractional steps: the peak at pctStart*steps - 1 (possibly < 0).
  const peak = pctStart * steps - 1;
  const last = steps - 1;
  const torchPhase =
    (a: number, b: number, c: number): Schedule =>
    (step) => {
      const i = Math.min(Math.max(step, 0), last);
      const [s0, s1, v0, v1] = i <= peak ? [0, peak, a, b] : [peak, last, b, c];
      const pct = s1 > s0 ? (i - s0) / (s1 - s0) : 1; // PyTorch divides by zero here; we take the phase end
      return cosine(v0, v1, 1)(pct);
    };
  return { steps, lr: torchPhase(lo, maxLr, end), momentum: torchPhase(maxM, minM, maxM) };
}
