/** `torchxfer data cache`: decode a dataset once into the preprocessing cache and report skipped files. */
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { CommandModule } from 'yargs';

import { openCache } from '../data/cache.js';
import { datasetOptions, loadFromArgs, type DatasetArgs } from './data-options.js';

interface CacheArgs extends DatasetArgs {
  'cache-dir': string;
  width: number;
  height: number;
  concurrency?: number;
  json: boolean;
}

export function defaultCacheDir(): string {
  return process.env.TORCHXFER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'torchxfer', 'images');
}

export const dataCacheCommand: CommandModule<object, CacheArgs> = {
  command: 'cache',
  describe: 'Decode a dataset once into the image cache (reused by training; rebuilt when files change)',
  builder: (y) =>
    datasetOptions(y)
      .option('cache-dir', { type: 'string', default: defaultCacheDir(), describe: 'Cache directory (env TORCHXFER_CACHE)' })
      .option('width', { type: 'number', default: 250, describe: 'Resize to this width keeping aspect' })
      .option('height', { type: 'number', default: 250, describe: 'Then centre-crop or zero-pad the height to this' })
      .option('concurrency', { type: 'number', describe: 'Images decoded at once (default: cores)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON' })
      .example('$0 data cache --data ~/data/ChestX-ray14 --format nih', 'Decode NIH to 250x250 once') as never,
  handler: async (args) => {
    const ds = loadFromArgs(args);
    const cache = await openCache(ds, {
      dir: args['cache-dir'],
      geometry: { width: args.width, height: args.height },
      concurrency: args.concurrency,
      progress: args.json ? null : undefined,
    });
    try {
      if (args.json) {
        console.log(JSON.stringify({ file: cache.binPath, built: cache.built, reused: cache.reused, stored: cache.stored, geometry: cache.geometry, skipped: cache.skipped }, null, 2));
      } else {
        console.log(`${cache.built ? 'built' : 'up to date'}: ${cache.report()}`);
      }
    } finally {
      cache.close();
    }
  },
};
