/**
 * A DICOM tree: every .dcm/.dicom file under a root, labels from a CSV keyed by the file (path relative
 * to the root, or its bare name) or by a DICOM tag (e.g. SOPInstanceUID, AccessionNumber). The patient
 * is the CSV's patient column when it has one (`patientColumn`, default 'patient' when present), else the
 * file's PatientID tag. Files absent from the label table are skipped and listed.
 */
import { basename, resolve } from 'node:path';

import { readCsv } from '../csv.js';
import { dicomHeaderValues } from '../dicom-header.js';
import { checkDicomLengths } from '../dicom-lengths.js';
import { readRegularFileSync } from '../regular-file.js';
import type { Dataset, Sample } from '../types.js';
import { listImages, rejectPatientLabel, relativeId, requireDir } from './common.js';

export interface DicomTreeOptions {
  /** CSV of labels: a key column and 0/1 label columns (blank = unknown). */
  labels: string;
  /** 'file' (default) or a DICOM keyword whose value keys the CSV rows. */
  key?: string;
  /** The CSV's key column (default 'file' for key 'file', else the keyword itself). */
  keyColumn?: string;
  /** Label columns (default every column but the key and patient columns). */
  labelColumns?: string[];
  /** The CSV's patient id column (default 'patient' when present; else the PatientID tag). */
  patientColumn?: string;
}

/** The DICOM header's top-level attributes by keyword, from the guard's walk of the whole file. */
export function readDicomHeader(path: string): Record<string, unknown> {
  return dicomHeaderValues(checkDicomLengths(path, readRegularFileSync(path)));
}

export function loadDicomTree(root: string, opts: DicomTreeOptions): Dataset {
  requireDir(root, 'DICOM directory');
  const key = opts.key ?? 'file';
  const table = readCsv(opts.labels);
  const keyName = opts.keyColumn ?? key;
  const keyCol = table.column(keyName);
  const patientName = opts.patientColumn ?? (table.hasColumn('patient') ? 'patient' : undefined);
  const patientCol = patientName === undefined ? -1 : table.column(patientName);
  const labels = opts.labelColumns ?? table.header.filter((h) => h !== keyName && h !== patientName);
  rejectPatientLabel(labels, patientName);
  const cols = labels.map((l) => table.column(l));
  const targetsOf = new Map<string, number[]>();
  const patientOf = new Map<string, string>();
  for (const row of table.rows) {
    const k = row.cells[keyCol].trim();
    if (targetsOf.has(k)) throw table.error(row, keyName, `duplicate key '${k}'`);
    if (patientCol >= 0) {
      const patient = row.cells[patientCol].trim();
      if (!patient) throw table.error(row, patientName!, 'empty patient id');
      patientOf.set(k, patient);
    }
    targetsOf.set(
      k,
      labels.map((label, j) => {
        const c = row.cells[cols[j]].trim();
        if (c === '') return NaN;
        if (c === '1' || c === '1.0') return 1;
        if (c === '0' || c === '0.0') return 0;
        throw table.error(row, label, `expected 0 or 1 (or blank) but found '${c}'`);
      }),
    );
  }
  const samples: Sample[] = [];
  const skipped: Dataset['skipped'] = [];
  for (const path of listImages(root, ['.dcm', '.dicom'])) {
    const id = relativeId(root, path);
    let header: Record<string, unknown>;
    try {
      header = readDicomHeader(path);
    } catch (err) {
      const message = (err as Error).message;
      skipped.push({
        path,
        reason: `unreadable DICOM (${message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message})`,
      });
      continue;
    }
    const k = key === 'file' ? (targetsOf.has(id) ? id : basename(path)) : String(header[key] ?? '').trim();
    const targets = targetsOf.get(k);
    if (!targets) {
      skipped.push({ path, reason: key === 'file' ? `not in ${opts.labels}` : `${key} '${k}' not in ${opts.labels}` });
      continue;
    }
    const patientId = patientOf.get(k) ?? (String(header.PatientID ?? '').trim() || id);
    samples.push({ id, path, patientId, targets });
  }
  return { name: `dicom:${root}`, root: resolve(root), labels, samples, skipped };
}
