/** `torchxfer lr-find`: the learning-rate finder alone, with its curve and suggestions. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { CommandModule } from 'yargs';

import { saveFigure } from '../plot/index.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { lrFind } from '../train/lr-find.js';
import { pickMaxLr, type MaxLrPick } from '../schedule/lr-finder.js';
import { addOptions, parseOptions, RUN_OPTIONS, type OptionList } from './options.js';
import { configFromArgs } from './run-config.js';

const LR_FIND_OPTIONS: OptionList = [
  ...RUN_OPTIONS,
  ['out', { default: 'runs/lr-find', note: 'a folder: lr-finder.svg/.png and lr-finder.json' }],
  'num-iter',
  'start-lr',
  'end-lr',
  ['json', { default: true }],
];

export const lrFindCommand: CommandModule = {
  command: 'lr-find',
  describe:
    'Learning-rate finder: exponential ramp, smoothed loss, suggestions (valley = fastai, the default; minimum = the paper)',
  builder: (y) =>
    addOptions(y, LR_FIND_OPTIONS).example(
      '$0 lr-find --data /data/NIH --task Emphysema --n 400 --init imagenet',
      'Pick max_lr for a run',
    ),
  handler: async (args) => {
    const a = parseOptions(args as Record<string, unknown>, LR_FIND_OPTIONS) as Record<string, unknown> & {
      out: string;
      numIter?: number;
      startLr?: number;
      endLr?: number;
      json: boolean;
    };
    const curve = await lrFind(configFromArgs(a, LR_FIND_OPTIONS), {
      numIter: a.numIter ?? 100,
      start: a.startLr ?? 1e-7,
      end: a.endLr ?? 10,
    });
    const out = resolve(a.out);
    mkdirSync(out, { recursive: true });
    const { svg, ...rest } = curve;
    await saveFigure(svg, join(out, 'lr-finder.svg'));
    writeFileSync(join(out, 'lr-finder.json'), JSON.stringify(rest, null, 2) + '\n');
    if (a.json) {
      console.log(JSON.stringify(rest));
      return;
    }
    const s = curve.suggestions;
    if (!s) {
      console.log('no suggestion: the run was too short or diverged at once');
    } else {
      const pick = pickMaxLr(curve, (a.lrRule as MaxLrPick['rule'] | undefined) ?? TRAIN_DEFAULTS.lrRule);
      console.log(
        `suggested max_lr: ${pick.lr.toPrecision(3)} (--lr-rule ${pick.rule}); valley ${s.valley.lr.toPrecision(3)}, loss minimum / 10 ${s.minDiv10.toPrecision(3)}, loss minimum (the paper) ${s.min.lr.toPrecision(3)}`,
      );
      if (pick.warning) console.error(`warning: ${pick.warning}`);
    }
    console.log(
      `curve (${curve.steps} steps): ${join(out, 'lr-finder.svg')}, ${join(out, 'lr-finder.png')}; data: ${join(out, 'lr-finder.json')}`,
    );
  },
};
