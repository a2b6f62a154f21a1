/** `torchxfer data <subcommand>`: dataset tools. `synth` writes a simulated phantom dataset. */
import type { Argv, CommandModule } from 'yargs';

import { synthesize, type PhantomKind } from '../data/phantom/index.js';
import { SIMULATED_NOTICE } from '../data/phantom/writers.js';
import { Progress } from '../progress.js';
import { dataCacheCommand } from './data-cache.js';
import { dataInspectCommand } from './data-inspect.js';

interface SynthArgs {
  kind: PhantomKind;
  out: string;
  n: number;
  seed: number;
  size: number;
  prevalenceBoost?: number;
  threads?: number;
}

export const dataSynthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Write a SIMULATED phantom dataset (chest: NIH ChestX-ray14 layout; msk: MURA-v1.1 layout)',
  builder: (y) =>
    y
      .option('kind', { choices: ['chest', 'msk'] as const, demandOption: true, describe: 'chest radiographs (14 NIH findings) or upper-limb films (normal/abnormal)' })
      .option('out', { type: 'string', demandOption: true, describe: 'New or empty output folder' })
      .option('n', { type: 'number', demandOption: true, describe: 'Number of images' })
      .option('seed', { type: 'number', demandOption: true, describe: 'Random seed (same seed: byte-identical files)' })
      .option('size', { type: 'number', default: 256, describe: 'Image height in pixels (64..1024)' })
      .option('prevalence-boost', { type: 'number', describe: 'chest: raise every finding to at least this prevalence (0..0.5)' })
      .option('threads', { type: 'number', describe: 'Drawing threads (default: all cores); 0 draws in the main thread' })
      .example('$0 data synth --kind chest --out phantoms/chest --n 500 --seed 1', '500 chest images, NIH layout')
      .example('$0 data synth --kind msk --out phantoms/mura --n 300 --seed 1', '300 limb images, MURA layout') as unknown as Argv<SynthArgs>,
  handler: async (args) => {
    console.error(SIMULATED_NOTICE);
    const bar = new Progress({ total: args.n, label: `synth ${args.kind}`, unit: 'img' });
    const result = await synthesize({
      kind: args.kind,
      out: args.out,
      n: args.n,
      seed: args.seed,
      size: args.size,
      prevalenceBoost: args.prevalenceBoost,
      threads: args.threads,
      onProgress: (done) => bar.tick(done - bar.completed),
    });
    bar.finish();
    console.log(`Wrote ${result.images} SIMULATED ${result.manifest.layout} phantom images (${result.patients} patients) to ${result.root}`);
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
