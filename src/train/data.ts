/**
 * From a TrainConfig to what the loop consumes: the dataset (or the built-in phantoms), the splits of
 * docs/protocol.md, the image cache, and per-split cache rows and target matrices.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

import { openCache, type ImageCache } from '../data/cache.js';
import { loadDataset } from '../data/datasets/index.js';
import { DEFAULT_PHANTOMS, defaultCacheDir, ensureDefaultPhantoms } from '../data/phantom/index.js';
import { isSimulatedRoot } from '../data/phantom/marker.js';
import { UnreadableList, type UnreadableFile } from '../data/unreadable.js';
import {
  binaryExperiment,
  binarySplits,
  chestXray13,
  multiLabelExperiment,
  multiLabelSplits,
  sampleIds,
  splitByPatient,
} from '../data/sampling.js';
import type { Dataset, Sample, Splits } from '../data/types.js';
import { OptionError } from '../errors.js';
import { Progress } from '../progress.js';
import type { TrainConfig } from './config.js';
import { BY_IMAGE_WARNING, patientSplitMode, requireBothClassesPerSplit, withSplitPatients } from './split-check.js';

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
  /** Files removed before sampling (missing, or known not to decode), with why: reported, never counted. */
  dropped: { id: string; path: string; reason: string }[];
  /** What the training set really is (recorded with every result). */
  counts: SampleCounts;
  /** The split actually used (see PlannedSplits) and the protocol warnings logged. */
  splitMode: TrainConfig['split'];
  warnings: string[];
}

/**
 * A run's training set as it really is: the N asked for, the images per epoch, how many distinct
 * images and positives those are, and how many files were removed before sampling.
 */
export interface SampleCounts {
  /** The N asked for (the whole training pool when none was given). */
  nRequested: number;
  /** Images per epoch. */
  nTrained: number;
  uniqueImages: number;
  /** Distinct training images positive for the label (multi-label: for at least one label). */
  uniquePositives: number;
  /** Files of the dataset removed before sampling (missing, or unreadable when decoded). */
  droppedFiles: number;
  /** Distinct positive images the training pool offered (binary: of the label; multi-label: of any). */
  poolPositives: number;
}

export interface PrepareHooks {
  log?: (line: string) => void;
  /**
   * Samples removed from the dataset at `root` before it is split and sampled (id -> why: images known not to decode).
   */
  exclude?: (root: string) => ReadonlyMap<string, string>;
  progress?: NodeJS.WritableStream | null;
  /** Reads a dataset's listing (planning passes a cached, metadata-only reader). */
  loadDataset?: typeof loadDataset;
}

/** Resolves the data source: the user's, or the phantom chest set generated once into the cache. */
async function resolveSource(
  config: TrainConfig,
  hooks: PrepareHooks,
): Promise<{ root: string; format: TrainConfig['format']; simulated: boolean; task?: string[] }> {
  // Absolute, so a checkpoint's record of it works from any folder.
  if (config.data) {
    const root = resolve(config.data);
    // Phantoms written by `data synth` carry a marker: simulated whatever format reads them.
    return { root, format: config.format, simulated: isSimulatedRoot(root), task: config.task };
  }
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
  hooks.log?.(
    `No --data given: using the built-in SIMULATED phantom chest set at ${phantoms.chest}${phantoms.generated ? ' (generated now)' : ''}.`,
  );
  return { root: phantoms.chest, format: 'nih', simulated: true, task: config.task ?? [DEFAULT_PHANTOMS.target] };
}

