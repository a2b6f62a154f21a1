/**
 * The options of one training run (`torchxfer train` and `train()`), their defaults and validation.
 * Defaults follow docs/protocol.md; every one can be changed.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';

import YAML from 'yaml';

import { DATASET_FORMATS, type DatasetFormat } from '../data/datasets/index.js';
import { OptionError } from '../errors.js';
import { ARCHS, FROZEN_BATCHNORM, GREY_MODES, type Arch, type FrozenBatchNormPolicy, type GreyMode } from '../model.js';
import { ONE_CYCLE_CONVENTIONS, STRATEGIES, type OneCycleConvention, type Strategy } from '../schedule/index.js';
import { expectBoolean, expectDevice, expectInteger, expectNumber, expectOneOf, expectString } from '../validate.js';

export const POLICIES = ['one-cycle', 'regular'] as const;
export type Policy = (typeof POLICIES)[number];
export const OPTIMIZERS = ['adam', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
/** by-image: a random split with every image its own patient (data without patient ids; warned). */
export const SPLIT_MODES = ['official', 'random', 'by-image'] as const;
/** How `maxLr: 'auto'` picks from the LR finder's curve: fastai's valley, the loss minimum / 10, or the minimum (the paper). */
export const LR_RULES = ['valley', 'min-div-10', 'minimum'] as const;
export type LrRule = (typeof LR_RULES)[number];
export const UNCERTAINTY_POLICIES = ['ones', 'zeros', 'ignore'] as const;
/** conv: the convolution weights only (the paper randomises "the convolutional layers"); all: every tensor. */
export const MOMENTS_SCOPES = ['conv', 'all'] as const;

export interface TrainConfig {
  /** Dataset root; absent: the built-in phantom chest set (generated once into the cache). */
  data?: string;
  format: DatasetFormat;
  /** dicom (and radiomics): the label CSV, keyed by 'file' or a DICOM keyword (`key`). */
  labels?: string;
  /** csv/dicom: label columns to read (default: every column that is not a key, path, patient or split column). */
  labelColumns?: string[];
  /** dicom: 'file' (default) or a DICOM keyword keying the label CSV. */
  key?: string;
  /** csv: the image path column (default 'path'). */
  pathColumn?: string;
  /** csv, dicom: the labels CSV's patient id column (default 'patient' when present); never a label. */
  patientColumn?: string;
  /** folder: the positive class folder. */
  positive?: string;
  /** chexpert: one policy for all uncertain labels (default: per label, as the paper). */
  uncertainty?: (typeof UNCERTAINTY_POLICIES)[number];
  /** Label(s) to learn; one label = a binary task (balanced val/test, N-subsets 50/50). Absent: all. */
  task?: string[];
  /** Training-set size (binary: balanced subset; multi-label: first N of one seeded shuffle). Absent: all. */
  n?: number;
  split: (typeof SPLIT_MODES)[number];
  arch: Arch;
  /** 'none' (torchvision's init), 'imagenet', 'moments' (of ImageNet), a registry name, or a weights/checkpoint file. */
  init: string;
  strategy: Strategy;
  policy: Policy;
  optimizer: OptimizerName;
  epochs: number;
  batchSize: number;
  /** A number, or 'auto' to run the LR finder first (the paper: the loss minimum). */
  maxLr: number | 'auto';
  /** How 'auto' picks from the finder's curve (default 'minimum', the paper's; fastai's 'valley' is recorded beside it). */
  lrRule: LrRule;
  /** one-cycle: final LR = maxLr / finalDiv (protocol: 25000; the authors' code 250000). */
  finalDiv: number;
  divFactor: number;
  convention: OneCycleConvention;
  /** one-cycle momentum range [high, low]; the regular policy keeps momentum at REGULAR_MOMENTUM (0.9). */
  momentum: [number, number];
  weightDecay: number;
  nesterov: boolean;
  /** Image side stored in the cache (protocol: 250) and the training crop (default: defaultCrop(imageSize), 236 for 250). */
  imageSize: number;
  crop: number;
  inChannels: 1 | 3;
  greyMode: GreyMode;
  dropout: number;
  frozenBatchNorm: FrozenBatchNormPolicy;
  /** TTA copies added to the centre crop at test time (protocol: 4). */
  tta: number;
  seed: number;
  device: string;
  /** 'auto': on where it is faster (CUDA, and CPU for these models). */
  channelsLast: boolean | 'auto';
  threads?: number;
  out: string;
  resume: boolean;
  /** Keep OUT/resume after a finished run (default: removed). */
  keepResume?: boolean;
  /** Write into a non-empty `out` that is not a torchxfer run folder (still never replacing a file there). */
  force?: boolean;
  /** Cache root for images and phantoms (default $TORCHXFER_CACHE or ~/.cache/torchxfer). */
  cacheDir?: string;
  /** Stop after this many optimiser steps in total (tests, quick looks); absent: all epochs. */
  maxSteps?: number;
  /** Cap the validation / test sets at this many images (a seeded prefix; quick experiments). */
  valLimit?: number;
  testLimit?: number;
  /** After loading --init weights, replace them by their "moments" (Raghu et al.). */
  initMoments?: boolean;
  /** Which tensors "moments" re-draws: the convolution weights (the paper, III.E) or every tensor. */
  momentsScope: (typeof MOMENTS_SCOPES)[number];
  /**
   * ChestX-ray13-style source: drop every image positive for this label and every image the binary
   * experiment on it (same seed and split) uses at any N of excludeNGrid, and learn the other labels
   * (docs/protocol.md, "Sources for transfer").
   */
  excludeExperiment?: string;
  /** The N grid of that experiment (its training subsets are excluded at every N). */
  excludeNGrid?: number[];
}

