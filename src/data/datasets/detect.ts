/**
 * What a dataset path holds, from a cheap look (signature files, CSV headers, image extensions), so
 * `format: 'auto'` can pick the reader and an explicit format that does not fit can say what is there
 * instead. Published layouts are told by their files alone (no image is listed); the rest by one walk.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

import { parseCsv } from '../csv.js';
import { DataError } from '../errors.js';
import { listImages } from './common.js';
import { NIH_ENTRY_FILES } from './nih.js';

/** The readers `format: 'auto'` chooses between. */
export const DATASET_KINDS = ['nih', 'chexpert', 'mura', 'csv', 'folder', 'dicom'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Each kind in words, as what an explicit format expected. */
export const KIND_WORDS: Record<DatasetKind, string> = {
  nih: 'the NIH ChestX-ray14 layout (Data_Entry_2017.csv)',
  chexpert: 'the CheXpert layout (train.csv / valid.csv with Path and Frontal/Lateral columns)',
  mura: 'the MURA layout (train_image_paths.csv / valid_image_paths.csv)',
  csv: 'a labels CSV file with a column of image paths',
  folder: 'one sub-folder of images per class',
  dicom: 'a DICOM tree with a labels CSV',
};

export interface Found {
  /** The reader that fits, or undefined when none does. */
  kind?: DatasetKind;
  /** What is there, in words ("a DICOM tree (412 files) with labels.csv"). */
  what: string;
  /** What the reader is given when it is not the path itself (csv: the CSV file inside the folder). */
  path?: string;
  /** dicom: the labels CSV found beside the tree (when none was named). */
  labels?: string;
  /** Why no reader fits, and what to do (kind undefined). */
  advice?: string;
  /** folder: class folders that look like one folder per patient (their names become labels). */
  idLikeFolders?: string[];
}

export interface DetectOptions {
  /** A labels CSV named by the user (dicom). */
  labels?: string;
  /** The image-path column of a labels CSV (default 'path'). */
  pathColumn?: string;
}

/** The header of a CSV file from its first 64 KiB (a published table can be 100k rows). */
export function csvHeader(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const end = text.search(/\r?\n/);
    return (
      parseCsv(end < 0 ? text : text.slice(0, end), path, { header: false }).rows[0]?.cells.map((c) => c.trim()) ?? []
    );
  } finally {
    closeSync(fd);
  }
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
const headerHas = (p: string, ...cols: string[]) => isFile(p) && cols.every((c) => csvHeader(p).includes(c));

/** A published layout told by its files alone (the first that fits, or only `only`), or undefined. */
function publishedLayout(dir: string, only?: DatasetKind): Found | undefined {
  const entry = only === undefined || only === 'nih' ? NIH_ENTRY_FILES.find((f) => isFile(join(dir, f))) : undefined;
  if (entry) {
    const lists = ['train_val_list.txt', 'test_list.txt'].filter((f) => isFile(join(dir, f)));
    return { kind: 'nih', what: `the NIH ChestX-ray14 layout (${[entry, ...lists].join(', ')})` };
  }
  const chexpert =
    only === undefined || only === 'chexpert'
      ? ['train.csv', 'valid.csv'].filter((f) => headerHas(join(dir, f), 'Path', 'Frontal/Lateral'))
      : [];
  if (chexpert.length) return { kind: 'chexpert', what: `the CheXpert layout (${chexpert.join(', ')})` };
  for (const root of only === undefined || only === 'mura' ? [dir, join(dir, 'MURA-v1.1')] : []) {
    const lists = ['train_image_paths.csv', 'valid_image_paths.csv'].filter((f) => isFile(join(root, f)));
    if (lists.length)
      return {
        kind: 'mura',
        what: `the MURA layout (${lists.map((f) => (root === dir ? f : `MURA-v1.1/${f}`)).join(', ')})`,
      };
  }
  return undefined;
}

/** A CSV file given as the dataset: a labels CSV of paths, or a published table given without its folder. */
function detectCsvFile(path: string, opts: DetectOptions): Found {
  const header = csvHeader(path);
  const pathColumn = opts.pathColumn ?? 'path';
  const name = basename(path);
  if (header.includes(pathColumn))
    return { kind: 'csv', what: `a labels CSV of paths (${name}, column '${pathColumn}')` };
  const layout = publishedLayout(dirname(path));
  if (layout) return { what: `${name}, a table of ${layout.what}`, advice: `give its folder: --data ${dirname(path)}` };
  const columns =
    header
      .slice(0, 8)
      .map((c) => `'${c}'`)
      .join(', ') + (header.length > 8 ? ', ...' : '');
  return {
    what: `a CSV without a '${pathColumn}' column (columns ${columns})`,
    advice: 'name its column of image paths with --path-column',
  };
}

/** Folder names that read as patient or case ids rather than classes (case0 ... case59). */
export function idLikeNames(names: string[]): boolean {
  if (names.length < 3) return false;
  if (names.every((n) => /patient|case|subject|study|^pat|^sub-/i.test(n))) return true;
  const stems = new Set(names.map((n) => /^(.*?)[-_]?\d+$/.exec(n)?.[1] ?? '\0'));
  return names.length >= 6 && stems.size === 1 && !stems.has('\0');
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const nameRange = (names: string[]) =>
  names.length > 3 ? `${names[0]} ... ${names[names.length - 1]}` : names.join(', ');

/** One walk of a folder: its images (DICOM or not), the sub-folders holding them, the CSVs at its top. */
interface Survey {
  images: number;
  dicoms: number;
  /** Top-level sub-folders with images, by name, with their image counts. */
  classes: { name: string; images: number }[];
  csvs: string[];
  /** The labels CSV: the one named, else labels.csv or the only CSV at the top. */
  labelsCsv?: string;
  /** That CSV when it has the image-path column (a labels CSV of paths). */
  pathCsv?: string;
}

function survey(dir: string, opts: DetectOptions): Survey {
  const files = listImages(dir);
  const perClass = new Map<string, number>();
  for (const f of files) {
    const parts = relative(dir, f).split(sep);
    if (parts.length > 1) perClass.set(parts[0]!, (perClass.get(parts[0]!) ?? 0) + 1);
  }
  const csvs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.csv$/i.test(e.name))
    .map((e) => e.name)
    .sort();
  const top = csvs.length === 1 ? csvs[0] : csvs.find((f) => f.toLowerCase() === 'labels.csv');
  const labelsCsv = opts.labels ?? (top === undefined ? undefined : join(dir, top));
  return {
    images: files.length,
    dicoms: files.filter((f) => /\.(dcm|dicom)$/i.test(f)).length,
    classes: [...perClass].map(([name, images]) => ({ name, images })).sort(byName),
    csvs,
    labelsCsv,
    pathCsv: labelsCsv !== undefined && headerHas(labelsCsv, opts.pathColumn ?? 'path') ? labelsCsv : undefined,
  };
}

const idLikeOf = (sv: Survey) =>
  sv.classes.length >= 3 && idLikeNames(sv.classes.map((c) => c.name)) ? sv.classes.map((c) => c.name) : undefined;
const dicomTree = (sv: Survey, csv: string) => `a DICOM tree (${plural(sv.dicoms, 'file')}) with ${basename(csv)}`;
const classList = (sv: Survey) =>
  `class folders (images per class: ${sv.classes
    .slice(0, 6)
    .map((c) => `${c.name} ${c.images}`)
    .join(', ')}${sv.classes.length > 6 ? `, ... (${sv.classes.length} classes)` : ''})`;

/** A folder that is no published layout: CSV of paths, DICOM tree, class folders, or nothing usable. */
function detectFolder(dir: string, opts: DetectOptions): Found {
  const sv = survey(dir, opts);
  const pathColumn = opts.pathColumn ?? 'path';
  if (sv.pathCsv)
    return {
      kind: 'csv',
      path: sv.pathCsv,
      what: `a labels CSV of paths (${basename(sv.pathCsv)}, column '${pathColumn}')`,
    };
  if (sv.dicoms > 0 && sv.labelsCsv) return { kind: 'dicom', labels: sv.labelsCsv, what: dicomTree(sv, sv.labelsCsv) };
  const idLike = idLikeOf(sv);
  if (sv.classes.length >= 2 && !idLike) return { kind: 'folder', what: classList(sv) };
  const others = sv.images - sv.dicoms;
  const images =
    others > 0 && sv.dicoms > 0
      ? `${plural(sv.images, 'image')} (${sv.dicoms} DICOM)`
      : sv.dicoms > 0
        ? plural(sv.dicoms, 'DICOM file')
        : plural(others, 'image');
  const csvNote =
    sv.csvs.length > 1 && !sv.labelsCsv
      ? ` (${sv.csvs.length} CSV files at its top, none named labels.csv: name one with --labels)`
      : '';
  if (idLike) {
    return {
      what: `${images} in ${sv.classes.length} folders named like patient or case ids (${nameRange(idLike)}) and no labels CSV${csvNote}`,
      advice:
        'give the labels as a CSV (--labels labels.csv: a file column and one 0/1 column per label); or, if the folders really are classes, --format folder',
      idLikeFolders: idLike,
    };
  }
  if (sv.labelsCsv && sv.dicoms === 0 && sv.images > 0) {
    return {
      what: `${images} and ${basename(sv.labelsCsv)} without a '${pathColumn}' column`,
      advice: 'name its column of image paths with --path-column',
    };
  }
  if (sv.images === 0)
    return {
      what: `no images (PNG, JPEG or DICOM) and no dataset layout${csvNote}`,
      advice: `check --data (${KIND_WORDS.nih}, ${KIND_WORDS.folder}, ...)`,
    };
  if (sv.dicoms > 0)
    return {
      what: `a DICOM tree (${plural(sv.dicoms, 'file')}) without a labels CSV${csvNote}`,
      advice: "give --labels labels.csv (a 'file' column and one 0/1 column per label)",
    };
  return {
    what: `${images} without labels (no labels CSV and ${plural(sv.classes.length, 'class folder')})${csvNote}`,
    advice: 'put the images in one folder per class, or give a labels CSV of paths',
  };
}

/**
 * What an explicitly named format reads at `path` when its own signature is there (even where `auto`
 * would pick another kind), or undefined when it is not.
 */
export function fitFormat(kind: DatasetKind, path: string, opts: DetectOptions = {}): Found | undefined {
  if (!existsSync(path)) throw new DataError(path, 'not found (no such file or folder)');
  if (statSync(path).isFile()) {
    return kind === 'csv' && /\.csv$/i.test(path) && headerHas(path, opts.pathColumn ?? 'path')
      ? { kind, what: `a labels CSV of paths (${basename(path)})` }
      : undefined;
  }
  if (kind === 'nih' || kind === 'chexpert' || kind === 'mura') {
    const layout = publishedLayout(path, kind);
    return layout?.kind === kind ? layout : undefined;
  }
  const sv = survey(path, opts);
  if (kind === 'csv')
    return sv.pathCsv ? { kind, path: sv.pathCsv, what: `a labels CSV of paths (${basename(sv.pathCsv)})` } : undefined;
  if (kind === 'dicom')
    return sv.dicoms > 0 && sv.labelsCsv
      ? { kind, labels: sv.labelsCsv, what: dicomTree(sv, sv.labelsCsv) }
      : undefined;
  // Class folders, unless a labels CSV there says the labels are not the folder names.
  const labelled = sv.pathCsv !== undefined || (sv.dicoms > 0 && sv.labelsCsv !== undefined);
  return sv.classes.length >= 2 && !labelled ? { kind, what: classList(sv), idLikeFolders: idLikeOf(sv) } : undefined;
}

/** What `path` holds and which reader fits it (no reader: `kind` undefined, with `advice`). */
export function detectDataset(path: string, opts: DetectOptions = {}): Found {
  if (!existsSync(path)) throw new DataError(path, 'not found (no such file or folder)');
  if (statSync(path).isFile()) {
    if (/\.csv$/i.test(path)) return detectCsvFile(path, opts);
    return {
      what: 'a single file, not a dataset folder or a labels CSV',
      advice: 'give the folder of the dataset, or a labels CSV of paths',
    };
  }
  const layout = publishedLayout(path);
  if (layout) return layout;
  // A published layout one level down (the archive's own folder): point to it.
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const inner = publishedLayout(join(path, e.name));
    if (inner) return { what: `${inner.what} in ${e.name}/`, advice: `give that folder: --data ${join(path, e.name)}` };
  }
  return detectFolder(path, opts);
}