/** The splits of docs/protocol.md for the requested labels and N, and the training pool they drew from. */
function makeSplits(
  ds: Dataset,
  config: TrainConfig,
  task: string[] | undefined,
  mode: TrainConfig['split'],
): { splits: Splits; pool: Sample[] } {
  const split = splitByPatient(ds, { mode: patientSplitMode(mode), seed: config.seed });
  const labels = task ?? ds.labels;
  for (const [i, l] of labels.entries()) {
    if (!ds.labels.includes(l))
      throw new OptionError(
        i === 0 && labels.length === 1 ? 'task' : `task[${i}]`,
        `a label of ${ds.name} (${ds.labels.join(', ')})`,
        l,
      );
  }
  if (labels.length === 1) {
    requireBothClassesPerSplit(ds, split, labels[0]!, mode);
    const exp = binaryExperiment(ds, labels[0]!, split, config.seed);
    const pool = [...exp.positives, ...exp.negatives];
    if (config.n !== undefined) return { splits: binarySplits(exp, config.n), pool };
    return { splits: { labels, train: pool, val: exp.val, test: exp.test }, pool };
  }
  const exp = multiLabelExperiment(ds, split, config.seed);
  const all = multiLabelSplits(exp, config.n ?? exp.order.length);
  if (labels.length === ds.labels.length && labels.every((l, i) => l === ds.labels[i]))
    return { splits: all, pool: exp.order };
  const idx = labels.map((l) => ds.labels.indexOf(l));
  const project = (s: Sample): Sample => ({ ...s, targets: idx.map((j) => s.targets[j]!) });
  return {
    splits: { labels, train: all.train.map(project), val: all.val.map(project), test: all.test.map(project) },
    pool: exp.order.map(project),
  };
}

/** The dataset options of a config, as loadDataset takes them. */
export function datasetLoadOptions(
  config: Pick<
    TrainConfig,
    'labels' | 'labelColumns' | 'key' | 'pathColumn' | 'patientColumn' | 'positive' | 'uncertainty'
  >,
) {
  return {
    labels: config.labels,
    labelColumns: config.labelColumns,
    key: config.key,
    pathColumn: config.pathColumn,
    patientColumn: config.patientColumn,
    positive: config.positive,
    uncertainty: config.uncertainty,
  };
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
  /** Distinct positive images of the training pool the subset was drawn from. */
  poolPositives: number;
}

/** Below this many positives or negatives, an AUC is coarse and its confidence interval wide. */
const FEW_PER_CLASS = 10;

/** What the training set of `splits` is, for `nRequested` asked (see SampleCounts). */
export function trainCounts(
  splits: Pick<Splits, 'train'>,
  nRequested: number,
  droppedFiles: number,
  poolPositives = NaN,
): SampleCounts {
  const positive = new Set(splits.train.filter((s) => s.targets.some((t) => t === 1)).map((s) => s.id));
  return {
    nRequested,
    nTrained: splits.train.length,
    uniqueImages: new Set(splits.train.map((s) => s.id)).size,
    uniquePositives: positive.size,
    droppedFiles,
    poolPositives,
  };
}

/** What the user should know before trusting the numbers of a run on these splits. */
export function protocolWarnings(
  splits: Splits,
  config: Pick<TrainConfig, 'split'>,
  splitMode: TrainConfig['split'],
  datasetName: string,
  nRequested = splits.train.length,
): string[] {
  const out: string[] = [];
  if (splitMode === 'by-image') out.push(BY_IMAGE_WARNING);
  if (splitMode !== config.split)
    out.push(
      `${datasetName} has no official test list: a random 70/10/20 split by patient was used instead of '${config.split}' (recorded as split 'random').`,
    );
  const c = trainCounts(splits, nRequested, 0);
  if (c.uniqueImages < c.nRequested) {
    out.push(
      `N = ${c.nRequested} was asked for but the training pool has only ${c.uniqueImages} unique image(s) (${c.uniquePositives} positive) for it: the other ${c.nTrained - c.uniqueImages} are repeats drawn with replacement, after every unique image was used once.`,
    );
  }
  for (const [name, set] of [
    ['validation', splits.val],
    ['test', splits.test],
  ] as const) {
    for (const [j, label] of splits.labels.entries()) {
      const pos = set.filter((s) => s.targets[j] === 1).length;
      const neg = set.filter((s) => s.targets[j] === 0).length;
      if (pos < FEW_PER_CLASS || neg < FEW_PER_CLASS) {
        out.push(
          `the ${name} set has ${pos} positive and ${neg} negative image(s) for ${label}: its AUC is coarse (${name === 'test' ? 'see the 95% CI width' : 'checkpoint choice is noisy'}).`,
        );
        break;
      }
    }
  }
  return out;
}

