/**
 * The user's own table: a CSV with a path column (relative to the CSV's directory, or absolute) and
 * one or more 0/1 label columns (blank = unknown, NaN). Optional patient and split columns.
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import { readCsv } from '../csv.js';
import type { Dataset, Sample } from '../types.js';
import { dropMissing, rejectPatientLabel } from './common.js';

export interface UserCsvOptions {
  /** Image path column (default 'path'). */
  pathColumn?: string;
  /** Label columns (default: every column except path, patient and split). */
  labelColumns?: string[];
  /** Patient id column (default 'patient' when present; else each image is its own patient). */
  patientColumn?: string;
  /** Optional column with 'train'/'trainval'/'test' giving an official split. */
  splitColumn?: string;
  keepMissing?: boolean;
}

const TRUE = new Set(['1', '1.0', 'true', 'yes', 'positive']);
const FALSE = new Set(['0', '0.0', 'false', 'no', 'negative']);

export function loadUserCsv(csvPath: string, opts: UserCsvOptions = {}): Dataset {
  const table = readCsv(csvPath);
  const pathName = opts.pathColumn ?? 'path';
  const pathCol = table.column(pathName);
  const patientName = opts.patientColumn ?? (table.hasColumn('patient') ? 'patient' : undefined);
  const patientCol = patientName === undefined ? -1 : table.column(patientName);
  const splitName = opts.splitColumn ?? (table.hasColumn('split') ? 'split' : undefined);
  const splitCol = splitName === undefined ? -1 : table.column(splitName);
  const reserved = new Set([pathName, patientName, splitName]);
  const labels = opts.labelColumns ?? table.header.filter((h) => !reserved.has(h));
  rejectPatientLabel(labels, patientName);
  if (labels.length === 0)
    throw table.error(
      { line: 1, cells: [] },
      pathName,
      'no label columns (add one or more 0/1 columns, or name them with labelColumns)',
    );
  const labelCols = labels.map((l) => table.column(l));
  const base = dirname(resolve(csvPath));
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const official = { trainVal: new Set<string>(), test: new Set<string>() };
  for (const row of table.rows) {
    const rel = row.cells[pathCol].trim();
    if (!rel) throw table.error(row, pathName, 'empty path');
    if (seen.has(rel)) throw table.error(row, pathName, `duplicate path '${rel}'`);
    seen.add(rel);
    const targets = labels.map((label, j) => {
      const cell = row.cells[labelCols[j]].trim().toLowerCase();
      if (cell === '') return NaN;
      if (TRUE.has(cell)) return 1;
      if (FALSE.has(cell)) return 0;
      throw table.error(row, label, `expected 0 or 1 (or blank for unknown) but found '${row.cells[labelCols[j]]}'`);
    });
    const patientId = patientCol >= 0 ? row.cells[patientCol].trim() : rel;
    if (!patientId) throw table.error(row, patientName!, 'empty patient id');
    if (splitCol >= 0) {
      const s = row.cells[splitCol].trim().toLowerCase();
      if (s === 'test') official.test.add(rel);
      else if (s === 'train' || s === 'trainval' || s === 'val' || s === '') official.trainVal.add(rel);
      else
        throw table.error(row, splitName!, `expected train, val, trainval or test but found '${row.cells[splitCol]}'`);
    }
    samples.push({ id: rel, path: isAbsolute(rel) ? rel : resolve(base, rel), patientId, targets });
  }
  const skipped: Dataset['skipped'] = [];
  return {
    name: `csv:${resolve(csvPath)}`,
    root: resolve(csvPath),
    labels,
    samples: opts.keepMissing ? samples : dropMissing(samples, skipped),
    officialSplits: splitCol >= 0 ? official : undefined,
    skipped,
  };
}
