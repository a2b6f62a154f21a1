/**
 * How every run opens (train, lr-find, eval, predict): the output folder's lock, the data and its image
 * cache, the model (initialised for training, or a trained checkpoint's) and its Trainer, in that order,
 * each owned by the caller's scope (src/train/scope.ts): released newest first however the run ends.
 * The Trainer's options come from the config in one place, so lr-find trains as train does.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { acquirePidLock } from '../lockfile.js';
import { loadModel, type Model } from '../model.js';
import type { NativeTensor } from '../native.js';
import { resolveDevice } from '../runtime.js';
import type { TrainConfig } from './config.js';
import type { PreparedData } from './data.js';
import { initModel, type InitResult, type InputNormalisation } from './init.js';
import { checkInitFile } from './init-check.js';
import type { Scope } from './scope.js';
import { Trainer, type TrainerOptions } from './trainer.js';

/** A trained checkpoint's weights with the labels and input normalisation it recorded. */
export interface CheckpointWeights {
  tensors: Record<string, NativeTensor>;
  labels: string[];
  normalisation: InputNormalisation;
}

export interface RunOpening {
  /** Hold config.out's lock for the run (one writer per output folder: train). */
  lock?: boolean;
  /** Opens the data and its image cache, after the lock (absent: no data, as predict). */
  data?: () => Promise<PreparedData>;
  /** A trained checkpoint's weights (eval, predict); absent: initModel's, as for training. */
  checkpoint?: CheckpointWeights;
  /** The resolved device (default: resolveDevice(config.device)). */
  device?: string;
}

export interface OpenRun {
  model: Model;
  trainer: Trainer;
  trainerOptions: TrainerOptions;
  normalisation: InputNormalisation;
  device: string;
  channelsLast: boolean;
}

/** What openRun opened: data when asked for, the initialisation when not from a checkpoint. */
export type Opened<O extends RunOpening> = OpenRun &
  (O extends { data: () => Promise<PreparedData> } ? { data: PreparedData } : { data?: PreparedData }) &
  (O extends { checkpoint: CheckpointWeights } ? { init?: undefined } : { init: InitResult });

/** channelsLast 'auto' is on: faster on CUDA and on the CPU for these models. */
export function resolveChannelsLast(value: TrainConfig['channelsLast'] | undefined): boolean {
  return value === 'auto' || value === true;
}

/** Every training option the Trainer takes, from the config: train and lr-find alike. */
export function trainerOptionsFor(
  config: TrainConfig,
  normalisation: InputNormalisation,
  device: string,
  channelsLast: boolean,
): TrainerOptions {
  return {
    optimizer: config.optimizer,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
    crop: config.crop,
    mean: normalisation.mean,
    std: normalisation.std,
    seed: config.seed,
    device,
    channelsLast,
    autocast: device.startsWith('cuda') ? 'bf16' : 'none',
  };
}

/** Evaluation only (eval, predict): the recorded crop, normalisation and seed; no optimiser options. */
function evaluationOptions(
  config: TrainConfig,
  normalisation: InputNormalisation,
  device: string,
  channelsLast: boolean,
): TrainerOptions {
  const { mean, std } = normalisation;
  return { crop: config.crop, mean, std, seed: config.seed, device, channelsLast };
}

/** Opens what `opening` asks for, in order, each released by `scope`. */
export async function openRun<O extends RunOpening>(scope: Scope, config: TrainConfig, opening: O): Promise<Opened<O>> {
  const device = opening.device ?? resolveDevice(config.device);
  const channelsLast = resolveChannelsLast(config.channelsLast);
  if (opening.lock) lockOutput(scope, config.out);
  // Another network named by --init stops the run now, before any image is decoded or cached.
  if (!opening.checkpoint) await checkInitFile(config);
  const data = opening.data ? scope.own(await opening.data(), (d) => d.cache.close()) : undefined;
  const { model, init, normalisation } = await openModel(scope, config, opening.checkpoint, data?.labels);
  const trainerOptions = (init ? trainerOptionsFor : evaluationOptions)(config, normalisation, device, channelsLast);
  const trainer = scope.own(new Trainer(model, trainerOptions), (t) => t.dispose());
  return { data, init, model, trainer, trainerOptions, normalisation, device, channelsLast } as Opened<O>;
}

/** One writer per output folder: a second run (or resume) into it is refused while this one lives. */
function lockOutput(scope: Scope, out: string): void {
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  const busy = (pid: number) =>
    `${dir} is in use by another torchxfer run (pid ${pid}); wait for it or choose another --out`;
  scope.own(acquirePidLock(join(dir, '.lock'), busy), (release) => release());
}

async function openModel(
  scope: Scope,
  config: TrainConfig,
  checkpoint: CheckpointWeights | undefined,
  labels: string[] | undefined,
) {
  if (checkpoint) {
    const { tensors } = checkpoint;
    const { arch, inChannels, greyMode, dropout } = config;
    const options = { arch, numClasses: checkpoint.labels.length, inChannels, greyMode, dropout, weights: tensors };
    const model = scope.own(await loadModel(options), (m) => m.dispose());
    // The model holds its own copy; the caller's scope also disposes them (a no-op then).
    for (const t of Object.values(tensors)) t.dispose();
    model.setTraining(false);
    return { model, init: undefined, normalisation: checkpoint.normalisation };
  }
  if (!labels) throw new Error('openRun: a model initialised for training needs the data (its labels)');
  const init = await initModel(config, labels);
  const model = scope.own(init.model, (m) => m.dispose());
  model.setFrozenBatchNorm(config.frozenBatchNorm);
  return { model, init, normalisation: init.normalisation };
}
