/**
 * The CLI's one vocabulary: every option of every command, with its one type and its one meaning (help
 * text). Commands pick options from this table by name, so a flag means the same everywhere; values are
 * checked here, so errors name the flag as the user typed it and quote the raw value
 * ("Expected an integer >= 1 for --epochs but received 'banana'").
 */
import type { Argv, Options } from 'yargs';

import { DATASET_FORMATS } from '../data/datasets/index.js';
import { describe as describeValue, OptionError } from '../errors.js';
import { ARCHS, FROZEN_BATCHNORM, GREY_MODES } from '../model.js';
import { ONE_CYCLE_CONVENTIONS, STRATEGIES } from '../schedule/index.js';
import { defaultCrop, LR_RULES, MOMENTS_SCOPES, OPTIMIZERS, POLICIES, SPLIT_MODES, TRAIN_DEFAULTS as D } from '../train/config.js';
import { expectDevice, expectInteger, expectNumber, expectOneOf } from '../validate.js';

export type OptionKind = 'string' | 'boolean' | 'integer' | 'number' | 'enum' | 'list';
export type OptionGroup = 'Dataset' | 'Model' | 'Training' | 'Evaluation' | 'Runtime' | 'Output' | 'Command';

export interface OptionSpec {
  kind: OptionKind;
  group: OptionGroup;
  /** The one help text of this flag, whichever command takes it. */
  meaning: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  /** Words accepted instead of a number (--max-lr auto). */
  words?: readonly string[];
  /** Enum values that are numbers on the way out (--in-channels 1|3). */
  numeric?: boolean;
  /** The default yargs applies where a command asks for it (the same in every such command). */
  default?: unknown;
  alias?: string;
  /** The default may differ per command (where outputs go). */
  perCommandDefault?: boolean;
}

const list = (xs: readonly (string | number)[]) => xs.join(' | ');

