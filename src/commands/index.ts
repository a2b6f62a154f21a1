/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { featuresCommand } from './features.js';
import { infoCommand } from './info.js';
import { radiomicsCommand } from './radiomics.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand, featuresCommand, radiomicsCommand];
