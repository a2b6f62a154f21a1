/**
 * Transfer strategies over the three layer groups (1 = nearest the image, 3 = head): which groups
 * train at each step and with what learning rate and momentum.
 */
import { OptionError } from '../errors.js';
import { expectInteger, expectNumber, expectOneOf } from '../validate.js';
import type { Schedule } from './compose.js';

/**
 * feature-extractor: only the head trains; fine-tune: every group at one LR; gradual-unfreeze:
 * discriminative LRs, groups 1-2 frozen at first; discriminative: the same LRs with nothing frozen (a
 * network from random init has nothing to protect: the paper's no-transfer arms).
 */
export const STRATEGIES = ['feature-extractor', 'fine-tune', 'gradual-unfreeze', 'discriminative'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface GroupState {
  lr: number;
  momentum: number;
  trainable: boolean;
}

export interface PlanOptions {
  strategy: Strategy;
  /** The head's (group 3) schedules. */
  lr: Schedule;
  momentum: Schedule;
  steps: number;
  /** Discriminative divisors for groups 1, 2, 3 (gradual unfreezing and discriminative): [9, 3, 1]. */
  divisors?: [number, number, number];
  /** Fractions of all steps after which groups 1 and 2 unfreeze: [0.2, 0.1]. */
  unfreezeAt?: [number, number];
}

export interface TrainingPlan {
  strategy: Strategy;
  steps: number;
  /** States of groups 1, 2, 3 at `step`. */
  at(step: number): [GroupState, GroupState, GroupState];
  /** The step from which each group trains (0 = from the start, null = never): groups 1, 2, 3. */
  trainsFrom: [number | null, number | null, number | null];
}

/** Layer groups frozen at the first step (0: every layer trains from the start). */
export function frozenGroupsAtStart(strategy: Strategy): number {
  return strategy === 'feature-extractor' || strategy === 'gradual-unfreeze' ? 2 : 0;
}

export function trainingPlan(opts: PlanOptions): TrainingPlan {
  const strategy = expectOneOf(opts.strategy, 'strategy', STRATEGIES);
  const steps = expectInteger(opts.steps, 'steps', 1);
  if (typeof opts.lr !== 'function') throw new OptionError('lr', 'a schedule function', opts.lr);
  if (typeof opts.momentum !== 'function') throw new OptionError('momentum', 'a schedule function', opts.momentum);
  const divisors = opts.divisors ?? [9, 3, 1];
  if (!Array.isArray(divisors) || divisors.length !== 3)
    throw new OptionError('divisors', 'three positive numbers', divisors);
  divisors.forEach((d, k) => expectNumber(d, `divisors[${k}]`, 0, Infinity, { exclusiveMin: true }));
  const unfreezeAt = opts.unfreezeAt ?? [0.2, 0.1];
  if (!Array.isArray(unfreezeAt) || unfreezeAt.length !== 2)
    throw new OptionError('unfreezeAt', 'two fractions in [0, 1]', unfreezeAt);
  unfreezeAt.forEach((f, k) => expectNumber(f, `unfreezeAt[${k}]`, 0, 1));

  // "After 10% of the iterations": the first ceil(0.1 steps) steps keep the group frozen.
  const trainsFrom: [number | null, number | null, number | null] =
    strategy === 'feature-extractor'
      ? [null, null, 0]
      : strategy === 'gradual-unfreeze'
        ? [Math.ceil(unfreezeAt[0] * steps), Math.ceil(unfreezeAt[1] * steps), 0]
        : [0, 0, 0];
  const div = strategy === 'gradual-unfreeze' || strategy === 'discriminative' ? divisors : [1, 1, 1];
  return {
    strategy,
    steps,
    trainsFrom,
    at(step) {
      const lr = opts.lr(step);
      const momentum = opts.momentum(step);
      return [0, 1, 2].map((g) => ({
        lr: lr / div[g],
        momentum,
        trainable: trainsFrom[g] !== null && step >= trainsFrom[g]!,
      })) as [GroupState, GroupState, GroupState];
    },
  };
}

export interface ScheduleTable {
  steps: number;
  /** Groups 1, 2, 3 (nearest the image first). */
  groups: { lr: number[]; momentum: number[]; trainable: boolean[] }[];
  /** Steps where a frozen group starts training (the red lines of the paper's Fig. 2). */
  unfreeze: { group: number; step: number }[];
}

/** Every step of a plan, as arrays (for --json and plots). */
export function tabulate(plan: TrainingPlan): ScheduleTable {
  const groups = [0, 1, 2].map(() => ({ lr: [] as number[], momentum: [] as number[], trainable: [] as boolean[] }));
  for (let i = 0; i < plan.steps; i++) {
    plan.at(i).forEach((s, g) => {
      groups[g].lr.push(s.lr);
      groups[g].momentum.push(s.momentum);
      groups[g].trainable.push(s.trainable);
    });
  }
  const unfreeze = plan.trainsFrom.flatMap((s, g) =>
    s !== null && s > 0 && s < plan.steps ? [{ group: g + 1, step: s }] : [],
  );
  return { steps: plan.steps, groups, unfreeze };
}
