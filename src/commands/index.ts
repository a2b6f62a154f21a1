/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { dataCommand } from './data.js';
import { infoCommand } from './info.js';
import { scheduleCommand } from './schedule.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand, scheduleCommand];
export const commands: CommandModule<any, any>[] = [infoCommand, dataCommand];
import { weightsCommand } from './weights.js';

export const commands: CommandModule<any, any>[] = [infoCommand, weightsCommand];
import { featuresCommand } from './features.js';
import { radiomicsCommand } from './radiomics.js';

export const commands: CommandModule<any, any>[] = [infoCommand, featuresCommand, radiomicsCommand];
import { experimentCommand } from './experiment.js';
import { reportCommand } from './report.js';
import { resultsCommand } from './results.js';

export const commands: CommandModule<any, any>[] = [infoCommand, experimentCommand, resultsCommand, reportCommand];
