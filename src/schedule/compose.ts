/**
 * Schedules as pure functions of the step, composed from annealing pieces (after fastai's
 * schedule.py): a phase is an annealer over a number of steps; `phases` chains them.
 */

/** A value (learning rate, momentum, ...) as a function of the optimiser step, from 0. */
export type Schedule = (step: number) => number;

/** Paper eq. 1: f(i; a, b, T) = b + (a - b)/2 (1 + cos(i pi / T)); a at i = 0, b at i = T. */
export function cosine(a: number, b: number, T: number): Schedule {
  // T = 0 (a phase with no steps after it): the start value, never 0/0.
  return (i) => (T > 0 ? b + ((a - b) / 2) * (1 + Math.cos((i * Math.PI) / T)) : i <= 0 ? a : b);
}

export function linear(a: number, b: number, T: number): Schedule {
  return (i) => (T > 0 ? a + ((b - a) * i) / T : i <= 0 ? a : b);
}

/** Geometric interpolation a * (b/a)^(i/T), as the LR finder's ramp. */
export function exponential(a: number, b: number, T: number): Schedule {
  return (i) => (T > 0 ? a * (b / a) ** (i / T) : i <= 0 ? a : b);
}

export function constant(v: number): Schedule {
  return () => v;
}

export interface Phase {
  /** Steps in this phase (the next phase starts after them); the last phase runs on for ever. */
  steps: number;
  schedule: Schedule;
}

/** Chains phases; each phase sees its own local step (0 at its start). */
export function phases(list: Phase[]): Schedule {
  return (i) => {
    let start = 0;
    for (let k = 0; k < list.length - 1; k++) {
      if (i < start + list[k].steps) return list[k].schedule(i - start);
      start += list[k].steps;
    }
    return list[list.length - 1].schedule(i - start);
  };
}

/** The schedule times a constant factor (discriminative learning rates). */
export function scaled(s: Schedule, factor: number): Schedule {
  return (i) => s(i) * factor;
}
