/** Every CLI command, in the order --help lists them. Add new commands here. */
import type { CommandModule } from 'yargs';

import { infoCommand } from './info.js';
import { weightsCommand } from './weights.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand, weightsCommand];
