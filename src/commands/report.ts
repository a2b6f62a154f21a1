/** `torchxfer report DB --out DIR`: figures (SVG + PNG) and one self-contained HTML page. */
import { existsSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { ResultsDb } from '../experiments/db.js';
import { writeReport } from '../report/index.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface ReportArgs {
  db: string;
  out: string;
  png: boolean;
}

const REPORT_OPTIONS: OptionList = [
  ['out', { required: true, note: 'a folder: report.html, figures/' }],
  ['png', { default: true }],
];

export const reportCommand: CommandModule = {
  command: 'report <db>',
  describe: 'Write an HTML report with AUC-vs-N figures, tables, t-tests and stage winners',
  builder: (y) =>
    addOptions(
      y.positional('db', { type: 'string', demandOption: true, describe: 'Results database' }),
      REPORT_OPTIONS,
    ).example('$0 report demo.db --out demo-report', '') as never,
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, REPORT_OPTIONS) as unknown as ReportArgs;
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
