/**
 * Signs that a run has diverged, judged after each epoch from its history, each with what to try.
 * A validation loss far above the first epoch's stops the run (the lowest-loss checkpoint is kept and
 * tested); a smaller explosion and an AUC stuck at chance are warnings. A non-finite loss stops the
 * run where it happens (src/train/run.ts).
 */
import { formatNumber } from '../progress.js';
import type { EpochRecord } from './state.js';

/** Above this multiple of epoch 1's validation loss (and at least WARN_FLOOR) the loss has exploded: a warning. */
export const EXPLODED = 10;
const WARN_FLOOR = 10;
/** Above this multiple (and at least STOP_FLOOR) training cannot recover in the epochs left: the run stops. */
export const RUN_AWAY = 1000;
const STOP_FLOOR = 100;
/**
 * Below this distance from 0.5 a validation AUC is chance: the network tells the classes apart no better than a coin.
 */
const CHANCE = 0.005;

export interface DivergenceSign {
  kind: 'exploded' | 'chance';
  /** true: stop training now. */
  stop: boolean;
  message: string;
}

/** What to try after a diverged run that used `maxLr`. */
export function lowerLrHint(maxLr: number): string {
  return `try a lower max_lr: --lr-rule min-div-10, or --max-lr ${formatNumber(maxLr / 10)}`;
}

/** The signs of divergence in `history` (epochs so far, numbered from 1) of a run at `maxLr`. */
export function divergenceSigns(history: EpochRecord[], maxLr: number): DivergenceSign[] {
  const last = history[history.length - 1];
  if (!last || !Number.isFinite(last.valLoss)) return [];
  const first = history[0]!.valLoss;
  const signs: DivergenceSign[] = [];
  const lower = lowerLrHint(maxLr);
  if (last.valLoss > Math.max(EXPLODED * first, WARN_FLOOR)) {
    const stop = last.valLoss > Math.max(RUN_AWAY * first, STOP_FLOOR);
    signs.push({
      kind: 'exploded',
      stop,
      message:
        `the validation loss exploded to ${formatNumber(last.valLoss)} at epoch ${last.epoch} (epoch 1: ${formatNumber(first)}); ` +
        `max_lr ${formatNumber(maxLr)} is likely too high: ${lower}. ${stop ? 'Training stopped; the' : 'The'} lowest-loss checkpoint is kept.`,
    });
  }
  const atChance = (e: EpochRecord) => e.valAuc !== null && Math.abs(e.valAuc - 0.5) < CHANCE;
  if (history.length >= 2 && atChance(last) && atChance(history[history.length - 2]!)) {
    signs.push({
      kind: 'chance',
      stop: false,
      message: `the validation AUC has been ${last.valAuc!.toFixed(3)} (chance) for 2 epochs: the network gives every image the same score, as a diverged or dead one does; ${lower}, or check the labels.`,
    });
  }
  return signs;
}
