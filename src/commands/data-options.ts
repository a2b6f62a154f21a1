/** A dataset from the parsed dataset options (the same flags in every command: see options.ts). */
import { loadDataset, type DatasetFormat } from '../data/datasets/index.js';
import { defaultCacheDir } from '../data/phantom/index.js';
import type { Dataset } from '../data/types.js';
import { OptionError } from '../errors.js';
import type { DATASET_KEYS, TrainConfig } from '../train/config.js';

/** The dataset flags as train parses them (one list of fields: TrainConfig's), plus the root and layout. */
export type DatasetArgs = Pick<TrainConfig, (typeof DATASET_KEYS)[number] | 'cacheDir'> & { data: string; format?: DatasetFormat };

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
