/** The yargs CLI. `main(argv)` resolves to the process exit code (never calls process.exit). */
import yargs from 'yargs';

import { commands } from './commands/index.js';
import { version } from './version.js';

export async function main(argv: string[]): Promise<number> {
  let failure: string | undefined;
  const parser = yargs(argv)
    .scriptName('torchxfer')
    .usage('$0 <command> [options]\n\nTransfer learning for small medical imaging datasets (Romero et al. 2020).')
    .command(commands)
    .demandCommand(1, 'Give a command; see the list above.')
    .strict()
    .version(version)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((msg, err, y) => {
      if (err) throw err;
      failure = msg;
      y.showHelp('error');
      console.error(`\n${msg}`);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    console.error(`torchxfer: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  return failure ? 2 : 0;
}