/** The protocol's crop for an image side: 236 of 250 (the crop follows the size unless given). */
export function defaultCrop(imageSize: number): number {
  return Math.min(imageSize, Math.round((imageSize * 236) / 250));
}

/** Defaults of every option but `crop`, which follows `imageSize` (defaultCrop) unless given. */
export const TRAIN_DEFAULTS: Omit<TrainConfig, 'out' | 'crop'> = {
  format: 'auto',
  split: 'official',
  arch: 'densenet121',
  init: 'imagenet',
  strategy: 'gradual-unfreeze',
  policy: 'one-cycle',
  optimizer: 'adam',
  epochs: 20,
  batchSize: 16,
  maxLr: 'auto',
  lrRule: 'minimum',
  finalDiv: 25000,
  divFactor: 25,
  convention: 'paper',
  momentum: [0.95, 0.85],
  weightDecay: 0,
  nesterov: false,
  imageSize: 250,
  inChannels: 1,
  greyMode: 'sum',
  dropout: 0,
  frozenBatchNorm: 'update-stats',
  tta: 4,
  momentsScope: 'conv',
  seed: 0,
  device: 'auto',
  channelsLast: 'auto',
  resume: false,
};

/**
 * The defaults that change when no data is given (`torchxfer train` and `train({ out })` alike): the
 * paper's best recipe that runs offline, sized to finish in minutes on 2 CPU cores: one-cycle,
 * fine-tuning from torchvision's init (no pretrained weights need downloading), N = 200 on the binary
 * phantom target, 112-px images (about 2 minutes, AUC ~0.98).
 */
export const PHANTOM_DEFAULTS: Partial<TrainConfig> = {
  init: 'none',
  strategy: 'fine-tune',
  n: 200,
  epochs: 6,
  imageSize: 112,
  crop: 104,
  maxLr: 3e-3,
  tta: 4,
};

/** The defaults a config starts from: every option's but `out` (and `crop`, unless the recipe sets it). */
export type TrainDefaults = Omit<TrainConfig, 'out' | 'crop'> & { crop?: number };

