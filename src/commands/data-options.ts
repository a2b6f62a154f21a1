/** A dataset from the parsed dataset options (the same flags in every command: see options.ts). */
import { loadDataset, type DatasetFormat } from '../data/datasets/index.js';
import { defaultCacheDir } from '../data/phantom/index.js';
import type { Dataset } from '../data/types.js';
import { TRAIN_DEFAULTS, type DATASET_KEYS, type TrainConfig } from '../train/config.js';

/** The dataset flags as train parses them (one list of fields: TrainConfig's), plus the root and layout. */
export type DatasetArgs = Pick<TrainConfig, (typeof DATASET_KEYS)[number] | 'cacheDir'> & {
  data: string;
  format?: DatasetFormat;
};

/** The dataset the flags name; the recognised layout and the reader's warnings go to `log` (stderr). */
export function loadFromArgs(args: DatasetArgs, log: (line: string) => void = (line) => console.error(line)): Dataset {
  const ds = loadDataset(args.format ?? TRAIN_DEFAULTS.format, args.data, {
    labels: args.labels,
    labelColumns: args.labelColumns,
    key: args.key,
    pathColumn: args.pathColumn,
    patientColumn: args.patientColumn,
    positive: args.positive,
    uncertainty: args.uncertainty,
  });
  if (ds.recognised) log(ds.recognised.message);
  for (const w of ds.warnings ?? []) log(`warning: ${w}`);
  return ds;
}

/** torchxfer's cache root (--cache-dir), and the folders in it. */
export function cacheRoot(args: { cacheDir?: string }): string {
  return args.cacheDir ?? defaultCacheDir();
}
