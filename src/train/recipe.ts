/**
 * The training recipe: every option of one training run, once, with its type, range, default, help text
 * and where it may be written. Everything else is derived from this table:
 * - the CLI's flags (`commands/options.ts`: --kebab-case of the name, unless `cli: false`);
 * - the library's checks (`resolveTrainConfig` in `train/config.ts`, `TRAIN_DEFAULTS`);
 * - a spec's arm fields (`arm`) and `options` keys (`specOption`), `experiments/spec.ts`, `spec-options.ts`;
 * - the old spellings specs may still use (`legacy`): read with a notice, and hashed into run keys as
 *   they were, so results databases keep resuming (`experiments/spellings.ts`);
 * - the Trainer's and inference's checks of the same options (`train/trainer.ts`, `train/inference.ts`).
 * A new training option is one entry here (and its use where the run reads it).
 */
import { DATASET_FORMATS } from '../data/datasets/index.js';
import { OptionError } from '../errors.js';
import { ARCHS, FROZEN_BATCHNORM, GREY_MODES } from '../model.js';
import { ONE_CYCLE_CONVENTIONS, STRATEGIES } from '../schedule/index.js';
import { expectBoolean, expectDevice, expectInteger, expectNumber, expectOneOf, expectString } from '../validate.js';

export const POLICIES = ['one-cycle', 'regular'] as const;
export const OPTIMIZERS = ['adam', 'sgd'] as const;
/** by-image: a random split with every image its own patient (data without patient ids; warned). */
export const SPLIT_MODES = ['official', 'random', 'by-image'] as const;
/** How `maxLr: 'auto'` picks from the finder's curve: the loss minimum (the paper), fastai's valley, minimum / 10. */
export const LR_RULES = ['valley', 'min-div-10', 'minimum'] as const;
export const UNCERTAINTY_POLICIES = ['ones', 'zeros', 'ignore'] as const;
/** conv: the convolution weights only (the paper randomises "the convolutional layers"); all: every tensor. */
export const MOMENTS_SCOPES = ['conv', 'all'] as const;

/**
 * integer/number: within [min, max] (or one of `words`); enum: one of `choices`; path: a non-empty
 * string made absolute by resolveTrainConfig; list: names, as an array or comma-separated; pair: two
 * numbers within [min, max]; sizes: training-set sizes (integers >= min).
 */
export type RecipeKind =
  'integer' | 'number' | 'boolean' | 'enum' | 'string' | 'path' | 'device' | 'list' | 'pair' | 'sizes';
export type RecipeGroup = 'Dataset' | 'Model' | 'Training' | 'Evaluation' | 'Runtime' | 'Output';

export interface RecipeOption {
  kind: RecipeKind;
  /** Where `--help` lists its flag. */
  group: RecipeGroup;
  /** The one help text (CLI --help, docs); the default is appended from `default` / `defaultText`. */
  help: string;
  choices?: readonly (string | number)[];
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  /** Words accepted instead of a number or boolean (maxLr and channelsLast: 'auto'). */
  words?: readonly string[];
  /** The default of `torchxfer train` and `train({...})` (absent: the option is optional). */
  default?: unknown;
  /** The default in words, where it is not one value (crop follows imageSize). */
  defaultText?: string;
  /**
   * false: no CLI flag of its own (library and specs only, or a flag of the same name belongs to another
   * command's vocabulary). perCommandDefault: commands give their own default (tta: train 4, eval 0).
   */
  cli?: false | { perCommandDefault: true };
  /** A field of a spec's arm (base, arms, stage values, a source's `train`). */
  arm?: true;
  /** A key of a spec dataset's or arm's `options`. */
  specOption?: true;
  /** How specs wrote it before: an old key (in `options`) and old values, as [old, canonical] pairs. */
  legacy?: { key?: string; values?: readonly (readonly [unknown, unknown])[] };
}

const list = (xs: readonly (string | number)[]) => xs.join(' | ');

/**
 * Every training option (TrainConfig's keys, `satisfies` checks none is missing or extra). Defaults
 * follow docs/protocol.md.
 */
