/** `torchxfer report DB --out DIR`: figures (SVG + PNG) and one self-contained HTML page. */
import { existsSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { ResultsDb } from '../experiments/db.js';
import { writeReport } from '../report/index.js';

interface ReportArgs {
  db: string;
  out: string;
  png: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <db>',
  describe: 'Write an HTML report with AUC-vs-N figures, tables, t-tests and stage winners',
  builder: (y) =>
    y
      .positional('db', { type: 'string', demandOption: true, describe: 'Results database' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (report.html, figures/)' })
      .option('png', { type: 'boolean', default: true, describe: 'Also write PNG copies of the figures' })
      .example('$0 report demo.db --out demo-report', '') as never,
  handler: async (args) => {
    if (!existsSync(args.db)) throw new OptionError('DB', 'an existing results database file', args.db);
    const db = new ResultsDb(args.db, { readonly: true });
    try {
      const files = await writeReport(db, args.out, { png: args.png });
      console.log(`${files.html} (${files.figures.length} figure files)`);
    } finally {
      db.close();
    }
  },
};
