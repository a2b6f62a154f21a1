/** uint8 pixels -> normalised Float32 through a 256-entry table (exact, and the cheapest per pixel). */
import { OptionError } from '../errors.js';
import { expectNumber } from '../validate.js';

export interface Normalisation {
  /** Mean and standard deviation on [0, 1] pixels (ImageNet grey: 0.449, 0.226). */
  mean: number;
  std: number;
}

/** The table v -> (v / 255 - mean) / std for v = 0..255. */
export function normalisationTable({ mean, std }: Normalisation): Float32Array {
  expectNumber(mean, 'mean');
  expectNumber(std, 'std', 0, Infinity, { exclusiveMin: true });
  return new Float32Array(256).map((_, v) => (v / 255 - mean) / std);
}

/** Normalises a batch (any shape) into `out` (allocated when absent). */
export function normaliseBatch(pixels: Uint8Array, table: Float32Array, out?: Float32Array): Float32Array {
  if (table.length !== 256) throw new OptionError('table', 'a Float32Array of 256 entries (normalisationTable)', table);
  if (out !== undefined && out.length < pixels.length)
    throw new OptionError('out', `a Float32Array of at least ${pixels.length} values`, out);
  const dst = out ?? new Float32Array(pixels.length);
  for (let i = 0, n = pixels.length; i < n; i++) dst[i] = table[pixels[i]];
  return dst;
}
