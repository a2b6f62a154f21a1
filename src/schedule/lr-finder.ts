/**
 * Learning-rate finder analysis (Smith 2015; fastai's lr_find): the exponential LR ramp, the
 * bias-corrected smoothed loss, the divergence stop rule and the suggestions. The training loop
 * that produces the losses lives elsewhere; everything here is a pure function of the numbers.
 *
 * Suggestions: the paper takes max_lr = the LR at the smoothed-loss minimum ("min"); fastai's
 * `minimum` divides that by 10 ("minDiv10", a safer margin before the loss explodes); fastai's
 * `valley` takes the longest descending stretch of the curve and goes 2/3 down it.
 */
import { OptionError } from '../errors.js';
import { expectInteger, expectNumber } from '../validate.js';

export interface RampOptions {
  /** First LR (1e-7). */
  start?: number;
  /** Last LR (10), reached at step numIter - 1. */
  end?: number;
  /** Steps (100). */
  numIter?: number;
}

/** lr(i) = start (end/start)^(i/(numIter-1)) for i = 0..numIter-1. */
export function lrRamp(opts: RampOptions = {}): (step: number) => number {
  const start = expectNumber(opts.start ?? 1e-7, 'start', 0, Infinity, { exclusiveMin: true });
  const end = expectNumber(opts.end ?? 10, 'end', start, Infinity, { exclusiveMin: true });
  const n = expectInteger(opts.numIter ?? 100, 'numIter', 1);
  return (i) => (n > 1 ? start * (end / start) ** (i / (n - 1)) : start);
}

/** Exponential moving average with bias correction: avg_i / (1 - beta^(i+1)), as fastai. */
export function smoothLosses(losses: ArrayLike<number>, beta = 0.98): number[] {
  expectNumber(beta, 'beta', 0, 1);
  const out: number[] = [];
  let avg = 0;
  for (let i = 0; i < losses.length; i++) {
    avg = beta * avg + (1 - beta) * losses[i];
    out.push(avg / (1 - beta ** (i + 1)));
  }
  return out;
}

/**
 * Feeds the finder one loss per step; says when to stop: the smoothed loss above `divergence` (4)
 * times its best so far, or not finite.
 */
export class LrFinderTracker {
  readonly lrs: number[] = [];
  readonly losses: number[] = [];
  readonly smoothed: number[] = [];
  private avg = 0;
  private best = Infinity;
  private readonly beta: number;
  private readonly divergence: number;

  constructor(opts: { beta?: number; divergence?: number } = {}) {
    this.beta = expectNumber(opts.beta ?? 0.98, 'beta', 0, 1);
    this.divergence = expectNumber(opts.divergence ?? 4, 'divergence', 1);
  }

  /** Records step i's LR and loss; true when the run should stop here. */
  record(lr: number, loss: number): boolean {
    const i = this.losses.length;
    this.avg = this.beta * this.avg + (1 - this.beta) * loss;
    const s = this.avg / (1 - this.beta ** (i + 1));
    this.lrs.push(lr);
    this.losses.push(loss);
    this.smoothed.push(s);
    if (!Number.isFinite(s)) return true;
    if (s > this.divergence * this.best) return true;
    if (s < this.best) this.best = s;
    return false;
  }
}

export interface Suggestion {
  lr: number;
  /** Index into the full curve. */
  index: number;
  loss: number;
}

export interface LrSuggestions {
  /** The paper's choice: the LR at the smoothed-loss minimum. */
  min: Suggestion;
  /** fastai's `minimum`: that LR / 10. */
  minDiv10: number;
  /** fastai's `valley`. */
  valley: Suggestion;
}

export interface SuggestOptions {
  /** Points ignored at the start (numIter // 10, as fastai) and at the end (5). */
  skipStart?: number;
  skipEnd?: number;
}

/**
 * Suggestions from a (smoothed) curve. As fastai: the ends are trimmed, and the curve is cut at the
 * first non-finite loss. Throws when fewer than 2 usable points remain (too short a run).
 */