/** Every option of every command. Adding an option: add it here, then name it in the command. */
export const OPTIONS: Record<string, OptionSpec> = {
  // Dataset: what to read and how (train, lr-find, eval, data inspect/cache; spec `data` entries take the same keys).
  data: { kind: 'string', group: 'Dataset', meaning: 'Dataset: its folder, or a labels CSV of paths (train, lr-find: omit for the built-in SIMULATED phantom chest set)' },
  format: { kind: 'enum', group: 'Dataset', choices: DATASET_FORMATS, meaning: `Dataset layout: ${list(DATASET_FORMATS)} (default ${D.format}: recognised from what is there, and said in one line; a format given that does not fit is an error naming what was found)` },
  labels: { kind: 'string', group: 'Dataset', meaning: "Label CSV: a key column and one 0/1 column per label (dicom: keyed by 'file' or --key, default labels.csv or the only CSV at the tree's top; radiomics: by 'file')" },
  'label-columns': { kind: 'list', group: 'Dataset', meaning: 'Label columns to read, comma-separated (default: every column that is not a key, path, patient or split column)' },
  key: { kind: 'string', group: 'Dataset', meaning: "dicom: what keys the label CSV: 'file' (path relative to --data, or the bare name; default) or a DICOM keyword such as SOPInstanceUID" },
  'path-column': { kind: 'string', group: 'Dataset', meaning: 'csv: the column of image paths, relative to the CSV or absolute (default path)' },
  'patient-column': { kind: 'string', group: 'Dataset', meaning: "csv, dicom: the labels CSV's column of patient ids, never read as a label (default patient when present; else dicom: the PatientID tag, csv: one patient per image)" },
  positive: { kind: 'string', group: 'Dataset', meaning: 'folder: the class folder that is the positive class (needed unless the other is named normal, negative, healthy, ...)' },
  uncertainty: { kind: 'enum', group: 'Dataset', choices: ['ones', 'zeros', 'ignore'], meaning: 'chexpert: one policy for uncertain (-1) labels: ones | zeros | ignore (default: per label, as the paper)' },
  split: { kind: 'enum', group: 'Dataset', choices: SPLIT_MODES, meaning: `How the test set is chosen: official (the dataset's own list; datasets without one fall back to random, and say so) | random (70/10/20 by patient) | by-image (70/10/20 by image, for data without patient ids: one patient's images may cross splits, with a warning) (default ${D.split})` },
  task: { kind: 'list', group: 'Dataset', meaning: 'Label(s) to learn, comma-separated; one label = a binary task (default: all labels; phantoms: Cardiomegaly)' },
  n: { kind: 'integer', group: 'Dataset', min: 2, meaning: 'Training-set size (binary: balanced 50/50; multi-label: first N of a seeded shuffle; default: all)' },
  'cache-dir': { kind: 'string', group: 'Dataset', meaning: "torchxfer's cache root: decoded images in images/, phantoms in phantoms/, weights in weights/ (default $TORCHXFER_CACHE or ~/.cache/torchxfer)" },

  // Model.
  arch: { kind: 'enum', group: 'Model', choices: ARCHS, meaning: `Architecture: ${list(ARCHS)} (default ${D.arch})` },
  init: { kind: 'string', group: 'Model', meaning: `Initial weights: none | imagenet | moments | <registry name> | <weights or checkpoint file, checked against --arch before any image is decoded> (default ${D.init}; phantoms: none)` },
  'in-channels': { kind: 'enum', group: 'Model', choices: ['1', '3'], numeric: true, meaning: `Model input channels: 1 | 3 (default ${D.inChannels})` },
  'grey-mode': { kind: 'enum', group: 'Model', choices: GREY_MODES, meaning: `1-channel input with RGB weights: ${list(GREY_MODES)} (sum the first conv, or replicate the image; default ${D.greyMode})` },
  dropout: { kind: 'number', group: 'Model', min: 0, max: 0.99, meaning: 'Dropout before the head (default 0)' },
  'frozen-batch-norm': { kind: 'enum', group: 'Model', choices: FROZEN_BATCHNORM, meaning: `BatchNorm in frozen groups: ${list(FROZEN_BATCHNORM)} (default ${D.frozenBatchNorm}, as the authors)` },
  'image-size': { kind: 'integer', group: 'Model', min: 32, max: 4096, meaning: `Stored (cached) image side in pixels (default ${D.imageSize})` },
  crop: { kind: 'integer', group: 'Model', min: 32, max: 4096, meaning: `Training crop side in pixels, <= --image-size (default: --image-size x 236/250, ${defaultCrop(D.imageSize)} for ${D.imageSize})` },
  'moments-scope': { kind: 'enum', group: 'Model', choices: MOMENTS_SCOPES, meaning: `--init moments (and a source's moments): re-draw the convolution weights (conv, the paper) or every tensor (all) (default ${D.momentsScope})` },

  // Training.
  config: { kind: 'string', group: 'Training', meaning: 'JSON or YAML file with any of these options (flags given on the command line win)' },
  strategy: { kind: 'enum', group: 'Training', choices: STRATEGIES, meaning: `Transfer strategy over the 3 layer groups: ${list(STRATEGIES)} (default ${D.strategy})` },
  policy: { kind: 'enum', group: 'Training', choices: POLICIES, meaning: `Learning-rate policy: ${list(POLICIES)} (default ${D.policy})` },
  optimizer: { kind: 'enum', group: 'Training', choices: OPTIMIZERS, meaning: `Optimiser: ${list(OPTIMIZERS)} (default ${D.optimizer})` },
  epochs: { kind: 'integer', group: 'Training', min: 1, max: 100000, meaning: `Epochs (default ${D.epochs})` },
  'batch-size': { kind: 'integer', group: 'Training', min: 1, max: 4096, meaning: `Batch size (default ${D.batchSize})` },
  'max-lr': { kind: 'number', group: 'Training', min: 0, max: 100, exclusiveMin: true, words: ['auto'], meaning: `Peak (one-cycle) or starting (regular) learning rate, or auto: run the LR finder first and pick by --lr-rule (default ${D.maxLr})` },
  'lr-rule': { kind: 'enum', group: 'Training', choices: LR_RULES, meaning: `How --max-lr auto picks from the LR finder's curve: minimum (the paper) | valley (fastai) | min-div-10 (loss minimum / 10); the others are logged beside it (default ${D.lrRule})` },
  'final-div': { kind: 'number', group: 'Training', min: 1, meaning: `One-cycle final learning rate = max-lr / final-div (default ${D.finalDiv}; the authors' code used 250000)` },
  'div-factor': { kind: 'number', group: 'Training', min: 1, meaning: `One-cycle starting learning rate = max-lr / div-factor (default ${D.divFactor})` },
  'pct-start': { kind: 'number', group: 'Training', min: 0, max: 1, exclusiveMin: true, meaning: 'One-cycle: fraction of the steps spent warming up (default 0.3)' },
  convention: { kind: 'enum', group: 'Training', choices: ONE_CYCLE_CONVENTIONS, meaning: `One-cycle formula: ${list(ONE_CYCLE_CONVENTIONS)} (paper: eq. 1; pytorch: OneCycleLR) (default ${D.convention})` },
  momentum: { kind: 'number', group: 'Training', min: 0, max: 0.999999, meaning: 'Momentum of the regular policy (constant; default 0.9)' },
  'weight-decay': { kind: 'number', group: 'Training', min: 0, max: 1, meaning: 'Decoupled weight decay, none on biases and BatchNorm (default 0)' },
  nesterov: { kind: 'boolean', group: 'Training', meaning: 'Nesterov momentum (SGD only)' },
  seed: { kind: 'integer', group: 'Training', min: 0, max: 2 ** 32 - 1, meaning: `Random seed (same seed, same result; default ${D.seed})` },
  'max-steps': { kind: 'integer', group: 'Training', min: 1, meaning: 'Stop after this many optimiser steps (quick looks)' },
  iters: { kind: 'integer', group: 'Training', min: 1, max: 1e7, meaning: 'Total optimiser steps (epochs x batches per epoch)' },
  'val-losses': { kind: 'list', group: 'Training', meaning: 'Regular policy: validation loss per epoch, comma-separated (iters / epochs steps each)' },
  'num-iter': { kind: 'integer', group: 'Training', min: 5, max: 100000, meaning: 'LR finder: ramp steps (default 100)' },
  'start-lr': { kind: 'number', group: 'Training', min: 0, exclusiveMin: true, meaning: 'LR finder: first learning rate of the ramp (default 1e-7)' },
  'end-lr': { kind: 'number', group: 'Training', min: 0, exclusiveMin: true, meaning: 'LR finder: last learning rate of the ramp (default 10)' },
  resume: { kind: 'boolean', group: 'Training', meaning: 'Continue the interrupted run in --out with its saved options (differences from them are listed)' },
  'keep-resume': { kind: 'boolean', group: 'Training', meaning: 'Keep the resumable state (resume/) after a finished run (default: removed)' },
  force: { kind: 'boolean', group: 'Training', meaning: 'Write into a non-empty --out that is not a torchxfer run folder (files already there are never replaced)' },
  nproc: { kind: 'integer', group: 'Runtime', min: 1, max: 256, meaning: 'Data-parallel: N local worker processes (Gloo on 127.0.0.1), the global batch split between them' },

  // Evaluation.
  checkpoint: { kind: 'string', group: 'Evaluation', meaning: 'A checkpoint written by torchxfer train (best.safetensors); it carries everything needed to use it' },
  subset: { kind: 'enum', group: 'Evaluation', choices: ['test', 'val', 'train'], default: 'test', meaning: "Which part of the checkpoint's run to score: test | val | train" },
  tta: { kind: 'integer', group: 'Evaluation', min: 0, max: 64, meaning: `Test-time augmentation: augmented copies averaged with the centre crop, 0 = off (train default ${D.tta}; eval, predict default 0)`, perCommandDefault: true },

  // Runtime.
  device: { kind: 'string', group: 'Runtime', meaning: 'cpu | cuda | cuda:N | auto (default auto: CUDA when available)' },
  threads: { kind: 'integer', group: 'Runtime', min: 0, max: 4096, meaning: 'CPU threads (default: all cores; data synth: 0 draws in the main thread)' },
  'channels-last': { kind: 'boolean', group: 'Runtime', meaning: 'channels_last memory format (default: on)' },
  concurrency: { kind: 'integer', group: 'Runtime', min: 1, max: 1024, meaning: 'Images decoded at once (default: cores)' },

  // Output.
  out: { kind: 'string', group: 'Output', perCommandDefault: true, meaning: 'Where to write the output' },
  json: { kind: 'boolean', group: 'Output', default: false, meaning: 'Print (or write) JSON instead of text or CSV' },
  png: { kind: 'boolean', group: 'Output', default: true, meaning: 'Also write PNG copies of the figures' },

  // Command-specific, still one meaning each.
  kind: { kind: 'enum', group: 'Command', choices: ['chest', 'msk'], meaning: 'Phantom kind: chest (14 NIH findings) | msk (upper-limb films, normal/abnormal)' },
  count: { kind: 'integer', group: 'Command', min: 1, max: 1_000_000, meaning: 'Number of images to write' },
  size: { kind: 'integer', group: 'Command', min: 64, max: 1024, default: 256, meaning: 'Phantom image height in pixels (64..1024)' },
  'prevalence-boost': { kind: 'number', group: 'Command', min: 0, max: 0.5, meaning: 'chest: raise every finding to at least this prevalence (0..0.5)' },
  prevalence: { kind: 'list', group: 'Command', meaning: 'chest: set findings\' prevalences outright, Finding=fraction pairs comma-separated (e.g. Cardiomegaly=0.3; 0..0.9 each, after --prevalence-boost)' },
  verify: { kind: 'boolean', group: 'Command', default: false, meaning: 'Decode every image to find the unreadable ones (default: read headers only)' },
  symmetric: { kind: 'boolean', group: 'Command', default: false, meaning: 'Symmetric co-occurrence matrices (graycomatrix symmetric=True)' },
  width: { kind: 'integer', group: 'Command', min: 0, max: 65535, default: 250, meaning: 'Resize to this width keeping the aspect ratio (0: keep)' },
  height: { kind: 'integer', group: 'Command', min: 0, max: 65535, default: 0, meaning: 'Then centre-crop/zero-pad to this height (0: keep the resized height)' },
  train: { kind: 'string', group: 'Command', meaning: 'Training features (`torchxfer features --json` output)' },
  val: { kind: 'string', group: 'Command', meaning: 'Validation features, labelled from the same CSV: reports validation AUC' },
  'search-iters': { kind: 'integer', group: 'Command', min: 1, max: 10000, default: 20, meaning: 'Random-search draws per label' },
  folds: { kind: 'integer', group: 'Command', min: 2, max: 100, default: 5, meaning: 'Stratified CV folds' },
  db: { kind: 'string', group: 'Command', meaning: 'Results database (SQLite); default <experiment name>.db' },
  shard: { kind: 'string', group: 'Command', meaning: 'Run only shard i of n ("i/n": the jobs whose key hash mod n == i)' },
  'dry-run': { kind: 'boolean', group: 'Command', default: false, meaning: 'Print the jobs and their status without running them' },
  'allow-spec-change': { kind: 'boolean', group: 'Command', default: false, meaning: 'Accept a changed spec for an experiment already in the database (finished runs of unchanged jobs are kept)' },
  checkpoints: { kind: 'string', group: 'Command', meaning: 'Folder for source-task checkpoints (shared by shards); default <experiment name>.checkpoints beside the database' },
  'nih-root': { kind: 'string', group: 'Command', meaning: 'NIH ChestX-ray14 root for the paper preset (else NIH_ROOT)' },
  'chexpert-root': { kind: 'string', group: 'Command', meaning: 'CheXpert root for the paper preset (else CHEXPERT_ROOT)' },
  'mura-root': { kind: 'string', group: 'Command', meaning: 'MURA root for the paper preset (else MURA_ROOT)' },
  'same-anatomy-weights': { kind: 'string', group: 'Command', meaning: 'Paper preset: published chest X-ray DenseNet121 weights (registry name, e.g. densenet121-res224-chex, or a file) offered in Fig. 6 as one more source' },
  plan: { kind: 'boolean', group: 'Command', default: false, meaning: "Print every job of every figure with its training/validation/test sizes, counted from the datasets' lists (nothing is trained; images need not be present)" },
  estimate: { kind: 'boolean', group: 'Command', default: false, meaning: 'Measure step times on --device and estimate how long every job of every stage takes (nothing is trained)' },
  sizes: { kind: 'string', group: 'Command', meaning: 'With --estimate: JSON file {dataset: {train, val, test}} for datasets not on this machine' },
  manifest: { kind: 'string', group: 'Command', meaning: 'Weights manifest (default: the package one)' },
  name: { kind: 'string', group: 'Command', meaning: 'Registry name of the weights (default: the entry with this file name)' },
  keys: { kind: 'integer', group: 'Command', min: 0, default: 10, meaning: 'How many tensor names to list' },
};

