/** `torchxfer lr-find`: the learning-rate finder alone, with its curve and suggestions. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { CommandModule } from 'yargs';

import { toPng } from '../plot/index.js';
import { lrFind } from '../train/lr-find.js';
import { configFromArgs, trainOptions } from './train.js';

export const lrFindCommand: CommandModule = {
  command: 'lr-find',
  describe: 'Learning-rate finder: exponential ramp, smoothed loss, suggestions (min = the paper, valley = fastai)',
  builder: (y) =>
    trainOptions(y)
      .option('out', { type: 'string', default: 'runs/lr-find', describe: 'Folder for lr-finder.svg/.png and lr-finder.json' })
      .option('num-iter', { type: 'number', default: 100, describe: 'Ramp steps' })
      .option('start-lr', { type: 'number', default: 1e-7 })
      .option('end-lr', { type: 'number', default: 10 })
      .option('json', { type: 'boolean', default: false, describe: 'Print the curve and suggestions as JSON' })
      .example('$0 lr-find --data /data/NIH --task Emphysema --n 400 --init imagenet', 'Pick max_lr for a run'),
  handler: async (args) => {
    const a = args as unknown as Record<string, unknown> & { out: string; numIter: number; startLr: number; endLr: number; json: boolean };
    const curve = await lrFind(configFromArgs(a), { numIter: a.numIter, start: a.startLr, end: a.endLr });
    const out = resolve(a.out);
    mkdirSync(out, { recursive: true });
    const { svg, ...rest } = curve;
    writeFileSync(join(out, 'lr-finder.svg'), svg);
    await toPng(svg, join(out, 'lr-finder.png'));
    writeFileSync(join(out, 'lr-finder.json'), JSON.stringify(rest, null, 2) + '\n');
    if (a.json) {
      console.log(JSON.stringify(rest));
      return;
    }
    const s = curve.suggestions;
    console.log(s ? `suggested max_lr: ${s.min.lr.toPrecision(3)} (loss minimum, the paper); valley ${s.valley.lr.toPrecision(3)}; min/10 ${s.minDiv10.toPrecision(3)}` : 'no suggestion: the run was too short or diverged at once');
    console.log(`curve: ${join(out, 'lr-finder.svg')} (${curve.steps} steps)`);
  },
};
