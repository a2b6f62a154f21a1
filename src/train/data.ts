/**
 * From a TrainConfig to what the loop consumes: the dataset (or the built-in phantoms), the splits of
 * SPEC.md, the image cache, and per-split cache rows and target matrices.
 */
import { join } from 'node:path';

import { openCache, type ImageCache } from '../data/cache.js';
import { loadDataset } from '../data/datasets/index.js';
import { DEFAULT_PHANTOMS, defaultCacheDir, ensureDefaultPhantoms } from '../data/phantom/index.js';
import { hashIds } from '../data/random.js';
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
}

export interface PrepareHooks {
  log?: (line: string) => void;
  progress?: NodeJS.WritableStream | null;
}

/** Resolves the data source: the user's, or the phantom chest set generated once into the cache. */
async function resolveSource(config: TrainConfig, hooks: PrepareHooks): Promise<{ root: string; format: TrainConfig['format']; simulated: boolean; task?: string[] }> {
  if (config.data) return { root: config.data, format: config.format, simulated: false, task: config.task };
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

/** The splits of SPEC.md for the requested labels and N. */
function makeSplits(ds: Dataset, config: TrainConfig, task: string[] | undefined): Splits {
  const mode = config.split === 'official' && !ds.officialSplits?.test ? 'random' : config.split;
  const split = splitByPatient(ds, { mode, seed: config.seed });
  const labels = task ?? ds.labels;
  for (const [i, l] of labels.entries()) {
    if (!ds.labels.includes(l)) throw new OptionError(`task[${i}]`, `a label of ${ds.name} (${ds.labels.join(', ')})`, l);
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

/** What a run would read, before any image is decoded: the source, the dataset listing and the splits. */
export interface PlannedSplits {
  source: { root: string; format: TrainConfig['format']; simulated: boolean };
  dataset: Dataset;
  splits: Splits;
}

/** The splits a run with `config` trains, validates and tests on (reads only the dataset's listing). */
export async function planSplits(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PlannedSplits> {
  const source = await resolveSource(config, hooks);
  let full = loadDataset(source.format, source.root);
  if (config.excludeExperiment) {
    // The same split and seed as the target experiment, so its images are exactly the ones removed.
    const mode = config.split === 'official' && !full.officialSplits?.test ? 'random' : config.split;
    const exp = binaryExperiment(full, config.excludeExperiment, splitByPatient(full, { mode, seed: config.seed }), config.seed);
    const reduced = chestXray13(full, exp);
    full = { ...reduced, officialSplits: full.officialSplits };
  }
  const splits = makeSplits(full, config, source.task);
  if (config.valLimit !== undefined) splits.val = splits.val.slice(0, config.valLimit);
  if (config.testLimit !== undefined) splits.test = splits.test.slice(0, config.testLimit);
  return { source: { root: source.root, format: source.format, simulated: source.simulated }, dataset: full, splits };
}

export async function prepareData(config: TrainConfig, hooks: PrepareHooks = {}): Promise<PreparedData> {
  const { source, dataset: full, splits } = await planSplits(config, hooks);

  // Cache only what this run reads (a whole NIH set is 112k images).
  const needed = new Map<string, Sample>();
  for (const s of [...splits.train, ...splits.val, ...splits.test]) needed.set(s.id, s);
  const subset: Dataset = { ...full, samples: [...needed.values()] };
  const cache = await openCache(subset, {
    dir: join(config.cacheDir ?? defaultCacheDir(), 'images'),
    geometry: { width: config.imageSize, height: config.imageSize },
    progress: hooks.progress,
  });

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
  };
}
