/**
 * From a TrainConfig to what the loop consumes: the dataset (or the built-in phantoms), the splits of
 * docs/protocol.md, the image cache, and per-split cache rows and target matrices.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

import { openCache, type ImageCache } from '../data/cache.js';
import { loadDataset } from '../data/datasets/index.js';
import { DEFAULT_PHANTOMS, defaultCacheDir, ensureDefaultPhantoms } from '../data/phantom/index.js';
import { binaryExperiment, binarySplits, chestXray13, multiLabelExperiment, multiLabelSplits, sampleIds, splitByPatient } from '../data/sampling.js';
import type { Dataset, Sample, Splits } from '../data/types.js';
import { OptionError } from '../errors.js';
import { Progress } from '../progress.js';
import type { TrainConfig } from './config.js';

export type SplitName = 'train' | 'val' | 'test';

/** One split as the loop reads it: cache rows and an n x labels target matrix (NaN = masked). */
export interface SplitData {
  samples: Sample[];
  rows: number[];
  targets: Float32Array;
}

export interface PreparedData {
  /** Where the data came from, for logs and checkpoints. */
  source: { root: string; format: string; simulated: boolean };
  dataset: Dataset;
  labels: string[];
  splits: Record<SplitName, SplitData>;
  cache: ImageCache;
  /** sha256 of the sorted sample ids of train, val and test (provenance of a result). */
  sampleIdsHash: string;
  /** Samples dropped because their image could not be read (path + reason), reported to the user. */
  dropped: { id: string; path: string; reason: string }[];
  /** The split actually used (see PlannedSplits) and the protocol warnings logged. */
  splitMode: TrainConfig['split'];
  warnings: string[];
}

export interface PrepareHooks {
  log?: (line: string) => void;
  progress?: NodeJS.WritableStream | null;
  /** Reads a dataset's listing (planning passes a cached, metadata-only reader). */
  loadDataset?: typeof loadDataset;
}

/** Resolves the data source: the user's, or the phantom chest set generated once into the cache. */
async function resolveSource(config: TrainConfig, hooks: PrepareHooks): Promise<{ root: string; format: TrainConfig['format']; simulated: boolean; task?: string[] }> {
  // Absolute, so a checkpoint's record of it works from any folder.
  if (config.data) return { root: resolve(config.data), format: config.format, simulated: false, task: config.task };
  let bar: Progress | undefined;
  const phantoms = await ensureDefaultPhantoms({
    cacheDir: config.cacheDir,
    onProgress: (stage, done, total) => {
      bar ??= new Progress({ total, label: `generating phantom ${stage} set`, unit: 'img', stream: hooks.progress });
      bar.tick(done - bar.completed);
      if (done === total) {
        bar.finish();
        bar = undefined;
      }
    },
  });
  hooks.log?.(`No --data given: using the built-in SIMULATED phantom chest set at ${phantoms.chest}${phantoms.generated ? ' (generated now)' : ''}.`);
  return { root: phantoms.chest, format: 'nih', simulated: true, task: config.task ?? [DEFAULT_PHANTOMS.target] };
}

/** The splits of docs/protocol.md for the requested labels and N. */
function makeSplits(ds: Dataset, config: TrainConfig, task: string[] | undefined, mode: TrainConfig['split']): Splits {
  const split = splitByPatient(ds, { mode, seed: config.seed });
  const labels = task ?? ds.labels;
  for (const [i, l] of labels.entries()) {
    if (!ds.labels.includes(l)) throw new OptionError(i === 0 && labels.length === 1 ? 'task' : `task[${i}]`, `a label of ${ds.name} (${ds.labels.join(', ')})`, l);
  }
  if (labels.length === 1) {
    const exp = binaryExperiment(ds, labels[0]!, split, config.seed);
    if (config.n !== undefined) return binarySplits(exp, config.n);
    return { labels, train: [...exp.positives, ...exp.negatives], val: exp.val, test: exp.test };
  }
  const exp = multiLabelExperiment(ds, split, config.seed);
  const all = multiLabelSplits(exp, config.n ?? exp.order.length);
  if (labels.length === ds.labels.length && labels.every((l, i) => l === ds.labels[i])) return all;
  const idx = labels.map((l) => ds.labels.indexOf(l));
  const project = (s: Sample): Sample => ({ ...s, targets: idx.map((j) => s.targets[j]!) });
  return { labels, train: all.train.map(project), val: all.val.map(project), test: all.test.map(project) };
}

/** The dataset options of a config, as loadDataset takes them. */
export function datasetLoadOptions(config: Pick<TrainConfig, 'labels' | 'labelColumns' | 'key' | 'pathColumn' | 'patientColumn' | 'positive' | 'uncertainty'>) {
  return { labels: config.labels, labelColumns: config.labelColumns, key: config.key, pathColumn: config.pathColumn, patientColumn: config.patientColumn, positive: config.positive, uncertainty: config.uncertainty };
}

/** What a run would read, before any image is decoded: the source, the dataset listing and the splits. */
export interface PlannedSplits {
  source: { root: string; format: TrainConfig['format']; simulated: boolean };
  dataset: Dataset;
  splits: Splits;
  /** The split actually used: 'random' where 'official' was asked of a dataset without an official test list. */
  splitMode: TrainConfig['split'];
  /** Where the protocol bends (resampling, random-split fallback, tiny evaluation sets), in words. */
  warnings: string[];
}

