/** Paired two-sided t-test (scipy.stats.ttest_rel), used to compare methods over the N grid. */
import { OptionError } from '../errors.js';
import { mean, std } from './describe.js';
import { studentTTwoSided } from './special.js';

export interface TTestResult {
  t: number;
  /** Two-sided p-value. */
  p: number;
  df: number;
  /** Mean of a - b. */
  meanDiff: number;
  n: number;
}

/**
 * Tests whether mean(a - b) = 0. With fewer than 2 pairs t and p are NaN; with identical
 * differences t is +-Infinity (p = 0), or NaN when they are all 0 (as scipy).
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  if (!isNumbers(a)) throw new OptionError('a', 'an array of finite numbers', a);
  if (!isNumbers(b) || b.length !== a.length)
    throw new OptionError('b', `an array of ${a.length} finite numbers (as long as a)`, b);
  const n = a.length;
  const d = Float64Array.from({ length: n }, (_, i) => a[i] - b[i]);
  const df = n - 1;
  const meanDiff = mean(d);
  if (n < 2) return { t: NaN, p: NaN, df, meanDiff, n };
  const se = std(d, 1) / Math.sqrt(n);
  const t = meanDiff / se;
  return { t, p: studentTTwoSided(t, df), df, meanDiff, n };
}

function isNumbers(v: unknown): v is ArrayLike<number> {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) return false;
  const arr = v as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++)
    if (typeof arr[i] !== 'number' || !Number.isFinite(arr[i] as number)) return false;
  return true;
}

/**
 * The paper's method comparison: a paired t-test over the N grid, pairing the two arms' results at
 * the same N (N present in only one arm are left out and listed).
 */
export function compareOverGrid(
  a: { n: number[]; value: number[] },
  b: { n: number[]; value: number[] },
): TTestResult & { pairedN: number[]; unpairedN: number[] } {
  for (const [arm, name] of [
    [a, 'a'],
    [b, 'b'],
  ] as const) {
    if (!arm || !Array.isArray(arm.n) || !Array.isArray(arm.value) || arm.n.length !== arm.value.length)
      throw new OptionError(name, '{ n, value } arrays of equal length', arm);
    if (new Set(arm.n).size !== arm.n.length) throw new OptionError(`${name}.n`, 'distinct sizes', arm.n);
  }
  const bAt = new Map(b.n.map((n, i) => [n, b.value[i]]));
  const pairedN = a.n.filter((n) => bAt.has(n)).sort((x, y) => x - y);
  const aAt = new Map(a.n.map((n, i) => [n, a.value[i]]));
  const unpairedN = [...a.n, ...b.n].filter((n) => !(aAt.has(n) && bAt.has(n))).sort((x, y) => x - y);
  const r = pairedTTest(
    pairedN.map((n) => aAt.get(n)!),
    pairedN.map((n) => bAt.get(n)!),
  );
  return { ...r, pairedN, unpairedN };
}
