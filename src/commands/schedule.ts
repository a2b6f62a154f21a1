/** `torchxfer schedule`: tabulate (--json) or plot a learning-rate/momentum schedule per layer group. */
import type { CommandModule } from 'yargs';

import { saveChart, scheduleChart } from '../plot/index.js';
import { constant, oneCycle, regularSchedule, tabulate, trainingPlan, type Strategy } from '../schedule/index.js';
import { OptionError } from '../errors.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface ScheduleArgs {
  policy?: 'one-cycle' | 'regular';
  iters: number;
  'max-lr': number | 'auto';
  strategy?: string;
  'final-div'?: number;
  'div-factor'?: number;
  'pct-start'?: number;
  convention?: string;
  momentum?: number;
  'val-losses'?: string[];
  json: boolean;
  out: string;
}

const SCHEDULE_OPTIONS: OptionList = [
  'policy',
  ['iters', { required: true }],
  ['max-lr', { required: true }],
  'strategy',
  'final-div',
  'div-factor',
  'pct-start',
  'convention',
  'momentum',
  'val-losses',
  ['json', { default: true, note: 'schedule: {steps, groups: [{lr, momentum, trainable}]} (group 1 first)' }],
  ['out', { default: 'schedule.svg', note: 'a plot file (.svg or .png)' }],
];

export const scheduleCommand: CommandModule = {
  command: 'schedule',
  describe: 'Show the learning-rate and momentum schedule of each layer group (JSON or a plot)',
  builder: (y) =>
    addOptions(y, SCHEDULE_OPTIONS)
      .example('$0 schedule --iters 500 --max-lr 1e-3 --out fig2.png', "The paper's Fig. 2")
      .example('$0 schedule --iters 100 --max-lr 0.01 --strategy fine-tune --json', 'The values per step')
      .example(
        '$0 schedule --policy regular --iters 50 --max-lr 1e-3 --val-losses 0.9,0.8,0.85,0.7,0.72',
        'Regular policy over 5 epochs',
      ) as never,
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, SCHEDULE_OPTIONS) as unknown as ScheduleArgs;
    const policy = args.policy ?? TRAIN_DEFAULTS.policy;
    const iters = args.iters;
    if (args['max-lr'] === 'auto') throw new OptionError('--max-lr', 'a number (schedule runs no LR finder)', 'auto');
    const maxLr = args['max-lr'];
    const strategy = (args.strategy ?? TRAIN_DEFAULTS.strategy) as Strategy;
    const out = args.out;
    if (!/\.(svg|png)$/i.test(out)) throw new OptionError('--out', 'a file name ending in .svg or .png', out);
    let lr;
    let momentum;
    let steps = iters;
    if (args['val-losses'] !== undefined && policy !== 'regular')
      throw new OptionError('--val-losses', "no value unless --policy is 'regular'", args['val-losses'].join(','));
    if (policy === 'one-cycle') {
      ({ lr, momentum } = oneCycle({
        maxLr,
        steps: iters,
        finalDiv: args['final-div'],
        divFactor: args['div-factor'] ?? TRAIN_DEFAULTS.divFactor,
        pctStart: args['pct-start'] ?? 0.3,
        convention: (args.convention ?? TRAIN_DEFAULTS.convention) as never,
      }));
    } else {
      momentum = constant(args.momentum ?? 0.9);
      // Without validation losses the regular policy holds max-lr; RegularPolicy divides it in training.
      lr = constant(maxLr);
      if (args['val-losses'] !== undefined) {
        const losses = parseLosses(args['val-losses']);
        if (iters % losses.length !== 0)
          throw new OptionError(
            '--iters',
            `a multiple of the number of epochs in --val-losses (${losses.length})`,
            iters,
          );
        const replay = regularSchedule({ maxLr, maxEpochs: losses.length }, losses, iters / losses.length);
        ({ lr, steps } = replay);
      }
    }
    const table = tabulate(trainingPlan({ strategy, lr, momentum, steps }));
    if (args.json) {
      console.log(JSON.stringify({ steps: table.steps, groups: table.groups, unfreeze: table.unfreeze }));
      return;
    }
    const title = `${policy} policy, ${strategy}, max_lr ${maxLr}, ${steps} iterations`;
    await saveChart(scheduleChart(table, title), out);
    console.log(`Wrote ${out}`);
  },
};

function parseLosses(parts: string[]): number[] {
  return parts.map((p) => {
    const v = Number(p.trim());
    if (p.trim() === '' || !Number.isFinite(v)) throw new OptionError('--val-losses', 'comma-separated numbers', p);
    return v;
  });
}
