/**
 * The options of one training run (`torchxfer train` and `train()`), their defaults and validation.
 * Defaults follow docs/protocol.md; every one can be changed.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';

import YAML from 'yaml';

import { type DatasetFormat } from '../data/datasets/index.js';
import { OptionError } from '../errors.js';
import { type Arch, type FrozenBatchNormPolicy, type GreyMode } from '../model.js';
import { type OneCycleConvention, type Strategy } from '../schedule/index.js';
import {
  checkOption,
  checkRecipeRules,
  LR_RULES,
  MOMENTS_SCOPES,
  OPTIMIZERS,
  POLICIES,
  RECIPE,
  RECIPE_NAMES,
  recipeOption,
  SPLIT_MODES,
  UNCERTAINTY_POLICIES,
  type RecipeName,
  type RecipeOption,
} from './recipe.js';

// The enums live with the recipe (src/train/recipe.ts); re-exported where they were.
export { LR_RULES, MOMENTS_SCOPES, OPTIMIZERS, POLICIES, SPLIT_MODES, UNCERTAINTY_POLICIES } from './recipe.js';
export type Policy = (typeof POLICIES)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type LrRule = (typeof LR_RULES)[number];

/** The options of one run; each one's type, range, default and help text are its entry in RECIPE. */
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
  /**
   * 'none' (torchvision's init), 'imagenet', 'moments' (of ImageNet), a registry name, or a weights/checkpoint file.
   */
  init: string;
  strategy: Strategy;
  policy: Policy;
  optimizer: OptimizerName;
  epochs: number;
  batchSize: number;
  /** A number, or 'auto' to run the LR finder first (the paper: the loss minimum). */
  maxLr: number | 'auto';
  /**
   * How 'auto' picks from the finder's curve (default 'minimum', the paper's; fastai's 'valley' is recorded beside it).
   */
  lrRule: LrRule;
  /** one-cycle: final LR = maxLr / finalDiv (protocol: 25000; the authors' code 250000). */
  finalDiv: number;
  divFactor: number;
  convention: OneCycleConvention;
  /** one-cycle momentum range [high, low]; the regular policy keeps momentum at REGULAR_MOMENTUM (0.9). */
  momentum: [number, number];
  weightDecay: number;
  nesterov: boolean;
  /**
   * Image side stored in the cache (protocol: 250) and the training crop (default: defaultCrop(imageSize), 236 for
   * 250).
   */
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

/**
 * The protocol's crop for an image side: 236 of 250 (the crop follows the size unless given), never
 * below the smallest crop (so the smallest image sizes, 32 and 33, have a crop).
 */
export function defaultCrop(imageSize: number): number {
  return Math.min(imageSize, Math.max(RECIPE.crop.min, Math.round((imageSize * 236) / 250)));
}

/** Defaults of every option but `crop`, which follows `imageSize` (defaultCrop) unless given: RECIPE's. */
export const TRAIN_DEFAULTS = Object.fromEntries(
  RECIPE_NAMES.flatMap((name) => {
    const d = (RECIPE[name] as RecipeOption).default;
    return d === undefined ? [] : [[name, Array.isArray(d) ? [...(d as unknown[])] : d]];
  }),
) as Omit<TrainConfig, 'out' | 'crop'>;

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
export const DATASET_KEYS = [
  'labels',
  'labelColumns',
  'key',
  'pathColumn',
  'patientColumn',
  'positive',
  'uncertainty',
] as const;

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
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new OptionError('config', 'a mapping of options', path);
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
  for (const key of Object.keys(input)) {
    if (!recipeOption(key)) throw new OptionError(key, `a known option (${[...RECIPE_NAMES].sort().join(', ')})`, key);
  }
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const c: Record<string, unknown> = { ...defaults, ...given };
  if (c.crop === undefined && typeof c.imageSize === 'number') c.crop = defaultCrop(c.imageSize);
  checkOption('out', c.out);
  for (const name of RECIPE_NAMES) {
    if (c[name] === undefined) continue;
    c[name] = checkOption(name, c[name]);
    // Absolute paths, so the checkpoint's record of the run works from any folder.
    if (RECIPE[name].kind === 'path') c[name] = resolve(c[name] as string);
  }
  checkRecipeRules(c);
  return c as unknown as TrainConfig;
}

// Every TrainConfig key has its RECIPE entry, and every entry is a TrainConfig key (a compile-time check).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const recipeIsTrainConfig: Same<keyof TrainConfig, RecipeName> = true;
void recipeIsTrainConfig;
