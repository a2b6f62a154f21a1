/** Radiomic features of image files (PNG/JPEG/DICOM, decoded to 8-bit grey), for the CLI and experiment runners. */
import { decodeGrey } from '../data/decode.js';
import { OptionError } from '../errors.js';
import { expectBoolean, expectInteger } from '../validate.js';
import { radiomicFeatureNames, radiomicFeatures } from './features.js';

/** One image's result: its features, or why it could not be read (never a crash). */
export interface FileFeatures {
  file: string;
  features?: Record<string, number>;
  error?: string;
}

/**
 * Decodes and featurises files, four at a time; unreadable ones get an `error` (never a throw).
 * Geometry: resize to `width` (default 250, 0 keeps) keeping aspect, then `height` (default 0: as resized).
 */
export async function featuresOfFiles(
  files: string[],
  opts: { width?: number; height?: number; symmetric?: boolean } = {},
): Promise<FileFeatures[]> {
  // Options are checked before any file: a bad option is the caller's error, not a per-file skip.
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string'))
    throw new OptionError('files', 'an array of paths', files);
  const width = opts.width === undefined ? 250 : expectInteger(opts.width, 'width', 0, 65535);
  const height = opts.height === undefined ? 0 : expectInteger(opts.height, 'height', 0, 65535);
  const symmetric = opts.symmetric === undefined ? false : expectBoolean(opts.symmetric, 'symmetric');
  const names = radiomicFeatureNames();
  const results: FileFeatures[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < files.length; k = next++) {
      const file = files[k]!;
      try {
        const img = await decodeGrey(file, { width, height });
        const values = await radiomicFeatures(img.data, [1, img.height, img.width], { symmetric });
        results[k] = { file, features: Object.fromEntries(names.map((n, j) => [n, values[j]!])) };
      } catch (err) {
        results[k] = { file, error: err instanceof Error ? err.message : String(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
  return results;
}
