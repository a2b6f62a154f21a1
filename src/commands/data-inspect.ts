/** `torchxfer data inspect`: label counts, patients, official split sizes and skipped files of a dataset. */
import type { CommandModule } from 'yargs';

import { labelCounts } from '../data/datasets/common.js';
import type { Dataset } from '../data/types.js';
import { datasetOptions, loadFromArgs, type DatasetArgs } from './data-options.js';

interface InspectArgs extends DatasetArgs {
  json: boolean;
}

/** Everything `inspect` prints, as data (also the --json output). */
export function inspectDataset(ds: Dataset) {
  const patients = new Set(ds.samples.map((s) => s.patientId));
  const official = ds.officialSplits
    ? {
        trainVal: ds.samples.filter((s) => ds.officialSplits?.trainVal?.has(s.id)).length,
        test: ds.samples.filter((s) => ds.officialSplits?.test?.has(s.id)).length,
      }
    : undefined;
  return { name: ds.name, images: ds.samples.length, patients: patients.size, labels: labelCounts(ds), officialSplits: official, skipped: ds.skipped };
}

export const dataInspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect',
  describe: 'Show label counts, patients, official split sizes and skipped files of a dataset',
  builder: (y) =>
    datasetOptions(y)
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .example('$0 data inspect --data ~/data/ChestX-ray14 --format nih', 'Counts of the NIH dataset')
      .example('$0 data inspect --data labels.csv --format csv --json', 'Your own table, as JSON') as never,
  handler: (args) => {
    const ds = loadFromArgs(args);
    const info = inspectDataset(ds);
    if (args.json) {
      console.log(JSON.stringify(info, null, 2));
      return;
    }
    console.log(`${info.name}: ${info.images} images, ${info.patients} patients`);
    const w = Math.max(5, ...info.labels.map((l) => l.label.length));
    console.log(`${'label'.padEnd(w)}  positive  negative  unknown`);
    for (const l of info.labels) console.log(`${l.label.padEnd(w)}  ${String(l.positive).padStart(8)}  ${String(l.negative).padStart(8)}  ${String(l.unknown).padStart(7)}`);
    if (info.officialSplits) console.log(`official split: ${info.officialSplits.trainVal} train_val, ${info.officialSplits.test} test`);
    console.log(`skipped: ${info.skipped.length}`);
    for (const s of info.skipped.slice(0, 50)) console.log(`  ${s.path}: ${s.reason}`);
    if (info.skipped.length > 50) console.log(`  ... and ${info.skipped.length - 50} more (--json lists all)`);
  },
};