export const RECIPE = {
  // Dataset: what to read and how (a spec names the dataset in its targets and sources).
  data: {
    kind: 'path',
    group: 'Dataset',
    help:
      'Dataset: its folder, or a labels CSV of paths (train, lr-find: omit for the built-in SIMULATED ' +
      'phantom chest set)',
  },
  format: {
    kind: 'enum',
    group: 'Dataset',
    choices: DATASET_FORMATS,
    default: 'auto',
    help:
      `Dataset layout: ${list(DATASET_FORMATS)} (auto: recognised from what is there, and said in one line; ` +
      `a format given that does not fit is an error naming what was found)`,
  },
  labels: {
    kind: 'path',
    group: 'Dataset',
    specOption: true,
    legacy: { key: 'labelsCsv' },
    help:
      "Label CSV: a key column and one 0/1 column per label (dicom: keyed by 'file' or --key, default " +
      "labels.csv or the only CSV at the tree's top; radiomics: by 'file')",
  },
  labelColumns: {
    kind: 'list',
    group: 'Dataset',
    specOption: true,
    defaultText: 'every column that is not a key, path, patient or split column',
    help: 'Label columns to read, comma-separated',
  },
  key: {
    kind: 'string',
    group: 'Dataset',
    specOption: true,
    defaultText: 'file',
    help:
      "dicom: what keys the label CSV: 'file' (path relative to --data, or the bare name) or a DICOM " +
      'keyword such as SOPInstanceUID',
  },
  pathColumn: {
    kind: 'string',
    group: 'Dataset',
    specOption: true,
    defaultText: 'path',
    help: 'csv: the column of image paths, relative to the CSV or absolute',
  },
  patientColumn: {
    kind: 'string',
    group: 'Dataset',
    specOption: true,
    defaultText: 'patient when present; else dicom: the PatientID tag, csv: one patient per image',
    help: "csv, dicom: the labels CSV's column of patient ids, never read as a label",
  },
  positive: {
    kind: 'string',
    group: 'Dataset',
    specOption: true,
    help:
      'folder: the class folder that is the positive class (needed unless the other is named normal, ' +
      'negative, healthy, ...)',
  },
  uncertainty: {
    kind: 'enum',
    group: 'Dataset',
    specOption: true,
    choices: UNCERTAINTY_POLICIES,
    defaultText: 'per label, as the paper',
    help: `chexpert: one policy for uncertain (-1) labels: ${list(UNCERTAINTY_POLICIES)}`,
  },
  split: {
    kind: 'enum',
    group: 'Dataset',
    specOption: true,
    choices: SPLIT_MODES,
    default: 'official',
    help:
      "How the test set is chosen: official (the dataset's own list; datasets without one fall back to " +
      'random, and say so) | random (70/10/20 by patient) | by-image (70/10/20 by image, for data without ' +
      "patient ids: one patient's images may cross splits, with a warning)",
  },
  task: {
    kind: 'list',
    group: 'Dataset',
    defaultText: 'all labels; phantoms: Cardiomegaly',
    help: 'Label(s) to learn, comma-separated; one label = a binary task',
  },
  // At most 10 million: a spec's nGrid (a results database from anyone) must not plan absurd sizes.
  n: {
    kind: 'integer',
    group: 'Dataset',
    min: 2,
    max: 10_000_000,
    defaultText: 'all',
    help: 'Training-set size (binary: balanced 50/50; multi-label: first N of a seeded shuffle)',
  },
  cacheDir: {
    kind: 'path',
    group: 'Dataset',
    defaultText: '$TORCHXFER_CACHE or ~/.cache/torchxfer',
    help: "torchxfer's cache root: decoded images in images/, phantoms in phantoms/, weights in weights/",
  },
  valLimit: {
    kind: 'integer',
    group: 'Dataset',
    min: 2,
    cli: false,
    specOption: true,
    legacy: { key: 'valSize' },
    defaultText: 'all',
    help: 'Cap the validation set at this many images (a seeded prefix; quick experiments)',
  },
  testLimit: {
    kind: 'integer',
    group: 'Dataset',
    min: 2,
    cli: false,
    specOption: true,
    legacy: { key: 'testSize' },
    defaultText: 'all',
    help: 'Cap the test set at this many images (a seeded prefix; quick experiments)',
  },
  excludeExperiment: {
    kind: 'string',
    group: 'Dataset',
    cli: false,
    specOption: true,
    legacy: { key: 'negativeFor' },
    help:
      'A ChestX-ray13-style source: drop every image positive for this label and every image its binary ' +
      'experiment (same seed and split) uses at any N of excludeNGrid, and learn the other labels',
  },
  excludeNGrid: {
    kind: 'sizes',
    group: 'Dataset',
    min: 2,
    cli: false,
    specOption: true,
    defaultText: 'set by the planner',
    help: 'The N grid of that experiment (its training subsets are excluded at every N); only with excludeExperiment',
  },

  // Model.
  arch: {
    kind: 'enum',
    group: 'Model',
    arm: true,
    choices: ARCHS,
    default: 'densenet121',
    help: `Architecture: ${list(ARCHS)}`,
  },
  init: {
    kind: 'string',
    group: 'Model',
    default: 'imagenet',
    defaultText: 'imagenet; phantoms: none',
    help:
      'Initial weights: none | imagenet | moments | <registry name> | <weights or checkpoint file, checked ' +
      'against --arch before any image is decoded>',
  },
  initMoments: {
    kind: 'boolean',
    group: 'Model',
    cli: false,
    help: 'After loading --init weights, replace them by their "moments" (Raghu et al.)',
  },
  momentsScope: {
    kind: 'enum',
    group: 'Model',
    specOption: true,
    choices: MOMENTS_SCOPES,
    default: 'conv',
    help:
      "--init moments (and a source's moments): re-draw the convolution weights (conv, the paper) or every " +
      'tensor (all)',
  },
  inChannels: { kind: 'enum', group: 'Model', choices: [1, 3], default: 1, help: 'Model input channels: 1 | 3' },
  greyMode: {
    kind: 'enum',
    group: 'Model',
    choices: GREY_MODES,
    default: 'sum',
    help: `1-channel input with RGB weights: ${list(GREY_MODES)} (sum the first conv, or replicate the image)`,
  },
  dropout: { kind: 'number', group: 'Model', min: 0, max: 0.99, default: 0, help: 'Dropout before the head' },
  frozenBatchNorm: {
    kind: 'enum',
    group: 'Model',
    choices: FROZEN_BATCHNORM,
    default: 'update-stats',
    help: `BatchNorm in frozen groups: ${list(FROZEN_BATCHNORM)} (update-stats: as the authors)`,
  },
  imageSize: {
    kind: 'integer',
    group: 'Model',
    specOption: true,
    min: 32,
    max: 4096,
    default: 250,
    help: 'Stored (cached) image side in pixels',
  },
  crop: {
    kind: 'integer',
    group: 'Model',
    specOption: true,
    min: 32,
    max: 4096,
    defaultText: 'image size x 236/250, 236 for 250',
    help: 'Training crop side in pixels, <= the image size',
  },

  // Training.
  strategy: {
    kind: 'enum',
    group: 'Training',
    arm: true,
    choices: STRATEGIES,
    default: 'gradual-unfreeze',
    legacy: { values: [['gradual', 'gradual-unfreeze']] },
    help: `Transfer strategy over the 3 layer groups: ${list(STRATEGIES)}`,
  },
  policy: {
    kind: 'enum',
    group: 'Training',
    arm: true,
    choices: POLICIES,
    default: 'one-cycle',
    legacy: { values: [['onecycle', 'one-cycle']] },
    help: `Learning-rate policy: ${list(POLICIES)}`,
  },
  optimizer: {
    kind: 'enum',
    group: 'Training',
    arm: true,
    choices: OPTIMIZERS,
    default: 'adam',
    help: `Optimiser: ${list(OPTIMIZERS)}`,
  },
  epochs: { kind: 'integer', group: 'Training', arm: true, min: 1, max: 100000, default: 20, help: 'Epochs' },
  batchSize: { kind: 'integer', group: 'Training', arm: true, min: 1, max: 4096, default: 16, help: 'Batch size' },
  maxLr: {
    kind: 'number',
    group: 'Training',
    arm: true,
    min: 0,
    max: 100,
    exclusiveMin: true,
    words: ['auto'],
    default: 'auto',
    legacy: { values: [['find', 'auto']] },
    help:
      'Peak (one-cycle) or starting (regular) learning rate, or auto: run the LR finder first and pick by ' +
      '--lr-rule',
  },
  lrRule: {
    kind: 'enum',
    group: 'Training',
    specOption: true,
    choices: LR_RULES,
    default: 'minimum',
    help:
      "How --max-lr auto picks from the LR finder's curve: minimum (the paper) | valley (fastai) | " +
      'min-div-10 (loss minimum / 10); the others are logged beside it',
  },
  finalDiv: {
    kind: 'number',
    group: 'Training',
    min: 1,
    default: 25000,
    help: "One-cycle final learning rate = max-lr / final-div (the authors' code used 250000)",
  },
  divFactor: {
    kind: 'number',
    group: 'Training',
    min: 1,
    default: 25,
    help: 'One-cycle starting learning rate = max-lr / div-factor',
  },
  convention: {
    kind: 'enum',
    group: 'Training',
    choices: ONE_CYCLE_CONVENTIONS,
    default: 'paper',
    help: `One-cycle formula: ${list(ONE_CYCLE_CONVENTIONS)} (paper: eq. 1; pytorch: OneCycleLR)`,
  },
  // The CLI's --momentum is the schedule command's constant (regular) momentum, another option.
  momentum: {
    kind: 'pair',
    group: 'Training',
    min: 0,
    max: 0.999999,
    cli: false,
    default: [0.95, 0.85],
    help: 'One-cycle momentum range [high, low]; the regular policy keeps momentum at 0.9',
  },
  weightDecay: {
    kind: 'number',
    group: 'Training',
    min: 0,
    max: 1,
    default: 0,
    help: 'Decoupled weight decay, none on biases and BatchNorm',
  },
  nesterov: { kind: 'boolean', group: 'Training', default: false, help: 'Nesterov momentum (SGD only)' },
  seed: {
    kind: 'integer',
    group: 'Training',
    min: 0,
    max: 2 ** 32 - 1,
    default: 0,
    help: 'Random seed (same seed, same result)',
  },
  maxSteps: { kind: 'integer', group: 'Training', min: 1, help: 'Stop after this many optimiser steps (quick looks)' },
  resume: {
    kind: 'boolean',
    group: 'Training',
    default: false,
    help: 'Continue the interrupted run in --out with its saved options (differences from them are listed)',
  },
  keepResume: {
    kind: 'boolean',
    group: 'Training',
    defaultText: 'removed',
    help: 'Keep the resumable state (resume/) after a finished run',
  },
  force: {
    kind: 'boolean',
    group: 'Training',
    help: 'Write into a non-empty --out that is not a torchxfer run folder (files already there are never replaced)',
  },

  // Evaluation.
  tta: {
    kind: 'integer',
    group: 'Evaluation',
    arm: true,
    min: 0,
    max: 64,
    default: 4,
    cli: { perCommandDefault: true },
    legacy: {
      values: [
        [true, 4],
        [false, 0],
      ],
    },
    defaultText: 'train 4; eval, predict 0',
    help: 'Test-time augmentation: augmented copies averaged with the centre crop, 0 = off',
  },

  // Runtime.
  device: {
    kind: 'device',
    group: 'Runtime',
    default: 'auto',
    help: 'cpu | cuda | cuda:N | auto (auto: CUDA when available)',
  },
  // 0 sets nothing (all cores), as data synth's 0 draws in the main thread.
  threads: {
    kind: 'integer',
    group: 'Runtime',
    min: 0,
    max: 4096,
    defaultText: 'all cores',
    help: 'CPU threads (0: the default; data synth: 0 draws in the main thread)',
  },
  channelsLast: {
    kind: 'boolean',
    group: 'Runtime',
    words: ['auto'],
    default: 'auto',
    defaultText: 'on',
    help: 'channels_last memory format',
  },
  // Output: the CLI's --out is shared by every command that writes (its table entry, not this one).
  out: { kind: 'string', group: 'Output', cli: false, help: 'Where the run writes its checkpoint, metrics and plots' },
} as const satisfies Record<string, RecipeOption>;

