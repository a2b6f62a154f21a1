/**
 * The 79 radiomic features of 8-bit grey images (docs/protocol.md, "Baselines and statistics"), computed natively
 * off the JS thread with scikit-image's graycomatrix/graycoprops, scipy's moment and skimage's
 * shannon_entropy definitions. Order (see radiomicFeatureNames()): glcm.<property>.d<distance>.a<angle>
 * for property in contrast, dissimilarity, homogeneity, ASM, energy, correlation; distance in 1, 2, 4, 6;
 * angle in 0, 45, 90 (property outermost, angle innermost), then mean, std, moment2..moment5, entropy.
 */
import { OptionError } from '../errors.js';
import { native } from '../native.js';
import { expectBoolean, expectInteger, expectShape } from '../validate.js';

export const RADIOMIC_FEATURE_COUNT = 79;

export interface RadiomicOptions {
  /** graycomatrix(symmetric=...): count each pair both ways. Default false, as the authors ran it. */
  symmetric?: boolean;
}

const addon = native;

/** The 79 feature names in output order. */
export function radiomicFeatureNames(): string[] {
  return addon().radiomicFeatureNames();
}

/**
 * Features of n images of height x width stored contiguously (row-major) in `images`.
 * Resolves to a Float64Array of n * 79 values, one row per image.
 */
export async function radiomicFeatures(
  images: Uint8Array,
  shape: [number, number, number],
  options: RadiomicOptions = {},
): Promise<Float64Array> {
  if (!(images instanceof Uint8Array)) throw new OptionError('images', 'a Uint8Array', images);
  expectShape(shape, 'shape');
  if (shape.length !== 3) throw new OptionError('shape', 'an array [n, height, width]', shape);
  const [n, height, width] = shape;
  expectInteger(height, 'shape[1]', 1);
  expectInteger(width, 'shape[2]', 1);
  if (n * height * width !== images.length)
    throw new OptionError('shape', `dimensions whose product is ${images.length}`, `[${shape.join(', ')}]`);
  if (options === null || typeof options !== 'object') throw new OptionError('options', 'an object', options);
  const symmetric = options.symmetric === undefined ? false : expectBoolean(options.symmetric, 'symmetric');
  return addon().radiomicFeatures(images, shape, { symmetric });
}

/** Features of one image as a name -> value record. */
export async function radiomicFeatureRecord(
  image: Uint8Array,
  height: number,
  width: number,
  options: RadiomicOptions = {},
): Promise<Record<string, number>> {
  const values = await radiomicFeatures(image, [1, height, width], options);
  const names = radiomicFeatureNames();
  return Object.fromEntries(names.map((name, k) => [name, values[k]!]));
}
