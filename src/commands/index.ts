/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { experimentCommand } from './experiment.js';
import { infoCommand } from './info.js';
import { reportCommand } from './report.js';
import { resultsCommand } from './results.js';
import { scheduleCommand } from './schedule.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand, scheduleCommand, experimentCommand, resultsCommand, reportCommand];