/** The dataset options: what to read and how (every command that reads a dataset). */
export const DATASET_OPTIONS: OptionList = ['data', 'format', 'labels', 'label-columns', 'key', 'path-column', 'patient-column', 'positive', 'uncertainty', 'cache-dir'];
/** Which images a run trains, validates and tests on. */
export const SPLIT_OPTIONS: OptionList = ['split', 'task', 'n'];
export const MODEL_OPTIONS: OptionList = ['arch', 'init', 'moments-scope', 'in-channels', 'grey-mode', 'dropout', 'frozen-batch-norm', 'image-size', 'crop'];
export const TRAINING_OPTIONS: OptionList = ['config', 'strategy', 'policy', 'optimizer', 'epochs', 'batch-size', 'max-lr', 'lr-rule', 'final-div', 'weight-decay', 'nesterov', 'seed', 'max-steps'];
export const RUNTIME_OPTIONS: OptionList = ['device', 'threads', 'channels-last'];
/** Everything a training config takes from the command line (train and lr-find). */
export const RUN_OPTIONS: OptionList = [...DATASET_OPTIONS, ...SPLIT_OPTIONS, ...MODEL_OPTIONS, ...TRAINING_OPTIONS, ...RUNTIME_OPTIONS];

/** How one command takes an option: required, with the table default, or (for `out`) its own default. */
export interface OptionUse {
  required?: boolean;
  /** true: the table's default; a value: this command's (only for perCommandDefault options). */
  default?: unknown;
  /** What the option is for in this command, appended to the one meaning. */
  note?: string;
}
export type OptionList = (string | [string, OptionUse])[];

