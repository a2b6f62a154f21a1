/** Seeded randomness for sampling: every split and subset is a pure function of its seed. */
import { createHash } from 'node:crypto';

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed derived from parts (e.g. experiment seed and label), so streams do not overlap. */
export function deriveSeed(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

/** A new array: Fisher-Yates shuffle driven by `rand`. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `k` items without replacement (the first k of a shuffle). */
export function sampleWithout<T>(items: readonly T[], k: number, rand: () => number): T[] {
  return shuffled(items, rand).slice(0, k);
}

/** `k` items with replacement. */
export function sampleWith<T>(items: readonly T[], k: number, rand: () => number): T[] {
  return Array.from({ length: k }, () => items[Math.floor(rand() * items.length)]);
}

/** sha256 of the sorted ids (one per line): identifies a sample set in the results database. */
export function hashIds(ids: Iterable<string>): string {
  const sorted = Array.from(ids).sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex');
}
