/**
 * Using a trained checkpoint: `evaluate` re-creates the run's splits and scores one of them (AUC with
 * or without TTA); `predict` scores image files. Both read the preprocessing the checkpoint recorded.
 */
import { existsSync } from 'node:fs';

import { loadCheckpoint, type StoredCheckpointMetadata } from '../checkpoint.js';
import { decodeGrey } from '../data/decode.js';
import { OptionError } from '../errors.js';
import { bootstrapMacroAucCi } from '../metrics/index.js';
import { resolveDevice } from '../runtime.js';
import { expectDevice, expectOneOf, expectString } from '../validate.js';
import { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './config.js';
import { checkOption } from './recipe.js';
import { prepareData, type SplitName } from './data.js';
import { evaluateRows } from './evaluate.js';
import { trainedWith } from './checkpoint-meta.js';
import { openRun, type CheckpointWeights } from './open-run.js';
import { withScope, type Scope } from './scope.js';

/** A trained checkpoint: its weights (released by the scope) and what it recorded about the run. */
interface Loaded extends CheckpointWeights {
  meta: StoredCheckpointMetadata;
  training: TrainConfig;
}

async function openCheckpoint(scope: Scope, path: string): Promise<Loaded> {
  expectString(path, 'checkpoint');
  const ck = await loadCheckpoint(path);
  scope.own(ck.tensors, (tensors) => Object.values(tensors).forEach((t) => t.dispose()));
  // The metadata is input: validated as options (ranges), its paths never used (src/train/checkpoint-meta.ts).
  const { training, labels, normalisation } = trainedWith(ck.metadata, path);
  return { tensors: ck.tensors, labels, normalisation, meta: ck.metadata, training };
}

export interface EvaluateOptions {
  checkpoint: string;
  split?: SplitName;
  /** Augmented copies added to the centre crop (0: none; default 4 when tta is on). */
  tta?: number;
  device?: string;
  /** Override where the data is (the checkpoint records the training run's, as an absolute path). */
  data?: string;
  cacheDir?: string;
}

export interface EvaluationReport {
  split: SplitName;
  images: number;
  labels: string[];
  auc: number | null;
  /** 95% bootstrap interval of `auc` (as train's for its test AUC: same seed, same split). */
  ci: [number, number] | null;
  perLabel: Record<string, number | null>;
  loss: number;
  tta: number;
  simulated: boolean;
}

/** Scores one split of the checkpoint's own run (same seed, same samples). */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluationReport> {
  const split = expectOneOf(opts.split ?? 'test', 'split', ['train', 'val', 'test'] as const);
  const tta = checkOption('tta', opts.tta ?? 0) as number;
  const device = resolveDevice(expectDevice(opts.device ?? 'auto'));
  return withScope(async (scope) => {
    const ck = await openCheckpoint(scope, opts.checkpoint);
    const { meta, training } = ck;
    const dataMeta = meta.data as { root?: string; simulated?: boolean } | undefined;
    if (
      opts.data === undefined &&
      !dataMeta?.simulated &&
      typeof training.data === 'string' &&
      !existsSync(training.data)
    ) {
      throw new OptionError(
        'data',
        `where the dataset is now (the checkpoint's ${training.data} does not exist)`,
        undefined,
      );
    }
    // The checkpoint records its whole config: nothing it left out comes from the phantom recipe's defaults;
    // its cacheDir and out are never used (a file must not choose where we write).
    const config = resolveTrainConfig(
      {
        ...training,
        data: opts.data ?? (dataMeta?.simulated ? undefined : training.data),
        cacheDir: opts.cacheDir,
        out: '.',
        resume: false,
        maxLr: 1,
      } as TrainConfig,
      TRAIN_DEFAULTS,
    );
    const { data, trainer } = await openRun(scope, config, { checkpoint: ck, device, data: () => prepareData(config) });
    const s = data.splits[split];
    const res = await evaluateRows(trainer, data.cache, s.rows, s.targets, {
      batchSize: 32,
      labels: data.labels.length,
      tta,
      seed: training.seed,
    });
    const L = data.labels.length;
    const ci = bootstrapMacroAucCi({ data: s.targets, cols: L }, { data: res.probabilities, cols: L }, undefined, {
      seed: training.seed,
    });
    return {
      split,
      images: s.samples.length,
      labels: data.labels,
      auc: res.auc && Number.isFinite(res.auc.mean) ? res.auc.mean : null,
      ci: Number.isFinite(ci.lo) && Number.isFinite(ci.hi) ? [ci.lo, ci.hi] : null,
      perLabel: Object.fromEntries(data.labels.map((l, j) => [l, res.auc?.perLabel[j] ?? null])),
      loss: res.loss,
      tta,
      simulated: data.source.simulated,
    };
  });
}

export interface PredictOptions {
  checkpoint: string;
  images: string[];
  tta?: number;
  device?: string;
}

export interface Prediction {
  file: string;
  /** Probability per label; absent when the image could not be read. */
  probabilities?: Record<string, number>;
  error?: string;
}

/** Probabilities for image files (PNG, JPEG, DICOM); unreadable files get an error entry, never a crash. */
export async function predict(opts: PredictOptions): Promise<Prediction[]> {
  if (!Array.isArray(opts.images) || opts.images.length === 0)
    throw new OptionError('images', 'one or more image paths', opts.images);
  const tta = checkOption('tta', opts.tta ?? 0) as number;
  const device = resolveDevice(expectDevice(opts.device ?? 'auto'));
  return withScope(async (scope) => {
    const ck = await openCheckpoint(scope, opts.checkpoint);
    const { labels, training } = ck;
    const size = training.imageSize;
    const { trainer } = await openRun(scope, training, { checkpoint: ck, device });
    const out: Prediction[] = [];
    for (const file of opts.images) {
      try {
        const img = await decodeGrey(file, { width: size, height: size });
        const res = await trainer.evaluate({ images: img.data, shape: [1, 1, size, size], tta, seed: training.seed });
        out.push({ file, probabilities: Object.fromEntries(labels.map((l, j) => [l, res.output[j]!])) });
      } catch (err) {
        out.push({ file, error: (err as Error).message });
      }
    }
    return out;
  });
}
