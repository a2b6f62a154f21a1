/**
 * MURA in its published layout: MURA-v1.1/{train,valid}_image_paths.csv (one path per line, no header)
 * and {train,valid}_labeled_studies.csv (study directory, label 0/1). Paths are relative to the
 * parent of MURA-v1.1; each image takes its study's label; the patient comes from the path.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { readCsv } from '../csv.js';
import { DataError } from '../errors.js';
import type { Dataset, Sample } from '../types.js';
import { dropMissing, requireDir } from './common.js';

export interface MuraOptions {
  keepMissing?: boolean;
}

/** `dir` is MURA-v1.1 or the directory holding it. */
export function loadMura(dir: string, opts: MuraOptions = {}): Dataset {
  requireDir(dir, 'MURA directory');
  const root =
    existsSync(join(dir, 'train_image_paths.csv')) || existsSync(join(dir, 'valid_image_paths.csv'))
      ? dir
      : join(dir, 'MURA-v1.1');
  const base = dirname(root);
  const samples: Sample[] = [];
  const skipped: Dataset['skipped'] = [];
  const official = { trainVal: new Set<string>(), test: new Set<string>() };
  let found = 0;
  for (const [split, set] of [
    ['train', official.trainVal],
    ['valid', official.test],
  ] as const) {
    const pathsFile = join(root, `${split}_image_paths.csv`);
    if (!existsSync(pathsFile)) continue;
    found++;
    const studiesFile = join(root, `${split}_labeled_studies.csv`);
    const studies = readCsv(studiesFile, { header: false });
    const labelOf = new Map<string, number>();
    for (const row of studies.rows) {
      if (row.cells.length < 2) throw studies.error(row, 2, 'expected a study path and a label');
      const v = row.cells[1].trim();
      if (v !== '0' && v !== '1') throw studies.error(row, 2, `expected label 0 or 1 but found '${v}'`);
      labelOf.set(normStudy(row.cells[0]), Number(v));
    }
    const paths = readCsv(pathsFile, { header: false });
    for (const row of paths.rows) {
      const rel = row.cells[0].trim();
      const label = labelOf.get(normStudy(dirname(rel)));
      if (label === undefined) {
        skipped.push({ path: join(base, rel), reason: `its study is not in ${studiesFile}` });
        continue;
      }
      const patient = /(patient\d+)/.exec(rel);
      if (!patient) throw paths.error(row, 1, `no patientNNNNN in '${rel}'`);
      samples.push({ id: rel, path: join(base, rel), patientId: patient[1], targets: [label] });
      set.add(rel);
    }
  }
  if (found === 0)
    throw new DataError(join(root, 'train_image_paths.csv'), 'file not found (nor valid_image_paths.csv)');
  return {
    name: 'mura',
    root: resolve(root),
    labels: ['Abnormal'],
    samples: opts.keepMissing ? samples : dropMissing(samples, skipped),
    officialSplits: official,
    skipped,
  };
}

function normStudy(p: string): string {
  return p.trim().replace(/\\/g, '/').replace(/\/+$/, '');
}
