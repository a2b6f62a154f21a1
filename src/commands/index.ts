/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { dataCommand } from './data.js';
import { experimentCommand } from './experiment.js';
import { featuresCommand } from './features.js';
import { infoCommand } from './info.js';
import { radiomicsCommand } from './radiomics.js';
import { reportCommand } from './report.js';
import { resultsCommand } from './results.js';
import { scheduleCommand } from './schedule.js';
import { weightsCommand } from './weights.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
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
