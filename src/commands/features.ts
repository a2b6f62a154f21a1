/** `torchxfer features IMAGES...`: the 79 radiomic features of each image, as CSV or JSON. */
import { writeFileSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { decodeGrey } from '../data/decode.js';
import { radiomicFeatureNames, radiomicFeatures } from '../radiomics/features.js';
import { expectInteger } from '../validate.js';

interface FeaturesArgs {
  images: string[];
  json: boolean;
  symmetric: boolean;
  width: number;
  height: number;
  out?: string;
}

/** One image's result: its features, or why it could not be read (never a crash). */
export interface FileFeatures {
  file: string;
  features?: Record<string, number>;
  error?: string;
}

/** Decodes and featurises files, a few at a time; unreadable ones get an `error`. */
export async function featuresOfFiles(files: string[], opts: { width: number; height: number; symmetric: boolean }): Promise<FileFeatures[]> {
  const names = radiomicFeatureNames();
  const results: FileFeatures[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < files.length; k = next++) {
      const file = files[k]!;
      try {
        const img = await decodeGrey(file, { width: opts.width, height: opts.height });
        const values = await radiomicFeatures(img.data, [1, img.height, img.width], { symmetric: opts.symmetric });
        results[k] = { file, features: Object.fromEntries(names.map((n, j) => [n, values[j]!])) };
      } catch (err) {
        results[k] = { file, error: err instanceof Error ? err.message : String(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
  return results;
}

const csvCell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function featuresCsv(results: FileFeatures[]): string {
  const names = radiomicFeatureNames();
  const lines = [['file', ...names, 'error'].join(',')];
  for (const r of results) lines.push([csvCell(r.file), ...names.map((n) => (r.features ? String(r.features[n]) : '')), csvCell(r.error ?? '')].join(','));
  return lines.join('\n') + '\n';
}

export const featuresCommand: CommandModule<object, FeaturesArgs> = {
  command: 'features <images..>',
  describe: 'Radiomic features (79 per image: GLCM properties, moments, entropy) of PNG/JPEG/DICOM images',
  builder: (y) =>
    y
      .positional('images', { type: 'string', array: true, describe: 'Image files' })
      .option('json', { type: 'boolean', default: false, describe: 'Print [{"file", "features": {...}}] (default: CSV, one row per image)' })
      .option('symmetric', { type: 'boolean', default: false, describe: 'Symmetric co-occurrence matrices (graycomatrix symmetric=True)' })
      .option('width', { type: 'number', default: 250, describe: 'Resize to this width keeping the aspect ratio (0: keep)' })
      .option('height', { type: 'number', default: 0, describe: 'Then centre-crop/zero-pad to this height (0: keep the resized height)' })
      .option('out', { type: 'string', describe: 'Write to this file instead of stdout' })
      .example('$0 features a.png b.dcm --json', 'Features of two images as JSON')
      .example('$0 features images/*.png --out features.json --json', 'Save them for `torchxfer radiomics`') as never,
  handler: async (args) => {
    const width = expectInteger(args.width, 'width', 0, 65535);
    const height = expectInteger(args.height, 'height', 0, 65535);
    const results = await featuresOfFiles(args.images.map(String), { width, height, symmetric: args.symmetric });
    const text = args.json ? JSON.stringify(results, null, 2) + '\n' : featuresCsv(results);
    if (args.out) writeFileSync(args.out, text);
    else process.stdout.write(text);
    const failed = results.filter((r) => r.error);
    for (const r of failed) console.error(`torchxfer features: skipped ${r.error}`);
    // Some unreadable images are reported skips; none readable is a failure (exit code 1).
    if (failed.length && failed.length === results.length) throw new Error(`features: none of the ${results.length} image(s) could be read`);
    if (failed.length) console.error(`torchxfer features: ${failed.length} of ${results.length} image(s) could not be read`);
  },
};
