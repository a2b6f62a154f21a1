/** Dataset readers by format name (the CLI's --format); 'auto' recognises the layout from what is there. */
import { OptionError } from '../../errors.js';
import type { Dataset } from '../types.js';
import { loadChexpert, type ChexpertOptions } from './chexpert.js';
import { requireSamples } from './common.js';
import { DATASET_KINDS, detectDataset, fitFormat, KIND_WORDS, type DatasetKind, type Found } from './detect.js';
import { loadDicomTree } from './dicom-tree.js';
import { loadFolder, type FolderOptions } from './folder.js';
import { loadMura } from './mura.js';
import { loadNih } from './nih.js';
import { loadUserCsv, type UserCsvOptions } from './user-csv.js';

export const DATASET_FORMATS = ['auto', ...DATASET_KINDS] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface LoadOptions extends UserCsvOptions, FolderOptions {
  uncertainty?: ChexpertOptions['uncertainty'];
  /** dicom: the label CSV (default: labels.csv, or the only CSV, at the tree's top); key: 'file' or a DICOM keyword. */
  labels?: string;
  key?: string;
  keyColumn?: string;
  /** nih, chexpert, mura: keep rows whose image file is absent (planning from the published lists alone). */
  keepMissing?: boolean;
}

/** Where each kind's patients come from when it takes no patient column. */
const PATIENTS_FROM: Partial<Record<DatasetKind, string>> = {
  nih: "the table's Patient ID column",
  chexpert: 'the patientNNNNN of each path',
  mura: 'the patientNNNNN of each path',
  folder: 'each image (one patient per image)',
};

function readKind(kind: DatasetKind, path: string, opts: LoadOptions, found?: Found): Dataset {
  switch (kind) {
    case 'nih':
      return loadNih(path, { keepMissing: opts.keepMissing });
    case 'chexpert':
      return loadChexpert(path, { uncertainty: opts.uncertainty, keepMissing: opts.keepMissing });
    case 'mura':
      return loadMura(path, { keepMissing: opts.keepMissing });
    case 'csv':
      return loadUserCsv(found?.path ?? path, opts);
    case 'folder':
      return loadFolder(path, opts);
    case 'dicom': {
      const labels = opts.labels ?? found?.labels;
      if (!labels)
        throw new OptionError('labels', 'a label CSV for the dicom format (none at the top of the tree)', opts.labels);
      return loadDicomTree(path, {
        labels,
        key: opts.key,
        keyColumn: opts.keyColumn,
        labelColumns: opts.labelColumns,
        patientColumn: opts.patientColumn,
      });
    }
  }
}

/** The error for an explicit format that does not fit what `path` holds. */
function mismatch(format: DatasetKind, path: string, found: Found): OptionError {
  const instead = found.kind && found.kind !== format ? `'${found.kind}' or 'auto'` : 'a format that fits';
  const advice = found.advice ? `; ${found.advice}` : '';
  return new OptionError(
    'format',
    `${instead} (${path} holds ${found.what}, not ${KIND_WORDS[format]}${advice})`,
    format,
  );
}

/**
 * Loads `path` (a directory; for csv the CSV file, or a folder holding it) in the given layout, or in
 * the one recognised there ('auto': the dataset's `recognised` says which). An explicit format that
 * does not fit what is there, and a dataset without one usable image, are errors saying what was found.
 */
export function loadDataset(format: DatasetFormat, path: string, opts: LoadOptions = {}): Dataset {
  if (!(DATASET_FORMATS as readonly string[]).includes(format))
    throw new OptionError('format', DATASET_FORMATS.map((f) => `'${f}'`).join(', '), format);
  const look = { labels: opts.labels, pathColumn: opts.pathColumn };
  // A format named is read where its own files are there (even where auto would pick another kind).
  const found = format === 'auto' ? detectDataset(path, look) : fitFormat(format, path, look);
  if (!found) throw mismatch(format as DatasetKind, path, detectDataset(path, look));
  if (!found.kind)
    throw new OptionError(
      'format',
      `a dataset layout it can recognise (${path} holds ${found.what}${found.advice ? `: ${found.advice}` : ''})`,
      'auto',
    );
  const kind = found.kind;
  if (opts.patientColumn !== undefined && PATIENTS_FROM[kind]) {
    throw new OptionError(
      'patientColumn',
      `no value for ${kind} data (its patients come from ${PATIENTS_FROM[kind]})`,
      opts.patientColumn,
    );
  }
  const ds = readKind(kind, path, opts, found);
  if (!opts.keepMissing) requireSamples(ds);
  const warnings = [...(ds.warnings ?? [])];
  if (kind === 'folder' && found.idLikeFolders) {
    warnings.push(
      `the ${found.idLikeFolders.length} class folders are named like patient or case ids (${found.idLikeFolders.slice(0, 3).join(', ')} ...): each became a label; if they are patients, give the labels as a CSV instead`,
    );
  }
  const patients = new Set(ds.samples.map((s) => s.patientId)).size;
  const message = `Data: recognised ${found.what}: ${ds.samples.length} image(s) of ${patients} patient(s)`;
  return { ...ds, warnings, recognised: format === 'auto' ? { format: kind, message } : undefined };
}

export { detectDataset, fitFormat, DATASET_KINDS, type DatasetKind, type Found };
export { loadChexpert, loadDicomTree, loadFolder, loadMura, loadNih, loadUserCsv };
