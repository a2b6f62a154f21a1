/**
 * NIH ChestX-ray14 in its published layout: Data_Entry_2017.csv (Image Index, Finding Labels joined by
 * '|', 'No Finding' when none, Patient ID...), images in images/ or images_0NN/images/, and the
 * official train_val_list.txt / test_list.txt.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { readCsv } from '../csv.js';
import { DataError } from '../errors.js';
import type { Dataset, Sample } from '../types.js';
import { requireDir } from './common.js';

/** The 14 labels in the canonical order of the dataset's paper. */
export const NIH_LABELS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;

export interface NihOptions {
  /** Keep rows whose image file is absent (default false: they are skipped and listed). */
  keepMissing?: boolean;
}

/** The label table's names (2017, and the 2020 relabelling). */
export const NIH_ENTRY_FILES = ['Data_Entry_2017.csv', 'Data_Entry_2017_v2020.csv'];

export function loadNih(root: string, opts: NihOptions = {}): Dataset {
  requireDir(root, 'NIH ChestX-ray14 directory');
  const entry = NIH_ENTRY_FILES.map((f) => join(root, f)).find((p) => existsSync(p));
  if (!entry) throw new DataError(join(root, NIH_ENTRY_FILES[0]), 'file not found (the NIH label table)');
  const table = readCsv(entry);
  const idCol = table.column('Image Index');
  const labelCol = table.column('Finding Labels');
  const patientCol = table.column('Patient ID');
  const imageDirs = findImageDirs(root);
  const located = new Map<string, string>();
  for (const d of imageDirs) for (const f of readdirSync(d)) located.set(f, join(d, f));
  const index = new Map<string, number>(NIH_LABELS.map((l, i) => [l, i]));
  const samples: Sample[] = [];
  const skipped: Dataset['skipped'] = [];
  const seen = new Set<string>();
  for (const row of table.rows) {
    const id = row.cells[idCol].trim();
    if (!id) throw table.error(row, 'Image Index', 'empty image name');
    if (seen.has(id)) throw table.error(row, 'Image Index', `duplicate image '${id}'`);
    seen.add(id);
    const targets = new Array<number>(NIH_LABELS.length).fill(0);
    for (const name of row.cells[labelCol].split('|').map((s) => s.trim())) {
      if (name === 'No Finding') continue;
      const j = index.get(name);
      if (j === undefined)
        throw table.error(
          row,
          'Finding Labels',
          `unknown label '${name}' (expected 'No Finding' or one of ${NIH_LABELS.join(', ')})`,
        );
      targets[j] = 1;
    }
    const patientId = row.cells[patientCol].trim();
    if (!patientId) throw table.error(row, 'Patient ID', 'empty patient id');
    const path = located.get(id);
    if (!path && !opts.keepMissing) {
      skipped.push({ path: join(imageDirs[0] ?? join(root, 'images'), id), reason: 'file not found' });
      continue;
    }
    samples.push({ id, path: path ?? join(root, 'images', id), patientId, targets });
  }
  const trainVal = readList(join(root, 'train_val_list.txt'));
  const test = readList(join(root, 'test_list.txt'));
  return {
    name: 'nih',
    root: resolve(root),
    labels: [...NIH_LABELS],
    samples,
    officialSplits: trainVal || test ? { trainVal, test } : undefined,
    skipped,
  };
}

/** images/ and images_001/images/ ... as published (the archive unpacks either way). */
function findImageDirs(root: string): string[] {
  const dirs: string[] = [];
  if (existsSync(join(root, 'images'))) dirs.push(join(root, 'images'));
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || !/^images_\d+$/.test(e.name)) continue;
    const inner = join(root, e.name, 'images');
    dirs.push(existsSync(inner) ? inner : join(root, e.name));
  }
  return dirs.sort();
}

function readList(path: string): Set<string> | undefined {
  if (!existsSync(path)) return undefined;
  return new Set(
    readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean),
  );
}