export type RecipeName = keyof typeof RECIPE;
export const RECIPE_NAMES = Object.keys(RECIPE) as RecipeName[];

/** The recipe entry of `name`, or undefined when it is not a training option. */
export function recipeOption(name: string): RecipeOption | undefined {
  return Object.hasOwn(RECIPE, name) ? (RECIPE as Record<string, RecipeOption>)[name] : undefined;
}

type Marked<F extends string> = {
  [K in RecipeName]: (typeof RECIPE)[K] extends Record<F, true> ? K : never;
}[RecipeName];
export type ArmField = Marked<'arm'>;
export type SpecOptionKey = Marked<'specOption'>;
/** The options a spec arm sets (arch, strategy, policy, optimizer, epochs, batchSize, maxLr, tta). */
export const ARM_FIELDS = RECIPE_NAMES.filter((n): n is ArmField => (RECIPE[n] as RecipeOption).arm === true);
/** The training options a spec writes in a dataset's or arm's `options`. */
export const SPEC_OPTION_KEYS = RECIPE_NAMES.filter(
  (n): n is SpecOptionKey => (RECIPE[n] as RecipeOption).specOption === true,
);

/** The default in words, for help texts and docs. */
export function defaultWords(o: RecipeOption): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText;
  if (o.default === undefined) return undefined;
  return Array.isArray(o.default) ? `[${o.default.join(', ')}]` : String(o.default);
}

