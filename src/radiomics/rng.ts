import { mulberry32 } from '../data/random.js';

/** A small seeded PRNG (mulberry32) so that forests, folds and searches repeat exactly for a seed. */
export type Rng = () => number;

export function seededRng(seed: number): Rng {
  return mulberry32((seed >>> 0) ^ 0x9e3779b9);
}

/** An integer in [0, n). */
export const randInt = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Fisher-Yates shuffle in place. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