/** The splits a run with `config` trains, validates and tests on (reads only the dataset's listing). */
export async function planSplits(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PlannedSplits> {
  const source = await resolveSource(config, hooks);
  const read = (hooks.loadDataset ?? loadDataset)(source.format, source.root, datasetLoadOptions(config));
  if (read.recognised) hooks.log?.(read.recognised.message);
  const format = (read.recognised?.format ?? source.format) as TrainConfig['format'];
  let full = withSplitPatients(read, config.split);
  if (hooks.exclude) full = withoutSamples(full, hooks.exclude(source.root));
  const splitMode = config.split === 'official' && !full.officialSplits?.test ? 'random' : config.split;
  if (config.excludeExperiment) {
    // The same split and seed as the target experiment, so its images are exactly the ones removed.
    const split = splitByPatient(full, { mode: patientSplitMode(splitMode), seed: config.seed });
    const exp = binaryExperiment(full, config.excludeExperiment, split, config.seed);
    full = chestXray13(full, split, exp, config.excludeNGrid ?? 'all');
  }
  const { splits, pool } = makeSplits(full, config, source.task, splitMode);
  const poolPositives = new Set(pool.filter((x) => x.targets.some((t) => t === 1)).map((x) => x.id)).size;
  if (config.valLimit !== undefined) splits.val = splits.val.slice(0, config.valLimit);
  if (config.testLimit !== undefined) splits.test = splits.test.slice(0, config.testLimit);
  const warnings = [
    ...(read.warnings ?? []),
    ...protocolWarnings(splits, config, splitMode, full.name, config.n ?? splits.train.length),
  ];
  for (const w of warnings) hooks.log?.(`warning: ${w}`);
  return {
    source: { root: source.root, format, simulated: source.simulated },
    dataset: full,
    splits,
    splitMode,
    warnings,
    poolPositives,
  };
}

/**
 * The dataset without the samples of `why` (they go to its skipped list with the reason: files that cannot be used).
 */
function withoutSamples(ds: Dataset, why: ReadonlyMap<string, string>): Dataset {
  const gone = ds.samples.filter((s) => why.has(s.id));
  if (!gone.length) return ds;
  return {
    ...ds,
    samples: ds.samples.filter((s) => !why.has(s.id)),
    skipped: [...ds.skipped, ...gone.map((s) => ({ path: s.path, reason: why.get(s.id)! }))],
  };
}

/** Rounds of "decode, find unreadable images, sample again without them" before giving up. */
const MAX_RESAMPLE_ROUNDS = 20;

/**
 * Splits and image cache of a run. Files that cannot be read are removed before sampling, never after
 * (docs/protocol.md): missing files when the dataset is listed; images that fail to decode are
 * remembered (data/unreadable.ts) and the splits drawn again without them until every drawn image
 * decodes, so N counts only images that train.
 */
export async function prepareData(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PreparedData> {
  const cacheDir = config.cacheDir ?? defaultCacheDir();
  let unreadable: UnreadableList | undefined;
  const exclude = (root: string) => (unreadable ??= new UnreadableList(cacheDir, root)).reasons;
  for (let round = 0; ; round++) {
    // Warnings are logged once, for the splits finally used.
    const planned = await planSplits(config, {
      ...hooks,
      exclude,
      log: (line) => !line.startsWith('warning: ') && hooks.log?.(line),
    });
    const cache = await openSplitsCache(config, planned, cacheDir, hooks);
    const fresh: UnreadableFile[] = cache.skipped
      .filter((s) => s.id !== '')
      .map((s) => ({ id: s.id, path: s.path, reason: s.reason }));
    if (!fresh.length || round >= MAX_RESAMPLE_ROUNDS) return finishData(config, planned, cache, hooks);
    cache.close();
    unreadable!.add(fresh);
    hooks.log?.(
      `${fresh.length} drawn image(s) could not be decoded: removed from the dataset, splits drawn again without them:\n${fresh.map((f) => `  ${f.path}: ${f.reason}`).join('\n')}`,
    );
  }
}

/** The image cache for what the splits read (a whole NIH set is 112k images: only these are cached). */
async function openSplitsCache(
  config: TrainConfig,
  planned: PlannedSplits,
  cacheDir: string,
  hooks: PrepareHooks,
): Promise<ImageCache> {
  const { splits, dataset } = planned;
  const needed = new Map<string, Sample>();
  for (const s of [...splits.train, ...splits.val, ...splits.test]) needed.set(s.id, s);
  return openCache(
    { ...dataset, samples: [...needed.values()] },
    {
      dir: join(cacheDir, 'images'),
      geometry: { width: config.imageSize, height: config.imageSize },
      progress: hooks.progress,
    },
  );
}

function finishData(config: TrainConfig, planned: PlannedSplits, cache: ImageCache, hooks: PrepareHooks): PreparedData {
  const { source, dataset: full, splits, splitMode, warnings, poolPositives } = planned;
  const build = (samples: Sample[], name: SplitName): SplitData => {
    const kept = samples.filter((s) => cache.rowOf(s.id) !== undefined);
    if (kept.length === 0)
      throw new OptionError(`${name} split`, 'at least one readable image', `${samples.length} samples, none readable`);
    const L = splits.labels.length;
    const targets = new Float32Array(kept.length * L);
    kept.forEach((s, i) => s.targets.forEach((t, j) => (targets[i * L + j] = t)));
    return { samples: kept, rows: kept.map((s) => cache.rowOf(s.id)!), targets };
  };
  let data: Record<SplitName, SplitData>;
  try {
    data = { train: build(splits.train, 'train'), val: build(splits.val, 'val'), test: build(splits.test, 'test') };
  } catch (err) {
    cache.close();
    throw err;
  }
  for (const w of warnings) hooks.log?.(`warning: ${w}`);
  // Images that still failed after the last round of resampling are dropped too (and not counted as trained).
  const dropped = [
    ...full.skipped.map((s) => ({ id: '', path: s.path, reason: s.reason })),
    ...cache.skipped.filter((s) => s.id !== ''),
  ];
  if (dropped.length)
    hooks.log?.(
      `${dropped.length} file(s) of the dataset could not be used and were removed before sampling (listed in metrics.json).`,
    );
  const counts = trainCounts(
    { train: data.train.samples },
    config.n ?? splits.train.length,
    dropped.length,
    poolPositives,
  );
  return {
    source: { root: source.root, format: source.format, simulated: source.simulated },
    dataset: full,
    labels: splits.labels,
    splits: data,
    cache,
    sampleIdsHash: hashIds([
      ...sampleIds(data.train.samples).map((id) => `train:${id}`),
      ...sampleIds(data.val.samples).map((id) => `val:${id}`),
      ...sampleIds(data.test.samples).map((id) => `test:${id}`),
    ]),
    dropped,
    counts,
    splitMode,
    warnings,
  };
}

/** Validation and test images, and their positives (binary: of the label; multi-label: of any label). */
export interface EvalSizes {
  val: number;
  test: number;
  valPositives: number;
  testPositives: number;
}

export function evalSizes(data: Pick<PreparedData, 'splits'>): EvalSizes {
  const positives = (split: SplitData) => split.samples.filter((x) => x.targets.some((t) => t === 1)).length;
  const { val, test } = data.splits;
  return {
    val: val.samples.length,
    test: test.samples.length,
    valPositives: positives(val),
    testPositives: positives(test),
  };
}

/** sha256 of the sorted ids (one per line): identifies a sample set in results and checkpoints. */
export function hashIds(ids: Iterable<string>): string {
  const sorted = Array.from(ids).sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex');
}
