/**
 * The project's one source of seeded randomness: every split, subset, epoch order, bootstrap, forest
 * and phantom image is a pure function of its seed.
 * - mulberry32: a small, fast 32-bit generator (sampling, training order, statistics, radiomics).
 * - Rng: sfc32 streams keyed by (seed, purpose, index), for the phantom renderer, where each image
 *   draws from its own stream so images can be rendered in any order and still be identical.
 */
import { createHash } from 'node:crypto';

/** A generator of floats in [0, 1). */
export type Random = () => number;

/** mulberry32: returns floats in [0, 1). */
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

/** An integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** Fisher-Yates shuffle of `items` in place, driven by `rand`; returns `items`. */
export function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rand, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A shuffled copy (the same draws as shuffle). */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  return shuffle(items.slice(), rand);
}

/** `k` items without replacement (the first k of a shuffle). */
export function sampleWithout<T>(items: readonly T[], k: number, rand: () => number): T[] {
  return shuffled(items, rand).slice(0, k);
}

/** `k` items with replacement. */
export function sampleWith<T>(items: readonly T[], k: number, rand: () => number): T[] {
  return Array.from({ length: k }, () => items[randInt(rand, items.length)]!);
}

/** splitmix32 step: a well-mixed 32-bit hash, used to derive independent stream seeds. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit key from a seed and any number of integer or string parts. */
export function streamKey(seed: number, ...parts: (number | string)[]): number {
  let h = mix32(seed >>> 0);
  for (const p of parts) {
    if (typeof p === 'number') h = mix32(h ^ mix32(p >>> 0) ^ Math.floor(p / 2 ** 32));
    else for (let i = 0; i < p.length; i++) h = mix32(h ^ p.charCodeAt(i));
  }
  return h;
}

/** sfc32 (128 bits of state) on the stream streamKey(seed, ...parts), with the draws the renderer needs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number, ...parts: (number | string)[]) {
    const k = streamKey(seed, ...parts);
    this.a = mix32(k);
    this.b = mix32(this.a);
    this.c = mix32(this.b);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return mean + sd * s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: T[]): T[] {
    return shuffle(items, () => this.next());
  }
}
