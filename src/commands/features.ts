/** `torchxfer features IMAGES...`: the 79 radiomic features of each image, as CSV or JSON. */
import { writeFileSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { formatCsv } from '../data/csv.js';
import { radiomicFeatureNames } from '../radiomics/features.js';
import { featuresOfFiles, type FileFeatures } from '../radiomics/files.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface FeaturesArgs {
  images: string[];
  json: boolean;
  symmetric: boolean;
  width: number;
  height: number;
  out?: string;
}

export function featuresCsv(results: FileFeatures[]): string {
  const names = radiomicFeatureNames();
  return formatCsv([
    ['file', ...names, 'error'],
    ...results.map((r) => [r.file, ...names.map((n) => r.features?.[n]), r.error]),
  ]);
}

const FEATURES_OPTIONS: OptionList = [
  ['json', { default: true, note: 'features: [{"file", "features": {...}}] (default: CSV, one row per image)' }],
  ['symmetric', { default: true }],
  ['width', { default: true }],
  ['height', { default: true }],
  ['out', { note: 'a file (default: stdout)' }],
];

export const featuresCommand: CommandModule = {
  command: 'features <images..>',
  describe: 'Radiomic features (79 per image: GLCM properties, moments, entropy) of PNG/JPEG/DICOM images',
  builder: (y) =>
    addOptions(y.positional('images', { type: 'string', array: true, describe: 'Image files' }), FEATURES_OPTIONS)
      .example('$0 features a.png b.dcm --json', 'Features of two images as JSON')
      .example('$0 features images/*.png --out features.json --json', 'Save them for `torchxfer radiomics`') as never,
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, FEATURES_OPTIONS) as unknown as FeaturesArgs;
    const { width, height } = args;
    const results = await featuresOfFiles(args.images.map(String), { width, height, symmetric: args.symmetric });
    const text = args.json ? JSON.stringify(results, null, 2) + '\n' : featuresCsv(results);
    if (args.out) writeFileSync(args.out, text);
    else process.stdout.write(text);
    const failed = results.filter((r) => r.error);
    for (const r of failed) console.error(`torchxfer features: skipped ${r.error}`);
    // Some unreadable images are reported skips; none readable is a failure (exit code 1).
    if (failed.length && failed.length === results.length)
      throw new Error(`features: none of the ${results.length} image(s) could be read`);
    if (failed.length)
      console.error(`torchxfer features: ${failed.length} of ${results.length} image(s) could not be read`);
  },
};
