/** `torchxfer data inspect`: label counts, patients, official split sizes and skipped files of a dataset. */
import type { CommandModule } from 'yargs';

import { labelCounts } from '../data/datasets/common.js';
import { DATASET_FORMATS, loadDataset, type DatasetFormat } from '../data/datasets/index.js';
import type { UncertaintyPolicy } from '../data/datasets/chexpert.js';
import type { Dataset } from '../data/types.js';

interface InspectArgs {
  data: string;
  format: DatasetFormat;
  json: boolean;
  labels?: string;
  key?: string;
  'path-column'?: string;
  'patient-column'?: string;
  positive?: string;
  uncertainty?: UncertaintyPolicy;
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
    y
      .option('data', { type: 'string', demandOption: true, describe: 'Dataset directory (for csv: the CSV file)' })
      .option('format', { choices: DATASET_FORMATS, demandOption: true, describe: 'On-disk layout' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .option('labels', { type: 'string', describe: 'dicom: CSV of labels' })
      .option('key', { type: 'string', describe: "dicom: 'file' or a DICOM keyword keying the label CSV" })
      .option('path-column', { type: 'string', describe: 'csv: image path column (default path)' })
      .option('patient-column', { type: 'string', describe: 'csv: patient id column' })
      .option('positive', { type: 'string', describe: 'folder: the positive class folder (binary)' })
      .option('uncertainty', { choices: ['ones', 'zeros', 'ignore'] as const, describe: 'chexpert: one policy for all labels (default per SPEC.md)' })
      .example('$0 data inspect --data ~/data/ChestX-ray14 --format nih', 'Counts of the NIH dataset')
      .example('$0 data inspect --data labels.csv --format csv --json', 'Your own table, as JSON') as never,
  handler: (args) => {
    const ds = loadDataset(args.format, args.data, {
      labels: args.labels,
      key: args.key,
      pathColumn: args['path-column'],
      patientColumn: args['patient-column'],
      positive: args.positive,
      uncertainty: args.uncertainty,
    });
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