/** Where a config starts from: TRAIN_DEFAULTS, with PHANTOM_DEFAULTS on top when no data is given. */
export function defaultsFor(input: { data?: unknown; imageSize?: unknown }): TrainDefaults {
  if (input.data !== undefined) return TRAIN_DEFAULTS;
  // The demo's crop goes with its image size: a size given alone takes the protocol's crop (defaultCrop).
  const { crop: _crop, ...sizeFree } = PHANTOM_DEFAULTS;
  return { ...TRAIN_DEFAULTS, ...(input.imageSize === undefined ? PHANTOM_DEFAULTS : sizeFree) };
}

/** The dataset options of a run (the same keys as the CLI's dataset flags and a spec's data entries). */
export const DATASET_KEYS = ['labels', 'labelColumns', 'key', 'pathColumn', 'patientColumn', 'positive', 'uncertainty'] as const;

/** Reads a JSON or YAML config file (the same keys as TrainConfig / the CLI's long options). */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError('config', 'a readable JSON or YAML file', `${path} (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new OptionError('config', 'valid JSON or YAML', `${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OptionError('config', 'a mapping of options', path);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) out[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as Partial<TrainConfig>;
}

/**
 * Defaults applied (defaultsFor: the phantom recipe when no data is given) and every option checked;
 * throws OptionError naming the first bad one. A config recorded whole (a checkpoint's) passes
 * TRAIN_DEFAULTS so that nothing it left out is filled from the phantom recipe.
 */
export function resolveTrainConfig(
  input: Partial<TrainConfig> & { out: string },
  defaults: TrainDefaults = defaultsFor(input ?? {}),
): TrainConfig {
  if (typeof input !== 'object' || input === null) throw new OptionError('config', 'an options object', input);
  const known = new Set([...Object.keys(TRAIN_DEFAULTS), 'out', 'crop', 'data', 'task', 'n', 'threads', 'cacheDir', 'maxSteps', 'valLimit', 'testLimit', 'initMoments', 'excludeExperiment', 'excludeNGrid', ...DATASET_KEYS, 'keepResume', 'force']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new OptionError(key, `a known option (${[...known].sort().join(', ')})`, key);
  }
  const c = { ...defaults, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as TrainConfig;
  // Absolute paths, so the checkpoint's record of the run works from any folder.
  if (c.data !== undefined) c.data = resolve(expectString(c.data, 'data'));
  if (c.labels !== undefined) c.labels = resolve(expectString(c.labels, 'labels'));
  if (c.cacheDir !== undefined) c.cacheDir = resolve(expectString(c.cacheDir, 'cacheDir'));
  expectOneOf(c.format, 'format', DATASET_FORMATS);
  for (const k of ['labels', 'key', 'pathColumn', 'patientColumn', 'positive'] as const) if (c[k] !== undefined) expectString(c[k], k);
  if (c.labelColumns !== undefined) {
    if (typeof c.labelColumns === 'string') c.labelColumns = (c.labelColumns as string).split(',').map((s) => s.trim()).filter(Boolean);
    if (!Array.isArray(c.labelColumns) || c.labelColumns.length === 0) throw new OptionError('labelColumns', 'one or more column names', c.labelColumns);
    c.labelColumns.forEach((l) => expectString(l, 'labelColumns'));
  }
  if (c.uncertainty !== undefined) expectOneOf(c.uncertainty, 'uncertainty', UNCERTAINTY_POLICIES);
  if (c.task !== undefined) {
    if (typeof c.task === 'string') c.task = (c.task as string).split(',').map((s) => s.trim()).filter(Boolean);
    if (!Array.isArray(c.task) || c.task.length === 0) throw new OptionError('task', 'one or more label names', c.task);
    c.task.forEach((t, i) => expectString(t, `task[${i}]`));
  }
  if (c.n !== undefined) expectInteger(c.n, 'n', 2);
  expectOneOf(c.split, 'split', SPLIT_MODES);
  expectOneOf(c.arch, 'arch', ARCHS);
  expectString(c.init, 'init');
  expectOneOf(c.strategy, 'strategy', STRATEGIES);
  expectOneOf(c.policy, 'policy', POLICIES);
  expectOneOf(c.optimizer, 'optimizer', OPTIMIZERS);
  expectInteger(c.epochs, 'epochs', 1, 100000);
  expectInteger(c.batchSize, 'batchSize', 1, 4096);
  if (c.maxLr !== 'auto') expectNumber(c.maxLr, 'maxLr', 0, 100, { exclusiveMin: true });
  expectOneOf(c.lrRule, 'lrRule', LR_RULES);
  expectNumber(c.finalDiv, 'finalDiv', 1);
  expectNumber(c.divFactor, 'divFactor', 1);
  expectOneOf(c.convention, 'convention', ONE_CYCLE_CONVENTIONS);
  if (!Array.isArray(c.momentum) || c.momentum.length !== 2) throw new OptionError('momentum', 'two numbers [high, low], e.g. [0.95, 0.85]', c.momentum);
  c.momentum.forEach((m, i) => expectNumber(m, `momentum[${i}]`, 0, 0.999999));
  expectNumber(c.weightDecay, 'weightDecay', 0, 1);
  expectBoolean(c.nesterov, 'nesterov');
  if (c.nesterov && c.optimizer !== 'sgd') throw new OptionError('nesterov', "false unless optimizer is 'sgd'", c.nesterov);
  expectInteger(c.imageSize, 'imageSize', 32, 4096);
  c.crop ??= defaultCrop(c.imageSize);
  expectInteger(c.crop, 'crop', 32, c.imageSize);
  if (c.inChannels !== 1 && c.inChannels !== 3) throw new OptionError('inChannels', '1 or 3', c.inChannels);
  expectOneOf(c.greyMode, 'greyMode', GREY_MODES);
  expectNumber(c.dropout, 'dropout', 0, 0.99);
  expectOneOf(c.frozenBatchNorm, 'frozenBatchNorm', FROZEN_BATCHNORM);
  expectInteger(c.tta, 'tta', 0, 64);
  expectInteger(c.seed, 'seed', 0, 2 ** 32 - 1);
  expectDevice(c.device);
  if (c.channelsLast !== 'auto') expectBoolean(c.channelsLast, 'channelsLast');
  if (c.threads !== undefined) expectInteger(c.threads, 'threads', 1, 4096);
  expectString(c.out, 'out');
  expectBoolean(c.resume, 'resume');
  if (c.keepResume !== undefined) expectBoolean(c.keepResume, 'keepResume');
  if (c.force !== undefined) expectBoolean(c.force, 'force');
  if (c.maxSteps !== undefined) expectInteger(c.maxSteps, 'maxSteps', 1);
  if (c.valLimit !== undefined) expectInteger(c.valLimit, 'valLimit', 2);
  if (c.testLimit !== undefined) expectInteger(c.testLimit, 'testLimit', 2);
  if (c.initMoments !== undefined) expectBoolean(c.initMoments, 'initMoments');
  expectOneOf(c.momentsScope, 'momentsScope', MOMENTS_SCOPES);
  if (c.excludeExperiment !== undefined) expectString(c.excludeExperiment, 'excludeExperiment');
  if (c.excludeNGrid !== undefined) {
    if (!Array.isArray(c.excludeNGrid) || c.excludeNGrid.length === 0) throw new OptionError('excludeNGrid', 'a non-empty array of training-set sizes', c.excludeNGrid);
    c.excludeNGrid.forEach((n, i) => expectInteger(n, `excludeNGrid[${i}]`, 2));
  }
  if (c.excludeNGrid !== undefined && c.excludeExperiment === undefined) throw new OptionError('excludeNGrid', 'no value without excludeExperiment', c.excludeNGrid);
  return c;
}
