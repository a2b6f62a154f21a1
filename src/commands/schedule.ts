/** `torchxfer schedule`: tabulate (--json) or plot a learning-rate/momentum schedule per layer group. */
import type { CommandModule } from 'yargs';

import { saveChart } from '../plot/png.js';
import { constant, oneCycle, regularSchedule, scheduleChart, STRATEGIES, tabulate, trainingPlan, ONE_CYCLE_CONVENTIONS, type Strategy } from '../schedule/index.js';
import { expectInteger, expectNumber, expectOneOf, expectString } from '../validate.js';
import { OptionError } from '../errors.js';

interface ScheduleArgs {
  policy: string;
  iters: number;
  'max-lr': number;
  strategy: string;
  'final-div'?: number;
  'div-factor': number;
  'pct-start': number;
  convention: string;
  momentum: number;
  'val-losses'?: string;
  json: boolean;
  out: string;
}

export const scheduleCommand: CommandModule<object, ScheduleArgs> = {
  command: 'schedule',
  describe: 'Show the learning-rate and momentum schedule of each layer group (JSON or a plot)',
  builder: (y) =>
    y
      .option('policy', { type: 'string', choices: ['one-cycle', 'regular'], default: 'one-cycle', describe: 'Learning-rate policy' })
      .option('iters', { type: 'number', demandOption: true, describe: 'Total optimiser steps (epochs x batches per epoch)' })
      .option('max-lr', { type: 'number', demandOption: true, describe: 'Peak (one-cycle) or starting (regular) learning rate' })
      .option('strategy', { type: 'string', choices: [...STRATEGIES], default: 'gradual-unfreeze', describe: 'Transfer strategy over the 3 layer groups' })
      .option('final-div', { type: 'number', describe: 'One-cycle final LR = max-lr / final-div (25000 paper; 250000 pytorch)' })
      .option('div-factor', { type: 'number', default: 25, describe: 'One-cycle starting LR = max-lr / div-factor' })
      .option('pct-start', { type: 'number', default: 0.3, describe: 'Fraction of steps spent warming up' })
      .option('convention', { type: 'string', choices: [...ONE_CYCLE_CONVENTIONS], default: 'paper', describe: "'paper' (eq. 1) or 'pytorch' (OneCycleLR)" })
      .option('momentum', { type: 'number', default: 0.9, describe: 'Momentum of the regular policy (constant)' })
      .option('val-losses', { type: 'string', describe: 'Regular policy: comma-separated validation loss per epoch (iters / epochs steps each)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print {steps, groups: [{lr, momentum, trainable}]} (group 1 first)' })
      .option('out', { type: 'string', default: 'schedule.svg', describe: 'Plot file (.svg or .png)' })
      .example('$0 schedule --iters 500 --max-lr 1e-3 --out fig2.png', "The paper's Fig. 2")
      .example('$0 schedule --iters 100 --max-lr 0.01 --strategy fine-tune --json', 'The values per step')
      .example('$0 schedule --policy regular --iters 50 --max-lr 1e-3 --val-losses 0.9,0.8,0.85,0.7,0.72', 'Regular policy over 5 epochs') as never,
  handler: async (args) => {
    const policy = expectOneOf(args.policy, 'policy', ['one-cycle', 'regular'] as const);
    const iters = expectInteger(args.iters, 'iters', 1, 1e7);
    const maxLr = expectNumber(args['max-lr'], 'max-lr', 0, Infinity, { exclusiveMin: true });
    const strategy = expectOneOf(args.strategy, 'strategy', STRATEGIES) as Strategy;
    const out = expectString(args.out, 'out');
    if (!/\.(svg|png)$/i.test(out)) throw new OptionError('out', 'a file name ending in .svg or .png', out);
    let lr;
    let momentum;
    let steps = iters;
    if (args['val-losses'] !== undefined && policy !== 'regular') throw new OptionError('val-losses', "no value unless --policy is 'regular'", args['val-losses']);
    if (policy === 'one-cycle') {
      ({ lr, momentum } = oneCycle({ maxLr, steps: iters, finalDiv: args['final-div'], divFactor: args['div-factor'], pctStart: args['pct-start'], convention: args.convention as never }));
    } else {
      momentum = constant(expectNumber(args.momentum, 'momentum', 0, 1));
      // Without validation losses the regular policy holds max-lr; RegularPolicy divides it in training.
      lr = constant(maxLr);
      if (args['val-losses'] !== undefined) {
        const losses = parseLosses(args['val-losses']);
        if (iters % losses.length !== 0) throw new OptionError('iters', `a multiple of the number of epochs in --val-losses (${losses.length})`, iters);
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

function parseLosses(text: string): number[] {
  const parts = String(text).split(',');
  return parts.map((p, i) => {
    const v = Number(p.trim());
    if (p.trim() === '' || Number.isNaN(v)) throw new OptionError(`val-losses[${i}]`, 'a number', p);
    return v;
  });
}
