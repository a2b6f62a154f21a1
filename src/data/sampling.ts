/**
 * Splits and subsets of docs/protocol.md "Data", all deterministic by seed:
 * - patient splits: official test list + ~10% of train_val patients for validation, or a seeded
 *   random 70/10/20 by patient; no patient is ever in two splits;
 * - binary experiments: balanced validation and test (all positives plus as many negatives), sampled
 *   once per experiment; training subsets of N balanced 50/50, every unique positive (and negative)
 *   used once before any is repeated (only the shortfall is drawn with replacement);
 * - multi-label experiments: training subsets are the first N of one seeded shuffle (nested prefixes);
 * - ChestX-ray13: Emphysema-negative images with the 13 other labels, disjoint from every image the
 *   Emphysema experiment uses at any N.
 */
import { OptionError } from '../errors.js';
import { expectInteger, expectNumber } from '../validate.js';
import { DataError } from './errors.js';
import { deriveSeed, mulberry32, sampleWith, sampleWithout, shuffled } from '../random.js';
import type { Dataset, Sample, Splits } from './types.js';

export interface PatientSplitOptions {
  /** 'official' (the dataset's test list; default when it has one) or 'random'. */
  mode?: 'official' | 'random';
  seed?: number;
  /** official: share of train_val patients held out for validation (default 0.1). */
  valFraction?: number;
  /** random: train/val/test shares of patients (default [0.7, 0.1, 0.2]). */
  fractions?: [number, number, number];
}

/** Sample pools of one patient split (before any balancing or subsetting). */
export interface PatientSplit {
  train: Sample[];
  val: Sample[];
  test: Sample[];
}

/**
 * The dataset's kind without where it sits ("csv:/data/x.csv" -> "csv"): a split depends on the data and
 * the seed, never on the folder a copy of the data is in (a moved dataset, a test's temporary folder).
 */
function seedName(ds: Dataset): string {
  return ds.name.replace(/:[^]*$/, '');
}

