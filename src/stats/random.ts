import { mulberry32 } from '../data/random.js';

/** mulberry32 (the one PRNG of the project): same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}
