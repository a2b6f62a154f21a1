/** `torchxfer data <subcommand>`: dataset tools. `synth` writes a simulated phantom dataset. */
import type { CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { synthesize, type PhantomKind } from '../data/phantom/index.js';
import { SIMULATED_NOTICE } from '../data/phantom/writers.js';
import { Progress } from '../progress.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { dataCacheCommand } from './data-cache.js';
import { dataInspectCommand } from './data-inspect.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface SynthArgs {
  kind: PhantomKind;
  out: string;
  count: number;
  seed?: number;
  size: number;
  prevalenceBoost?: number;
  prevalence?: string[];
  threads?: number;
}

/**
 * --prevalence Finding=fraction,...: the pairs as an object; the finding names and ranges are checked by
 * synthesize (one place), its messages naming the finding.
 */
function prevalencePairs(items: string[] | undefined): Record<string, number> | undefined {
  if (!items) return undefined;
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([A-Za-z_]+)=([0-9.eE+-]+)$/.exec(item);
    if (!m || !Number.isFinite(Number(m[2])))
      throw new OptionError('--prevalence', 'Finding=fraction pairs, comma-separated (e.g. Cardiomegaly=0.3)', item);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

const SYNTH_OPTIONS: OptionList = [
  ['kind', { required: true }],
  ['out', { required: true, note: 'a new or empty folder' }],
  ['count', { required: true }],
  'seed',
  ['size', { default: true }],
  'prevalence-boost',
  'prevalence',
  'threads',
];

export const dataSynthCommand: CommandModule = {
  command: 'synth',
  describe: 'Write a SIMULATED phantom dataset (chest: NIH ChestX-ray14 layout; msk: MURA-v1.1 layout)',
  builder: (y) =>
    addOptions(y, SYNTH_OPTIONS)
      .example('$0 data synth --kind chest --out phantoms/chest --count 500 --seed 1', '500 chest images, NIH layout')
      .example('$0 data synth --kind msk --out phantoms/mura --count 300 --seed 1', '300 limb images, MURA layout')
      .example(
        '$0 data synth --kind chest --out phantoms/nodule --count 1500 --seed 2 --prevalence Nodule=0.3',
        'Nodule in 30% of the images',
      ),
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, SYNTH_OPTIONS) as unknown as SynthArgs;
    console.error(SIMULATED_NOTICE);
    const bar = new Progress({ total: args.count, label: `synth ${args.kind}`, unit: 'img' });
    const result = await synthesize({
      kind: args.kind,
      out: args.out,
      n: args.count,
      seed: args.seed ?? TRAIN_DEFAULTS.seed,
      size: args.size,
      prevalenceBoost: args.prevalenceBoost,
      prevalence: prevalencePairs(args.prevalence),
      threads: args.threads,
      onProgress: (done) => bar.tick(done - bar.completed),
    });
    bar.finish();
    console.log(
      `Wrote ${result.images} SIMULATED ${result.manifest.layout} phantom images (${result.patients} patients) to ${result.root}`,
    );
  },
};

/** Subcommands of `data`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const dataSubcommands: CommandModule<any, any>[] = [dataSynthCommand, dataInspectCommand, dataCacheCommand];

export const dataCommand: CommandModule = {
  command: 'data <command>',
  describe: 'Dataset tools: synthesize phantom data, inspect a dataset, build its image cache',
  builder: (y) => y.command(dataSubcommands).demandCommand(1, 'Give a data subcommand; see the list above.'),
  handler: () => {},
};
