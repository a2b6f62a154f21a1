/** `torchxfer results merge|export`: combine shard databases; export runs as CSV or JSON. */
import { existsSync, writeFileSync } from 'node:fs';

import type { Argv, CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { ResultsDb } from '../experiments/db.js';
import { exportCsv, exportJson } from '../experiments/export.js';
import { mergeDatabases } from '../experiments/merge.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

const EXPORT_OPTIONS: OptionList = [
  ['json', { default: true }],
  ['out', { note: 'a file (default: stdout)' }],
];

function mustExist(path: string, name: string): string {
  if (!existsSync(path)) throw new OptionError(name, 'an existing results database file', path);
  return path;
}

export const resultsCommand: CommandModule = {
  command: 'results',
  describe: 'Merge results databases or export one as CSV/JSON',
  builder: (y: Argv) =>
    y
      .command<{ out: string; inputs: string[] }>({
        command: 'merge <out> <inputs..>',
        describe: 'Combine databases (idempotent; for a key in both, the done run wins)',
        handler: (a) => {
          a.inputs.forEach((p, i) => mustExist(p, `IN[${i}]`));
          const s = mergeDatabases(a.out, a.inputs);
          console.log(`${a.out}: ${s.added} run(s) added, ${s.replaced} replaced by a done run, ${s.kept} kept`);
        },
      })
      .command<{ db: string; json: boolean; out?: string }>({
        command: 'export <db>',
        describe: 'Export runs (CSV: one row per run; --json: experiments, runs and epochs)',
        builder: (b) => addOptions(b, EXPORT_OPTIONS) as never,
        handler: (argv) => {
          const a = parseOptions(argv, EXPORT_OPTIONS);
          const db = new ResultsDb(mustExist(a.db, 'DB'), { readonly: true });
          try {
            const text = a.json ? exportJson(db) : exportCsv(db);
            if (a.out) {
              writeFileSync(a.out, text);
              console.error(`Wrote ${a.out}`);
            } else process.stdout.write(text);
          } finally {
            db.close();
          }
        },
      })
      .demandCommand(1, 'Give an action: merge or export') as never,
  handler: () => {},
};
