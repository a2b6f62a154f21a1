/**
 * The regular policy: start at maxLr, divide by 10 whenever an epoch's validation loss fails to
 * improve on the previous epoch's by more than `tolerance`; stop when lr < minLr or at maxEpochs.
 */
import { OptionError } from '../errors.js';
import { expectInteger, expectNumber } from '../validate.js';

export interface RegularPolicyOptions {
  maxLr: number;
  /** Divisor applied on a non-improving epoch (10). */
  factor?: number;
  /** Absolute improvement the loss must exceed (0). */
  tolerance?: number;
  /** Training stops once the LR falls below this (1e-6). */
  minLr?: number;
  /** Epoch limit (20). */
  maxEpochs?: number;
}

/**
 * Momentum under the regular policy: constant at PyTorch's defaults (Adam beta1 0.9, SGD momentum
 * 0.9), as the authors trained; the one-cycle range (0.95 -> 0.85) belongs to the one-cycle policy.
 */
export const REGULAR_MOMENTUM = 0.9;

export type StopReason = 'min-lr' | 'max-epochs';

export interface EpochDecision {
  epoch: number;
  /** LR for the next epoch. */
  lr: number;
  reduced: boolean;
  stop: StopReason | null;
}

export class RegularPolicy {
  readonly factor: number;
  readonly tolerance: number;
  readonly minLr: number;
  readonly maxEpochs: number;
  private current: number;
  private previous: number | undefined;
  private epochs = 0;
  private stopReason: StopReason | null = null;

  constructor(opts: RegularPolicyOptions) {
    this.current = expectNumber(opts.maxLr, 'maxLr', 0, Infinity, { exclusiveMin: true });
    this.factor = expectNumber(opts.factor ?? 10, 'factor', 1, Infinity, { exclusiveMin: true });
    this.tolerance = expectNumber(opts.tolerance ?? 0, 'tolerance', 0);
    this.minLr = expectNumber(opts.minLr ?? 1e-6, 'minLr', 0);
    this.maxEpochs = expectInteger(opts.maxEpochs ?? 20, 'maxEpochs', 1);
  }

  /** The LR to train the current epoch with. */
  get lr(): number {
    return this.current;
  }

  get epoch(): number {
    return this.epochs;
  }

  get stopped(): StopReason | null {
    return this.stopReason;
  }

  /** Feed the validation loss of the epoch just trained; says the next LR and whether to stop. */
  report(valLoss: number): EpochDecision {
    if (this.stopReason)
      throw new Error(`RegularPolicy: training already stopped (${this.stopReason}) after epoch ${this.epochs}`);
    if (typeof valLoss !== 'number') throw new OptionError('valLoss', 'a number', valLoss);
    // A NaN/infinite loss (a diverged epoch) never counts as an improvement, nor becomes the reference.
    const finite = Number.isFinite(valLoss);
    const reduced = this.previous !== undefined && !(finite && this.previous - valLoss > this.tolerance);
    if (reduced) this.current /= this.factor;
    if (finite) this.previous = valLoss;
    this.epochs++;
    this.stopReason = this.current < this.minLr ? 'min-lr' : this.epochs >= this.maxEpochs ? 'max-epochs' : null;
    return { epoch: this.epochs - 1, lr: this.current, reduced, stop: this.stopReason };
  }
}

/**
 * The regular policy replayed over known validation losses (one per epoch): the LR of every step,
 * and where training stopped. Steps per epoch are fixed; the run ends early when the policy stops.
 */
export function regularSchedule(
  opts: RegularPolicyOptions,
  valLosses: number[],
  stepsPerEpoch: number,
): { lr: (step: number) => number; steps: number; epochLrs: number[]; stop: StopReason | null } {
  expectInteger(stepsPerEpoch, 'stepsPerEpoch', 1);
  if (!Array.isArray(valLosses) || valLosses.length === 0)
    throw new OptionError('valLosses', 'a non-empty array of numbers', valLosses);
  const policy = new RegularPolicy(opts);
  const epochLrs: number[] = [];
  let stop: StopReason | null = null;
  for (const loss of valLosses) {
    epochLrs.push(policy.lr);
    stop = policy.report(loss).stop;
    if (stop) break;
  }
  const steps = epochLrs.length * stepsPerEpoch;
  return {
    lr: (i) => epochLrs[Math.min(epochLrs.length - 1, Math.max(0, Math.floor(i / stepsPerEpoch)))],
    steps,
    epochLrs,
    stop,
  };
}
