/**
 * CheXpert in its published layout: <root>/train.csv and valid.csv whose `Path` column is relative to
 * the root's parent (e.g. CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg). Frontal
 * views only; the 5 competition labels; uncertain (-1) mapped per label by a policy; blank = 0.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { OptionError } from '../../errors.js';
import { readCsv } from '../csv.js';
import { DataError } from '../errors.js';
import type { Dataset, Sample } from '../types.js';
import { dropMissing, requireDir } from './common.js';

export const CHEXPERT_LABELS = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;

/** ones: uncertain -> 1; zeros: -> 0; ignore: -> NaN (masked from loss and AUC). */
export type UncertaintyPolicy = 'ones' | 'zeros' | 'ignore';

/** docs/protocol.md defaults (U-Ones for Atelectasis and Edema, U-Zeros for the others). */
export const CHEXPERT_DEFAULT_POLICY: Record<string, UncertaintyPolicy> = {
  Atelectasis: 'ones',
  Cardiomegaly: 'zeros',
  Consolidation: 'zeros',
  Edema: 'ones',
  'Pleural Effusion': 'zeros',
};

export interface ChexpertOptions {
  /** One policy for every label, or per label (labels not named keep the default). */
  uncertainty?: UncertaintyPolicy | Partial<Record<string, UncertaintyPolicy>>;
  keepMissing?: boolean;
}

const POLICIES = ['ones', 'zeros', 'ignore'] as const;

export function resolvePolicy(u: ChexpertOptions['uncertainty']): Record<string, UncertaintyPolicy> {
  if (u === undefined) return { ...CHEXPERT_DEFAULT_POLICY };
  if (typeof u === 'string') {
    if (!POLICIES.includes(u)) throw new OptionError('uncertainty', "'ones', 'zeros' or 'ignore'", u);
    return Object.fromEntries(CHEXPERT_LABELS.map((l) => [l, u]));
  }
  const out = { ...CHEXPERT_DEFAULT_POLICY };
  for (const [label, p] of Object.entries(u ?? {})) {
    if (!(CHEXPERT_LABELS as readonly string[]).includes(label))
      throw new OptionError('uncertainty', `a label of ${CHEXPERT_LABELS.join(', ')}`, label);
    if (!POLICIES.includes(p as UncertaintyPolicy))
      throw new OptionError(`uncertainty.${label}`, "'ones', 'zeros' or 'ignore'", p);
    out[label] = p as UncertaintyPolicy;
  }
  return out;
}

export function loadChexpert(root: string, opts: ChexpertOptions = {}): Dataset {
  requireDir(root, 'CheXpert directory');
  const policy = resolvePolicy(opts.uncertainty);
  const base = dirname(root);
  const samples: Sample[] = [];
  const skipped: Dataset['skipped'] = [];
  const official: { trainVal: Set<string>; test: Set<string> } = { trainVal: new Set(), test: new Set() };
  let found = 0;
  for (const [file, split] of [
    ['train.csv', official.trainVal],
    ['valid.csv', official.test],
  ] as const) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    found++;
    const table = readCsv(path);
    const pathCol = table.column('Path');
    const viewCol = table.column('Frontal/Lateral');
    const cols = CHEXPERT_LABELS.map((l) => table.column(l));
    for (const row of table.rows) {
      if (row.cells[viewCol].trim() !== 'Frontal') continue;
      const rel = row.cells[pathCol].trim();
      const patient = /(patient\d+)/.exec(rel);
      if (!patient) throw table.error(row, 'Path', `no patientNNNNN in '${rel}'`);
      const targets = CHEXPERT_LABELS.map((label, j) => {
        const cell = row.cells[cols[j]].trim();
        if (cell === '') return 0;
        const v = Number(cell);
        if (v === 1 || v === 0) return v;
        if (v === -1) return policy[label] === 'ones' ? 1 : policy[label] === 'zeros' ? 0 : NaN;
        throw table.error(row, label, `expected 1, 0, -1 or blank but found '${cell}'`);
      });
      samples.push({ id: rel, path: join(base, rel), patientId: patient[1], targets });
      split.add(rel);
    }
  }
  if (found === 0)
    throw new DataError(
      join(root, 'train.csv'),
      `file not found (nor valid.csv; is ${basename(root)} the CheXpert directory?)`,
    );
  return {
    name: 'chexpert',
    root: resolve(root),
    labels: [...CHEXPERT_LABELS],
    samples: opts.keepMissing ? samples : dropMissing(samples, skipped),
    officialSplits: official,
    skipped,
  };
}
