/** A run's schedule from its config: the policy's LR and momentum under the transfer strategy. */
import { oneCycle, REGULAR_MOMENTUM, RegularPolicy, trainingPlan, type TrainingPlan } from '../schedule/index.js';
import type { TrainConfig } from './config.js';

/** The plan of `steps` optimiser steps at `maxLr`; the regular policy's LR is read from `regular` as it decays. */
export function planFor(
  config: TrainConfig,
  steps: number,
  maxLr: number,
  regular: RegularPolicy | undefined,
): TrainingPlan {
  if (config.policy === 'one-cycle') {
    const oc = oneCycle({
      maxLr,
      steps,
      divFactor: config.divFactor,
      finalDiv: config.finalDiv,
      convention: config.convention,
      maxMomentum: config.momentum[0],
      minMomentum: config.momentum[1],
    });
    return trainingPlan({ strategy: config.strategy, lr: oc.lr, momentum: oc.momentum, steps });
  }
  // Regular: the policy's current LR for the whole epoch; momentum constant (Adam's default beta1).
  return trainingPlan({ strategy: config.strategy, lr: () => regular!.lr, momentum: () => REGULAR_MOMENTUM, steps });
}

export interface LrFinderGroups {
  divisors: [number, number, number];
  trainable: [boolean, boolean, boolean];
  momentum: number;
}

/**
 * What the LR finder trains: the plan's first step (which groups train, their LR divisors and the
 * momentum), so the finder ramps the LR the run will start from. `steps`: the run's optimiser steps.
 */
export function lrFinderGroups(config: TrainConfig, steps: number): LrFinderGroups {
  const first = planFor(config, steps, 1, new RegularPolicy({ maxLr: 1, maxEpochs: config.epochs })).at(0);
  return {
    divisors: [first[2].lr / first[0].lr, first[2].lr / first[1].lr, 1],
    trainable: [first[0].trainable, first[1].trainable, first[2].trainable],
    momentum: first[2].momentum,
  };
}
