/**
 * Feature standardisation fitted on training rows only (scikit-learn's StandardScaler: population std, 1 where
 * constant).
 */
export type Matrix = number[][];

export interface Standardizer {
  mean: number[];
  scale: number[];
  transform(X: Matrix): Matrix;
}

export function fitStandardizer(X: Matrix): Standardizer {
  const n = X.length;
  const p = n ? X[0]!.length : 0;
  const mean = new Array<number>(p).fill(0);
  const scale = new Array<number>(p).fill(0);
  for (const row of X) for (let j = 0; j < p; j++) mean[j]! += row[j]! / n;
  for (const row of X) for (let j = 0; j < p; j++) scale[j]! += (row[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < p; j++) {
    const s = Math.sqrt(scale[j]!);
    scale[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? s : 1; // constant feature: centred, not scaled
  }
  return {
    mean,
    scale,
    transform: (Z) =>
      Z.map((row, i) => {
        if (row.length !== p)
          throw new RangeError(`row ${i} has ${row.length} features; the standardiser was fitted on ${p}`);
        return row.map((v, j) => (v - mean[j]!) / scale[j]!);
      }),
  };
}
