/** `torchxfer results merge|export`: combine shard databases; export runs as CSV or JSON. */
import { existsSync, writeFileSync } from 'node:fs';

import type { Argv, CommandModule } from 'yargs';

import { OptionError } from '../errors.js';
import { ResultsDb } from '../experiments/db.js';
import { exportCsv, exportJson } from '../experiments/export.js';
import { mergeDatabases } from '../experiments/merge.js';

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
      .command<{ db: string; format: string; out?: string }>({
        command: 'export <db>',
        describe: 'Export runs (CSV: one row per run; JSON: experiments, runs and epochs)',
        builder: (b) =>
          b
            .option('format', { type: 'string', choices: ['csv', 'json'], default: 'csv' })
            .option('out', { type: 'string', describe: 'Output file (default stdout)' }) as never,
        handler: (a) => {
          const db = new ResultsDb(mustExist(a.db, 'DB'), { readonly: true });
          try {
            const text = a.format === 'json' ? exportJson(db) : exportCsv(db);
            if (a.out) writeFileSync(a.out, text);
            else process.stdout.write(text);
          } finally {
            db.close();
          }
        },
      })
      .demandCommand(1, 'Give an action: merge or export') as never,
  handler: () => {},
};
