/** `torchxfer data cache`: decode a dataset once into the image cache that train reads, and report skipped files. */
import { join } from 'node:path';

import type { CommandModule } from 'yargs';

import { openCache } from '../data/cache.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { cacheRoot, loadFromArgs, type DatasetArgs } from './data-options.js';
import { addOptions, DATASET_OPTIONS, parseOptions, type OptionList } from './options.js';

const CACHE_OPTIONS: OptionList = [
  ...DATASET_OPTIONS.map((o) => (o === 'data' ? (['data', { required: true }] as [string, { required: boolean }]) : o)),
  'image-size',
  'concurrency',
  ['json', { default: true }],
];

export const dataCacheCommand: CommandModule = {
  command: 'cache',
  describe:
    'Decode a dataset once into the image cache train reads (same --cache-dir and --image-size; rebuilt when files change)',
  builder: (y) =>
    addOptions(y, CACHE_OPTIONS).example(
      '$0 data cache --data ~/data/ChestX-ray14 --format nih',
      'Decode NIH to 250x250 once, for every later train run',
    ),
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, CACHE_OPTIONS) as unknown as DatasetArgs & {
      imageSize?: number;
      concurrency?: number;
      json: boolean;
    };
    const ds = loadFromArgs(args);
    const size = args.imageSize ?? TRAIN_DEFAULTS.imageSize;
    const cache = await openCache(ds, {
      dir: join(cacheRoot(args), 'images'),
      geometry: { width: size, height: size },
      concurrency: args.concurrency,
      progress: args.json ? null : undefined,
    });
    try {
      if (args.json) {
        console.log(
          JSON.stringify(
            {
              file: cache.binPath,
              built: cache.built,
              reused: cache.reused,
              stored: cache.stored,
              geometry: cache.geometry,
              skipped: cache.skipped,
            },
            null,
            2,
          ),
        );
      } else {
        console.log(`${cache.built ? 'built' : 'up to date'}: ${cache.report()}\ncache file: ${cache.binPath}`);
      }
    } finally {
      cache.close();
    }
  },
};
