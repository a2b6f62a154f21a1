/**
 * `torchxfer radiomics --train features.json --labels labels.csv`: the radiomics baseline (standardised
 * features, logistic L1/L2/elastic-net and random forest, random search by stratified k-fold CV AUC).
 * features.json is the output of `torchxfer features --json`; labels.csv has a `file` column (matched to
 * the features' file, or its base name) and one 0/1 column per label.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import type { CommandModule } from 'yargs';

import { readCsv } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { trainRadiomicsBaseline } from '../radiomics/baseline.js';
import { radiomicFeatureNames } from '../radiomics/features.js';
import type { Matrix } from '../radiomics/standardize.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface RadiomicsArgs {
  train: string;
  labels: string;
  val?: string;
  labelColumns?: string[];
  seed: number;
  searchIters: number;
  folds: number;
  json: boolean;
}

/** Label rows by file (and by base name), with the label column names. */
export function readLabels(path: string, columns?: string[]): { names: string[]; byFile: Map<string, number[]> } {
  const table = readCsv(path);
  const fileCol = table.column('file');
  const names = columns ?? table.header.filter((_, i) => i !== fileCol);
  if (names.length === 0) throw new DataError(path, 'no label columns besides `file`');
  const idx = names.map((n) => table.column(n));
  const byFile = new Map<string, number[]>();
  for (const row of table.rows) {
    const labels = idx.map((i, k) => {
      const v = (row.cells[i] ?? '').trim();
      if (v !== '0' && v !== '1') throw table.error(row, names[k]!, `expected a label 0 or 1 but found '${v}'`);
      return Number(v);
    });
    const file = row.cells[fileCol]!;
    byFile.set(file, labels);
    if (!byFile.has(basename(file))) byFile.set(basename(file), labels);
  }
  return { names, byFile };
}

/**
 * Feature rows of a `features --json` file joined to their labels; rows without features or labels are reported skips.
 */
export function readFeatureRows(
  path: string,
  labels: Map<string, number[]>,
  skipped: string[],
): { X: Matrix; Y: number[][]; files: string[] } {
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataError(path, `cannot read the features JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(entries))
    throw new DataError(path, 'expected an array of {file, features} (the output of `torchxfer features --json`)');
  const names = radiomicFeatureNames();
  const X: Matrix = [];
  const Y: number[][] = [];
  const files: string[] = [];
  entries.forEach((e: { file?: unknown; features?: Record<string, unknown>; error?: unknown }, k) => {
    const file = typeof e?.file === 'string' ? e.file : `entry ${k}`;
    if (e?.error !== undefined || !e?.features)
      return void skipped.push(`${path}: ${file}: no features (${String(e?.error ?? 'missing')})`);
    const row = names.map((n) => e.features![n]);
    if (!row.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new DataError(path, `${file}: features must hold the 79 finite radiomic features`);
    const y = labels.get(file) ?? labels.get(basename(file));
    if (!y) return void skipped.push(`${path}: ${file}: no row in the labels file`);
    X.push(row as number[]);
    Y.push(y);
    files.push(file);
  });
  return { X, Y, files };
}

const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? 'missing' : v.toFixed(4));

const RADIOMICS_OPTIONS: OptionList = [
  ['train', { required: true }],
  ['labels', { required: true }],
  'val',
  'label-columns',
  ['seed', { note: 'radiomics: folds, search and forests' }],
  ['search-iters', { default: true }],
  ['folds', { default: true }],
  ['json', { default: true }],
];

export const radiomicsCommand: CommandModule = {
  command: 'radiomics',
  describe:
    'Radiomics baseline: logistic regression (L1/L2/elastic-net) and random forest on radiomic features, tuned by CV AUC',
  builder: (y) =>
    addOptions(y, RADIOMICS_OPTIONS).example(
      '$0 features train/*.png --json --out train.json && $0 radiomics --train train.json --labels labels.csv',
      'Tune and report the baseline',
    ) as never,
  handler: (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, RADIOMICS_OPTIONS) as unknown as RadiomicsArgs;
    const { searchIters, folds } = args;
    const seed = args.seed ?? 0;
    const columns = args.labelColumns;
    const { names, byFile } = readLabels(args.labels, columns);
    const skipped: string[] = [];
    const train = readFeatureRows(args.train, byFile, skipped);
    if (train.X.length === 0) throw new DataError(args.train, 'no image has both features and labels');
    const val = args.val ? readFeatureRows(args.val, byFile, skipped) : undefined;
    for (const s of skipped) console.error(`torchxfer radiomics: skipped ${s}`);
    const r = trainRadiomicsBaseline({
      trainX: train.X,
      trainY: train.Y,
      ...(val && val.X.length ? { valX: val.X, valY: val.Y } : {}),
      seed,
      searchIters,
      folds,
    });
    const perLabel = names.map((label, l) => ({
      label,
      params: r.params[l],
      cvAuc: r.model[l]!.cvAuc,
      valAuc: r.model[l]!.valAuc,
    }));
    if (args.json) {
      const clean = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? null : v);
      const out = {
        train: train.X.length,
        val: val?.X.length ?? 0,
        cvAuc: clean(r.cvAuc),
        valAuc: clean(r.valAuc),
        labels: perLabel.map((p) => ({ ...p, cvAuc: clean(p.cvAuc), valAuc: clean(p.valAuc) })),
      };
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    console.log(
      `radiomics baseline: ${train.X.length} training images${val ? `, ${val.X.length} validation` : ''}, ${folds}-fold CV, ${searchIters} draws, seed ${seed}`,
    );
    for (const p of perLabel)
      console.log(
        `  ${p.label}: CV AUC ${fmt(p.cvAuc)}${val ? `  val AUC ${fmt(p.valAuc)}` : ''}  ${p.params ? JSON.stringify(p.params) : '(one class only: no model)'}`,
      );
    console.log(`mean CV AUC ${fmt(r.cvAuc)}${val ? `  mean val AUC ${fmt(r.valAuc)}` : ''}`);
  },
};