/** Below this many positives or negatives, an AUC is coarse and its confidence interval wide. */
const FEW_PER_CLASS = 10;

/** What the user should know before trusting the numbers of a run on these splits. */
export function protocolWarnings(splits: Splits, config: Pick<TrainConfig, 'split'>, splitMode: TrainConfig['split'], datasetName: string): string[] {
  const out: string[] = [];
  if (splitMode !== config.split) out.push(`${datasetName} has no official test list: a random 70/10/20 split by patient was used instead of '${config.split}' (recorded as split 'random').`);
  const unique = new Set(splits.train.map((s) => s.id)).size;
  if (unique < splits.train.length) out.push(`the training set of ${splits.train.length} is resampled with replacement from ${unique} unique image(s): fewer distinct images than N.`);
  for (const [name, set] of [['validation', splits.val], ['test', splits.test]] as const) {
    for (const [j, label] of splits.labels.entries()) {
      const pos = set.filter((s) => s.targets[j] === 1).length;
      const neg = set.filter((s) => s.targets[j] === 0).length;
      if (pos < FEW_PER_CLASS || neg < FEW_PER_CLASS) {
        out.push(`the ${name} set has ${pos} positive and ${neg} negative image(s) for ${label}: its AUC is coarse (${name === 'test' ? 'see the 95% CI width' : 'checkpoint choice is noisy'}).`);
        break;
      }
    }
  }
  return out;
}

/** The splits a run with `config` trains, validates and tests on (reads only the dataset's listing). */
export async function planSplits(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PlannedSplits> {
  const source = await resolveSource(config, hooks);
  let full = (hooks.loadDataset ?? loadDataset)(source.format, source.root, datasetLoadOptions(config));
  const splitMode = config.split === 'official' && !full.officialSplits?.test ? 'random' : config.split;
  if (config.excludeExperiment) {
    // The same split and seed as the target experiment, so its images are exactly the ones removed.
    const split = splitByPatient(full, { mode: splitMode, seed: config.seed });
    const exp = binaryExperiment(full, config.excludeExperiment, split, config.seed);
    full = chestXray13(full, split, exp, config.excludeNGrid ?? 'all');
  }
  const splits = makeSplits(full, config, source.task, splitMode);
  if (config.valLimit !== undefined) splits.val = splits.val.slice(0, config.valLimit);
  if (config.testLimit !== undefined) splits.test = splits.test.slice(0, config.testLimit);
  const warnings = protocolWarnings(splits, config, splitMode, full.name);
  for (const w of warnings) hooks.log?.(`warning: ${w}`);
  return { source: { root: source.root, format: source.format, simulated: source.simulated }, dataset: full, splits, splitMode, warnings };
}

export async function prepareData(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PreparedData> {
  const { source, dataset: full, splits, splitMode, warnings } = await planSplits(config, hooks);

  // Cache only what this run reads (a whole NIH set is 112k images).
  const needed = new Map<string, Sample>();
  for (const s of [...splits.train, ...splits.val, ...splits.test]) needed.set(s.id, s);
  const subset: Dataset = { ...full, samples: [...needed.values()] };
  const cache = await openCache(subset, {
    dir: join(config.cacheDir ?? defaultCacheDir(), 'images'),
    geometry: { width: config.imageSize, height: config.imageSize },
    progress: hooks.progress,
  });

  try {
    return preparedFrom(cache, { source, dataset: full, splits, splitMode, warnings }, hooks);
  } catch (err) {
    cache.close();
    throw err;
  }
}

/** The splits as cache rows and target matrices; throws when a split has no readable image. */
function preparedFrom(cache: ImageCache, planned: PlannedSplits, hooks: PrepareHooks): PreparedData {
  const { source, dataset: full, splits, splitMode, warnings } = planned;
  const dropped = cache.skipped;
  const build = (samples: Sample[], name: SplitName): SplitData => {
    const kept = samples.filter((s) => cache.rowOf(s.id) !== undefined);
    if (kept.length === 0) throw new OptionError(`${name} split`, 'at least one readable image', `${samples.length} samples, none readable`);
    const L = splits.labels.length;
    const targets = new Float32Array(kept.length * L);
    kept.forEach((s, i) => s.targets.forEach((t, j) => (targets[i * L + j] = t)));
    return { samples: kept, rows: kept.map((s) => cache.rowOf(s.id)!), targets };
  };
  const data: Record<SplitName, SplitData> = { train: build(splits.train, 'train'), val: build(splits.val, 'val'), test: build(splits.test, 'test') };
  if (cache.skipped.length) hooks.log?.(`${cache.skipped.length} image(s) could not be read and were skipped:\n${cache.report()}`);
  return {
    source: { root: source.root, format: source.format, simulated: source.simulated },
    dataset: full,
    labels: splits.labels,
    splits: data,
    cache,
    sampleIdsHash: hashIds([...sampleIds(data.train.samples).map((id) => `train:${id}`), ...sampleIds(data.val.samples).map((id) => `val:${id}`), ...sampleIds(data.test.samples).map((id) => `test:${id}`)]),
    dropped,
    splitMode,
    warnings,
  };
}

/** sha256 of the sorted ids (one per line): identifies a sample set in results and checkpoints. */
export function hashIds(ids: Iterable<string>): string {
  const sorted = Array.from(ids).sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex');
}