export function splitByPatient(ds: Dataset, opts: PatientSplitOptions = {}): PatientSplit {
  const seed = expectInteger(opts.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
  const mode = opts.mode ?? (ds.officialSplits?.test ? 'official' : 'random');
  if (mode !== 'official' && mode !== 'random') throw new OptionError('mode', "'official' or 'random'", mode);
  const rand = mulberry32(deriveSeed('patient-split', seedName(ds), seed));
  if (mode === 'official') {
    const test = ds.officialSplits?.test;
    if (!test) throw new OptionError('mode', `'random' (dataset ${ds.name} has no official test list)`, mode);
    const valFraction = expectNumber(opts.valFraction ?? 0.1, 'valFraction', 0, 1, { exclusiveMin: true });
    const trainVal = ds.officialSplits?.trainVal;
    const testPool = ds.samples.filter((s) => test.has(s.id));
    const rest = ds.samples.filter((s) => !test.has(s.id) && (!trainVal || trainVal.has(s.id)));
    const testPatients = new Set(testPool.map((s) => s.patientId));
    const crossing = rest.find((s) => testPatients.has(s.patientId));
    if (crossing)
      throw new DataError(
        ds.name,
        `the official split puts patient '${crossing.patientId}' in both train_val (${crossing.id}) and test`,
      );
    const patients = shuffled(uniquePatients(rest), rand);
    const valPatients = new Set(patients.slice(0, Math.round(patients.length * valFraction)));
    return {
      train: rest.filter((s) => !valPatients.has(s.patientId)),
      val: rest.filter((s) => valPatients.has(s.patientId)),
      test: testPool,
    };
  }
  const f = opts.fractions ?? [0.7, 0.1, 0.2];
  if (
    !Array.isArray(f) ||
    f.length !== 3 ||
    f.some((x) => typeof x !== 'number' || !(x >= 0)) ||
    Math.abs(f[0] + f[1] + f[2] - 1) > 1e-9
  ) {
    throw new OptionError('fractions', 'three non-negative shares summing to 1', f);
  }
  const patients = shuffled(uniquePatients(ds.samples), rand);
  const nTrain = Math.round(patients.length * f[0]);
  const nVal = Math.round(patients.length * f[1]);
  const where = new Map<string, 0 | 1 | 2>();
  patients.forEach((p, i) => where.set(p, i < nTrain ? 0 : i < nTrain + nVal ? 1 : 2));
  const out: PatientSplit = { train: [], val: [], test: [] };
  for (const s of ds.samples) [out.train, out.val, out.test][where.get(s.patientId)!].push(s);
  return out;
}

/** Patients in first-seen order (dataset order is stable, so the shuffle is deterministic). */
function uniquePatients(samples: Sample[]): string[] {
  return Array.from(new Set(samples.map((s) => s.patientId)));
}

/** A binary experiment: fixed balanced val/test, and a pool training subsets are drawn from. */
export interface BinaryExperiment {
  label: string;
  /** Index of the label in the dataset. */
  labelIndex: number;
  seed: number;
  positives: Sample[];
  negatives: Sample[];
  val: Sample[];
  test: Sample[];
}

/** One-label view of a sample (targets = [that label]). */
function project(s: Sample, j: number): Sample {
  return { ...s, targets: [s.targets[j]] };
}

function labelIndex(ds: Dataset, label: string): number {
  const j = ds.labels.indexOf(label);
  if (j < 0) throw new OptionError('label', `one of ${ds.labels.join(', ')}`, label);
  return j;
}

function byClass(samples: Sample[], j: number): { pos: Sample[]; neg: Sample[] } {
  const pos: Sample[] = [];
  const neg: Sample[] = [];
  for (const s of samples) {
    const t = s.targets[j];
    if (Number.isNaN(t)) continue;
    (t > 0 ? pos : neg).push(project(s, j));
  }
  return { pos, neg };
}

/** All positives plus as many negatives (seeded); an error when a class is absent. */
function balanced(
  ds: Dataset,
  samples: Sample[],
  j: number,
  label: string,
  split: string,
  rand: () => number,
): Sample[] {
  const { pos, neg } = byClass(samples, j);
  requireBothClasses(ds, pos.length, neg.length, label, split);
  return shuffled([...pos, ...sampleWithout(neg, Math.min(pos.length, neg.length), rand)], rand);
}

function requireBothClasses(ds: Dataset, pos: number, neg: number, label: string, split: string): void {
  if (pos === 0 || neg === 0)
    throw new DataError(
      ds.name,
      `the ${split} split has only one class for ${label} (${pos} positive, ${neg} negative); use more data or another split`,
    );
}

export function binaryExperiment(ds: Dataset, label: string, split: PatientSplit, seed = 0): BinaryExperiment {
  expectInteger(seed, 'seed', 0, 2 ** 32 - 1);
  const j = labelIndex(ds, label);
  const rand = mulberry32(deriveSeed('binary-eval', seedName(ds), label, seed));
  const val = balanced(ds, split.val, j, label, 'validation', rand);
  const test = balanced(ds, split.test, j, label, 'test', rand);
  const { pos, neg } = byClass(split.train, j);
  requireBothClasses(ds, pos.length, neg.length, label, 'training');
  return { label, labelIndex: j, seed, positives: pos, negatives: neg, val, test };
}

/**
 * `k` items of `pool`, every unique item used once before any is repeated: all of them (shuffled) when
 * the pool is short, plus the shortfall drawn with replacement; else `k` without replacement.
 */
export function drawUniqueFirst<T>(pool: readonly T[], k: number, rand: () => number): T[] {
  if (pool.length >= k) return sampleWithout(pool, k, rand);
  return [...shuffled(pool, rand), ...sampleWith(pool, k - pool.length, rand)];
}

/**
 * A training subset of size N, half positives and half negatives, each half using every unique image
 * before repeating one (docs/protocol.md): one sample per (experiment, N), the same N and seed give
 * the same subset.
 */
export function binaryTrainSubset(exp: BinaryExperiment, n: number): Sample[] {
  expectInteger(n, 'n', 2);
  const rand = mulberry32(deriveSeed('binary-train', exp.label, exp.seed, n));
  const nPos = Math.floor(n / 2);
  const pos = drawUniqueFirst(exp.positives, nPos, rand);
  const neg = drawUniqueFirst(exp.negatives, n - nPos, rand);
  return shuffled([...pos, ...neg], rand);
}

/** Binary splits ready for training. */
export function binarySplits(exp: BinaryExperiment, n: number): Splits {
  return { labels: [exp.label], train: binaryTrainSubset(exp, n), val: exp.val, test: exp.test };
}

/** A multi-label experiment: full val/test and one seeded order of the training pool. */
export interface MultiLabelExperiment {
  labels: string[];
  order: Sample[];
  val: Sample[];
  test: Sample[];
}

export function multiLabelExperiment(ds: Dataset, split: PatientSplit, seed = 0): MultiLabelExperiment {
  expectInteger(seed, 'seed', 0, 2 ** 32 - 1);
  const order = shuffled(split.train, mulberry32(deriveSeed('multilabel-train', seedName(ds), seed)));
  return { labels: ds.labels, order, val: split.val, test: split.test };
}

/** The first N of the one shuffle: smaller N are prefixes of larger ones. */
export function multiLabelSplits(exp: MultiLabelExperiment, n: number): Splits {
  expectInteger(n, 'n', 1);
  if (n > exp.order.length) throw new OptionError('n', `an integer <= ${exp.order.length} (the training pool)`, n);
  return { labels: exp.labels, train: exp.order.slice(0, n), val: exp.val, test: exp.test };
}

/**
 * Every image a binary experiment uses at any N of `nGrid`: its validation set, its test set and the
 * union of its training subsets ('all': its whole training pool, when the grid is not known).
 */
export function experimentImageIds(exp: BinaryExperiment, nGrid: readonly number[] | 'all'): Set<string> {
  const used = new Set<string>();
  for (const s of [...exp.val, ...exp.test]) used.add(s.id);
  const train = nGrid === 'all' ? [[...exp.positives, ...exp.negatives]] : nGrid.map((n) => binaryTrainSubset(exp, n));
  for (const subset of train) for (const s of subset) used.add(s.id);
  return used;
}

/**
 * ChestX-ray13 (docs/protocol.md, "Sources for transfer"): the images of `split` negative for the
 * experiment's label (Emphysema), with the other 13 labels, minus every image the experiment uses at
 * any N of `nGrid`. Its train_val part is the pool (the source splits it 90/10 by patient); its test
 * part is what is left of the test split. The returned official splits say which is which.
 */
export function chestXray13(
  ds: Dataset,
  split: PatientSplit,
  exp: BinaryExperiment,
  nGrid: readonly number[] | 'all',
): Dataset {
  const j = exp.labelIndex;
  const used = experimentImageIds(exp, nGrid);
  const keep = ds.labels.map((_, i) => i).filter((i) => i !== j);
  const reduce = (samples: Sample[]) =>
    samples
      .filter((s) => s.targets[j] === 0 && !used.has(s.id))
      .map((s) => ({ ...s, targets: keep.map((i) => s.targets[i]!) }));
  const trainVal = reduce([...split.train, ...split.val]);
  const test = reduce(split.test);
  return {
    name: `${ds.name}-without-${exp.label}`,
    root: ds.root,
    labels: keep.map((i) => ds.labels[i]!),
    samples: [...trainVal, ...test],
    officialSplits: { trainVal: new Set(trainVal.map((s) => s.id)), test: new Set(test.map((s) => s.id)) },
    skipped: [],
  };
}

/** Ids of a sample list, deduplicated, for recording with results (see hashIds). */
export function sampleIds(samples: Sample[]): string[] {
  return Array.from(new Set(samples.map((s) => s.id)));
}
