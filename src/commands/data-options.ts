/** Dataset options shared by the `data` commands (inspect, cache). */
import type { Argv } from 'yargs';

import type { UncertaintyPolicy } from '../data/datasets/chexpert.js';
import { DATASET_FORMATS, loadDataset, type DatasetFormat } from '../data/datasets/index.js';
import type { Dataset } from '../data/types.js';

export interface DatasetArgs {
  data: string;
  format: DatasetFormat;
  labels?: string;
  key?: string;
  'path-column'?: string;
  'patient-column'?: string;
  positive?: string;
  uncertainty?: UncertaintyPolicy;
}

export function datasetOptions<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: 'Dataset directory (for csv: the CSV file)' })
    .option('format', { choices: DATASET_FORMATS, demandOption: true, describe: 'On-disk layout' })
    .option('labels', { type: 'string', describe: 'dicom: CSV of labels' })
    .option('key', { type: 'string', describe: "dicom: 'file' or a DICOM keyword keying the label CSV" })
    .option('path-column', { type: 'string', describe: 'csv: image path column (default path)' })
    .option('patient-column', { type: 'string', describe: 'csv: patient id column' })
    .option('positive', { type: 'string', describe: 'folder: the positive class folder (binary)' })
    .option('uncertainty', { choices: ['ones', 'zeros', 'ignore'] as const, describe: 'chexpert: one policy for all labels (default per SPEC.md)' });
}

export function loadFromArgs(args: DatasetArgs): Dataset {
  return loadDataset(args.format, args.data, {
    labels: args.labels,
    key: args.key,
    pathColumn: args['path-column'],
    patientColumn: args['patient-column'],
    positive: args.positive,
    uncertainty: args.uncertainty,
  });
}