export function suggestLr(
  lrs: ArrayLike<number>,
  smoothed: ArrayLike<number>,
  opts: SuggestOptions = {},
): LrSuggestions {
  if (lrs.length !== smoothed.length)
    throw new OptionError('smoothed', `an array of ${lrs.length} losses (as long as lrs)`, smoothed);
  const skipStart = expectInteger(opts.skipStart ?? Math.floor(lrs.length / 10), 'skipStart', 0);
  const skipEnd = expectInteger(opts.skipEnd ?? 5, 'skipEnd', 0);
  let stop = lrs.length - skipEnd;
  for (let i = skipStart; i < stop; i++) {
    if (!Number.isFinite(smoothed[i])) {
      stop = i;
      break;
    }
  }
  const n = stop - skipStart;
  if (n < 2) {
    throw new OptionError(
      'losses',
      `a curve with at least ${skipStart + skipEnd + 2} finite points (after trimming ${skipStart} + ${skipEnd})`,
      Array.from(smoothed),
    );
  }
  const L = Array.from({ length: n }, (_, k) => smoothed[skipStart + k]);
  let argmin = 0;
  for (let k = 1; k < n; k++) if (L[k] < L[argmin]) argmin = k;
  const at = (k: number): Suggestion => ({ lr: lrs[skipStart + k], index: skipStart + k, loss: L[k] });
  return { min: at(argmin), minDiv10: lrs[skipStart + argmin] / 10, valley: at(valleyIndex(L)) };
}

/**
 * fastai's valley: the longest decreasing subsequence ending at each point (O(n^2)); in the longest,
 * the index 2/3 of the way down. fastai's start index is one before the valley; kept for parity.
 */
export function valleyIndex(losses: number[]): number {
  const n = losses.length;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  return Math.max(0, maxStart + Math.trunc(sections) + Math.trunc(sections / 2));
}

export interface LrFinderCurve {
  lrs: number[];
  losses: number[];
  smoothed: number[];
  suggestions: LrSuggestions | null;
}

/** Smooths raw losses and suggests; suggestions are null when the run is too short to judge. */
export function analyseLrFinder(
  lrs: ArrayLike<number>,
  losses: ArrayLike<number>,
  opts: SuggestOptions & { beta?: number } = {},
): LrFinderCurve {
  if (lrs.length !== losses.length)
    throw new OptionError('losses', `an array of ${lrs.length} losses (as long as lrs)`, losses);
  const smoothed = smoothLosses(losses, opts.beta);
  let suggestions: LrSuggestions | null = null;
  try {
    suggestions = suggestLr(lrs, smoothed, opts);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
  }
  return { lrs: Array.from(lrs), losses: Array.from(losses), smoothed, suggestions };
}

/** max_lr from the finder by a rule: 'valley' (fastai), 'min-div-10' (loss minimum / 10), 'minimum' (the paper). */
export interface MaxLrPick {
  lr: number;
  rule: 'valley' | 'min-div-10' | 'minimum';
  /** Said to the user when the curve gives little to go on (flat, or the pick is far from the others). */
  warning?: string;
}

/** Below this relative drop of the smoothed loss, the curve is flat: no rule can read it. */
const FLAT_DROP = 0.05;

export function pickMaxLr(curve: LrFinderCurve, rule: MaxLrPick['rule']): MaxLrPick {
  const s = curve.suggestions;
  if (!s)
    throw new Error(
      'the LR finder could not suggest a learning rate (the loss diverged at once or the run was too short); give --max-lr',
    );
  const lr = rule === 'minimum' ? s.min.lr : rule === 'min-div-10' ? s.minDiv10 : s.valley.lr;
  const finite = curve.smoothed.filter(Number.isFinite);
  const start = finite[Math.floor(finite.length / 10)] ?? finite[0]!;
  const drop = (start - s.min.loss) / Math.abs(start);
  const fmt = (v: number) => v.toPrecision(3);
  let warning: string | undefined;
  if (!(drop > FLAT_DROP)) {
    warning = `the LR finder's curve is flat (the loss fell ${(Math.max(0, drop) * 100).toFixed(1)}% over the ramp), so its pick ${fmt(lr)} means little; try a fixed --max-lr (1e-3 is a common start for Adam) or more images (--n)`;
  } else if (rule === 'minimum') {
    warning = `--lr-rule minimum (the paper) takes the loss minimum ${fmt(lr)}, at the edge of divergence; if training diverges try --lr-rule valley (${fmt(s.valley.lr)}) or min-div-10 (${fmt(s.minDiv10)})`;
  }
  return { lr, rule, warning };
}