function expectNames(value: unknown, label: string): string[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(items) || items.length === 0)
    throw new OptionError(label, 'one or more names (a list, or comma-separated)', value);
  items.forEach((x, i) => expectString(x, `${label}[${i}]`));
  return items as string[];
}

function expectRanged(o: RecipeOption, value: unknown, label: string): number {
  if (o.kind === 'integer') return expectInteger(value, label, o.min, o.max);
  return expectNumber(value, label, o.min, o.max, { exclusiveMin: o.exclusiveMin });
}

/**
 * One option's value checked against its entry; `label` names it in the error (the option, a spec
 * path, a --flag). Returns the value (lists split when comma-separated). Cross-option rules are
 * `checkRecipeRules`'.
 */
export function checkOption<K extends RecipeName>(name: K, value: unknown, label: string = name): unknown {
  const o = RECIPE[name] as RecipeOption;
  if (o.words !== undefined && typeof value === 'string' && o.words.includes(value)) return value;
  const orWords = (what: string) => (o.words ? `${what} or ${o.words.map((w) => `'${w}'`).join(', ')}` : what);
  switch (o.kind) {
    case 'integer':
    case 'number':
      if (o.words && typeof value !== 'number')
        throw new OptionError(label, orWords(o.kind === 'integer' ? 'an integer' : 'a number'), value);
      return expectRanged(o, value, label);
    case 'boolean':
      if (typeof value !== 'boolean') throw new OptionError(label, orWords('a boolean'), value);
      return expectBoolean(value, label);
    case 'enum':
      if (typeof o.choices![0] === 'number') {
        if (!o.choices!.includes(value as number)) throw new OptionError(label, o.choices!.join(' or '), value);
        return value;
      }
      return expectOneOf(value, label, o.choices as readonly string[]);
    case 'string':
    case 'path':
      return expectString(value, label);
    case 'device':
      return expectDevice(value, label);
    case 'list':
      return expectNames(value, label);
    case 'pair':
      if (!Array.isArray(value) || value.length !== 2)
        throw new OptionError(label, 'two numbers [high, low], e.g. [0.95, 0.85]', value);
      value.forEach((m, i) => expectRanged(o, m, `${label}[${i}]`));
      return value;
    case 'sizes':
      if (!Array.isArray(value) || value.length === 0)
        throw new OptionError(label, 'a non-empty array of training-set sizes', value);
      value.forEach((n, i) => expectInteger(n, `${label}[${i}]`, o.min));
      return value;
  }
}

/** Nesterov momentum is SGD's (the one rule, for the config and the Trainer alike). */
export function checkNesterov(nesterov: unknown, optimizer: unknown): void {
  if (nesterov === true && optimizer !== 'sgd')
    throw new OptionError('nesterov', "false unless optimizer is 'sgd'", nesterov);
}

/**
 * The rules between options of a whole config: nesterov needs SGD, the crop fits the image, excludeNGrid
 * needs its experiment.
 */
export function checkRecipeRules(c: {
  nesterov?: unknown;
  optimizer?: unknown;
  crop?: unknown;
  imageSize?: unknown;
  excludeNGrid?: unknown;
  excludeExperiment?: unknown;
}): void {
  checkNesterov(c.nesterov, c.optimizer);
  if (typeof c.crop === 'number' && typeof c.imageSize === 'number')
    expectInteger(c.crop, 'crop', RECIPE.crop.min, c.imageSize);
  if (c.excludeNGrid !== undefined && c.excludeExperiment === undefined)
    throw new OptionError('excludeNGrid', 'no value without excludeExperiment', c.excludeNGrid);
}
