/** Dataset readers by format name (the CLI's --format). */
import { OptionError } from '../../errors.js';
import type { Dataset } from '../types.js';
import { loadChexpert, type ChexpertOptions } from './chexpert.js';
import { loadDicomTree } from './dicom-tree.js';
import { loadFolder, type FolderOptions } from './folder.js';
import { loadMura } from './mura.js';
import { loadNih } from './nih.js';
import { loadUserCsv, type UserCsvOptions } from './user-csv.js';

export const DATASET_FORMATS = ['nih', 'chexpert', 'mura', 'csv', 'folder', 'dicom'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface LoadOptions extends UserCsvOptions, FolderOptions {
  uncertainty?: ChexpertOptions['uncertainty'];
  /** dicom: the label CSV; key: 'file' or a DICOM keyword. */
  labels?: string;
  key?: string;
  keyColumn?: string;
  /** nih, chexpert, mura: keep rows whose image file is absent (planning from the published lists alone). */
  keepMissing?: boolean;
}

/** Loads `path` (a directory; for csv the CSV file) in the given published layout. */
export function loadDataset(format: DatasetFormat, path: string, opts: LoadOptions = {}): Dataset {
  switch (format) {
    case 'nih':
      return loadNih(path, { keepMissing: opts.keepMissing });
    case 'chexpert':
      return loadChexpert(path, { uncertainty: opts.uncertainty, keepMissing: opts.keepMissing });
    case 'mura':
      return loadMura(path, { keepMissing: opts.keepMissing });
    case 'csv':
      return loadUserCsv(path, opts);
    case 'folder':
      return loadFolder(path, opts);
    case 'dicom':
      if (!opts.labels) throw new OptionError('labels', 'a label CSV path for the dicom format', opts.labels);
      return loadDicomTree(path, { labels: opts.labels, key: opts.key, keyColumn: opts.keyColumn, labelColumns: opts.labelColumns });
    default:
      throw new OptionError('format', DATASET_FORMATS.map((f) => `'${f}'`).join(', '), format);
  }
}

export { loadChexpert, loadDicomTree, loadFolder, loadMura, loadNih, loadUserCsv };
