/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { registerTrainRunner } from '../experiments/train-runner.js';

import { dataCommand } from './data.js';
import { evalCommand, predictCommand } from './eval.js';
import { experimentCommand } from './experiment.js';
import { featuresCommand } from './features.js';
import { infoCommand } from './info.js';
import { lrFindCommand } from './lr-find.js';
import { radiomicsCommand } from './radiomics.js';
import { reportCommand } from './report.js';
import { resultsCommand } from './results.js';
import { scheduleCommand } from './schedule.js';
import { trainCommand } from './train.js';
import { weightsCommand } from './weights.js';

// `torchxfer experiment` trains for real through the training loop.
registerTrainRunner();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  trainCommand,
  evalCommand,
  predictCommand,
  lrFindCommand,
  infoCommand,
  dataCommand,
  weightsCommand,
  scheduleCommand,
  featuresCommand,
  radiomicsCommand,
  experimentCommand,
  resultsCommand,
  reportCommand,
];
