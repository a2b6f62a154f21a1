/** Descriptive statistics over plain arrays (NaN in, NaN out: callers filter missing values first). */

export function sum(x: ArrayLike<number>): number {
  // Neumaier summation: exact enough that means of long loss curves do not drift.
  let s = 0;
  let c = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

export function mean(x: ArrayLike<number>): number {
  return x.length === 0 ? NaN : sum(x) / x.length;
}

/** Variance with `ddof` delta degrees of freedom (1 = sample variance, as numpy's ddof). */
export function variance(x: ArrayLike<number>, ddof = 1): number {
  const n = x.length;
  if (n - ddof <= 0) return NaN;
  const m = mean(x);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = (x[i] - m) * (x[i] - m);
  return sum(dev) / (n - ddof);
}

export function std(x: ArrayLike<number>, ddof = 1): number {
  return Math.sqrt(variance(x, ddof));
}

/** Quantile q in [0, 1] with linear interpolation between order statistics (numpy's default). */
export function quantile(x: ArrayLike<number>, q: number): number {
  if (x.length === 0 || !(q >= 0 && q <= 1)) return NaN;
  const s = Float64Array.from(x).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

export function median(x: ArrayLike<number>): number {
  return quantile(x, 0.5);
}
