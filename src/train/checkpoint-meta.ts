/**
 * What `eval` and `predict` take from a checkpoint's metadata, validated as options are: a checkpoint
 * may come from anyone, and its metadata is plain JSON (an imageSize of 40000 asked for 6 GB). The
 * training options go through resolveTrainConfig (the same ranges as the CLI); the paths it recorded
 * for writing (cacheDir, out) are dropped, never used: where that run kept its cache is not ours to
 * write to.
 */
import { CheckpointError, type StoredCheckpointMetadata } from '../checkpoint.js';
import { OptionError } from '../errors.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import type { InputNormalisation } from './init.js';

/** Labels a checkpoint may have (NIH has 14; a head of thousands is not a radiograph classifier). */
const MAX_LABELS = 1000;

export interface TrainedWith {
  training: TrainConfig;
  labels: string[];
  normalisation: InputNormalisation;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function trainedWith(meta: StoredCheckpointMetadata, path: string): TrainedWith {
  const { training, labels, normalisation } = meta;
  if (!isObject(training) || labels === undefined || !isObject(normalisation)) {
    throw new OptionError('checkpoint', 'a checkpoint written by torchxfer train (with its training metadata)', path);
  }
  const bad = (what: string, err?: unknown): never => {
    throw new CheckpointError(
      `${path}: the checkpoint's metadata is not usable: ${what}${err ? ` (${(err as Error).message})` : ''}`,
    );
  };
  const { cacheDir: _cache, out: _out, resume: _resume, keepResume: _keep, force: _force, ...options } = training;
  let config: TrainConfig;
  try {
    config = resolveTrainConfig({ ...(options as Partial<TrainConfig>), out: '.', resume: false });
  } catch (err) {
    return bad('training options', err);
  }
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    labels.length > MAX_LABELS ||
    !labels.every((l) => typeof l === 'string' && l.length > 0 && l.length <= 256)
  ) {
    bad(`labels (expected 1 to ${MAX_LABELS} names)`);
  }
  const channels = (v: unknown) =>
    Array.isArray(v) && v.length === config.inChannels && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (
    !channels(normalisation.mean) ||
    !channels(normalisation.std) ||
    !(normalisation.std as number[]).every((x) => x > 0)
  ) {
    bad(`normalisation (expected ${config.inChannels} finite means and positive stds)`);
  }
  return {
    training: config,
    labels: labels as string[],
    normalisation: normalisation as unknown as InputNormalisation,
  };
}