function spec(name: string): OptionSpec {
  const s = OPTIONS[name];
  if (!s) throw new Error(`option --${name} is not in the CLI vocabulary (src/commands/options.ts)`);
  return s;
}

function yargsOption(name: string, use: OptionUse): Options {
  const s = spec(name);
  const o: Options = { group: `${s.group} options:` };
  let describe = s.meaning;
  if (s.kind === 'boolean') o.type = 'boolean';
  else if (s.kind === 'string' || s.kind === 'list') o.type = 'string';
  else {
    // No yargs type: the value reaches check() as typed, so errors can quote it.
    o.requiresArg = true;
    describe += s.kind === 'enum' ? '' : `  [${s.kind}${s.words ? ` or ${s.words.join(' | ')}` : ''}]`;
  }
  if (use.note) describe += `. ${use.note}`;
  o.describe = describe;
  if (use.required) o.demandOption = true;
  if (use.default === true && s.default !== undefined) o.default = s.default;
  else if (use.default !== undefined && use.default !== true) {
    if (!s.perCommandDefault) throw new Error(`--${name} has one default (${String(s.default)}); a command cannot change it`);
    o.default = use.default;
  }
  if (s.alias) o.alias = s.alias;
  return o;
}

function entries(names: OptionList): [string, OptionUse][] {
  return names.map((n) => (typeof n === 'string' ? [n, {}] : n));
}

