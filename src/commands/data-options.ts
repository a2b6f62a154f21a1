/** A dataset from the parsed dataset options (the same flags in every command: see options.ts). */
import type { UncertaintyPolicy } from '../data/datasets/chexpert.js';
import { loadDataset, type DatasetFormat } from '../data/datasets/index.js';
import { defaultCacheDir } from '../data/phantom/index.js';
import type { Dataset } from '../data/types.js';
import { OptionError } from '../errors.js';

export interface DatasetArgs {
  data: string;
  format?: DatasetFormat;
  labels?: string;
  labelColumns?: string[];
  key?: string;
  pathColumn?: string;
  patientColumn?: string;
  positive?: string;
  uncertainty?: UncertaintyPolicy;
  cacheDir?: string;
}

export function loadFromArgs(args: DatasetArgs): Dataset {
  if (!args.format) throw new OptionError('--format', 'the dataset layout (nih, chexpert, mura, csv, folder or dicom)', undefined);
  if (args.format === 'dicom' && !args.labels) throw new OptionError('--labels', 'a label CSV for --format dicom', undefined);
  return loadDataset(args.format, args.data, {
    labels: args.labels,
    labelColumns: args.labelColumns,
    key: args.key,
    pathColumn: args.pathColumn,
    patientColumn: args.patientColumn,
    positive: args.positive,
    uncertainty: args.uncertainty,
  });
}

/** torchxfer's cache root (--cache-dir), and the folders in it. */
export function cacheRoot(args: { cacheDir?: string }): string {
  return args.cacheDir ?? defaultCacheDir();
}