/** Flags renamed when the vocabulary was unified: what to type now. */
export const RENAMED: Record<string, string> = {
  format: '--json (output format; --format is the dataset layout)',
  'tta-copies': '--tta N (the number of augmented copies; 0 = off)',
  split: '--subset (which part of the run to score; --split is how the test set is chosen)',
  n: '--count (images to write; -n is the training-set size)',
  width: '--image-size (the cached image side, as train uses it)',
  height: '--image-size (the cached image side, as train uses it)',
};

/** The options of the command being parsed (yargs builds only that command), for "did you mean". */
let building: string[] = [];
export function optionsOfCurrentCommand(): string[] {
  return building;
}

/** Adds the named options to a command's parser. */
export function addOptions<T>(y: Argv<T>, names: OptionList): Argv<T> {
  building = entries(names).map(([n]) => n);
  let out = y;
  for (const [name, use] of entries(names)) out = out.option(name, yargsOption(name, use)) as Argv<T>;
  return out;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** One option's value from what the user typed, or an OptionError naming --flag and quoting the raw value. */
export function parseOption(name: string, raw: unknown): unknown {
  const s = spec(name);
  const flag = name.length === 1 ? `-${name}` : `--${name}`;
  if (Array.isArray(raw)) throw new Error(`Expected one value for ${flag} but received ${raw.length}: ${raw.map((v) => describeValue(v)).join(', ')} (the flag was given more than once)`);
  if (raw === undefined) return undefined;
  switch (s.kind) {
    case 'boolean':
      if (typeof raw !== 'boolean') throw new OptionError(flag, 'no value (a switch; --no-' + name + ' turns it off)', raw);
      return raw;
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) throw new OptionError(flag, 'a non-empty value', raw);
      if (name === 'device') return expectDevice(raw, flag);
      return raw;
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter(Boolean) : [];
      if (items.length === 0) throw new OptionError(flag, 'one or more comma-separated names', raw);
      return items;
    }
    case 'enum': {
      const v = expectOneOf(String(raw), flag, s.choices!);
      return s.numeric ? Number(v) : v;
    }
    default: {
      const text = String(raw).trim();
      if (s.words?.includes(text)) return text;
      if (!NUMBER.test(text)) {
        const what = s.kind === 'integer' ? 'an integer' : 'a number';
        throw new OptionError(flag, `${what}${s.words ? ` or ${s.words.map((w) => `'${w}'`).join(', ')}` : ''}`, raw);
      }
      const value = Number(text);
      try {
        if (s.kind === 'integer') return expectInteger(value, flag, s.min, s.max);
        return expectNumber(value, flag, s.min, s.max, { exclusiveMin: s.exclusiveMin });
      } catch (err) {
        // The same expectation, but the value quoted as typed.
        if (err instanceof OptionError) throw new OptionError(flag, err.expected, raw);
        throw err;
      }
    }
  }
}

/** Parses every named option in `args` in place (both the kebab and camelCase keys yargs sets). */
export function parseOptions<T extends Record<string, unknown>>(args: T, names: OptionList): T {
  const a = args as Record<string, unknown>;
  for (const [name] of entries(names)) {
    if (a[name] === undefined) continue;
    const v = parseOption(name, a[name]);
    a[name] = v;
    a[camel(name)] = v;
  }
  return args;
}

/** The flag an internal option name stands for (maxLr -> --max-lr, task[0] -> --task), if the CLI has one. */
export function flagFor(option: string): string | undefined {
  const base = option.replace(/^--/, '').replace(/\[\d+\]$/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return OPTIONS[base] ? `${base.length === 1 ? '-' : '--'}${base}` : undefined;
}
