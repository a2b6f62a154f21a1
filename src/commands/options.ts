/**
 * The CLI's one vocabulary: every option of every command, with its one type and its one meaning (help
 * text). Commands pick options from this table by name, so a flag means the same everywhere; values are
 * checked here, so errors name the flag as the user typed it and quote the raw value
 * ("Expected an integer >= 1 for --epochs but received 'banana'").
 */
import type { Argv, Options } from 'yargs';

import { describe as describeValue, OptionError } from '../errors.js';
import {
  checkOption,
  defaultWords,
  RECIPE,
  RECIPE_NAMES,
  type RecipeName,
  type RecipeOption,
} from '../train/recipe.js';
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
  /** A training option: its entry in the recipe (src/train/recipe.ts), which checks its values. */
  recipe?: RecipeName;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A training option's flag, from its recipe entry: the recipe owns its type, range, default and help. */
function recipeFlag(name: RecipeName, o: RecipeOption): OptionSpec {
  const kind: OptionKind = o.kind === 'path' || o.kind === 'device' ? 'string' : (o.kind as OptionKind);
  const words = defaultWords(o);
  const meaning = `${o.help}${words === undefined ? '' : ` (default ${words})`}`;
  const spec: OptionSpec = { kind, group: o.group, recipe: name, meaning };
  if (o.choices) spec.choices = o.choices.map(String);
  if (typeof o.choices?.[0] === 'number') spec.numeric = true;
  if (o.min !== undefined) spec.min = o.min;
  if (o.max !== undefined) spec.max = o.max;
  if (o.exclusiveMin) spec.exclusiveMin = true;
  if (o.words && kind !== 'boolean') spec.words = o.words;
  if (o.cli && o.cli.perCommandDefault) spec.perCommandDefault = true;
  return spec;
}

/** The flags of the training options: every recipe entry but those with `cli: false`. */
const RECIPE_FLAGS: Record<string, OptionSpec> = Object.fromEntries(
  RECIPE_NAMES.filter((n) => (RECIPE[n] as RecipeOption).cli !== false).map((n) => [
    kebab(n),
    recipeFlag(n, RECIPE[n]),
  ]),
);

/**
 * Every option of every command. Adding a training option: add it to the recipe (src/train/recipe.ts); any
 * other: here. Then name it in the command.
 */
export const OPTIONS: Record<string, OptionSpec> = {
  ...RECIPE_FLAGS,
  config: {
    kind: 'string',
    group: 'Training',
    meaning: 'JSON or YAML file with any of these options (flags given on the command line win)',
  },
  // The schedule command's (the recipe's one-cycle momentum is a [high, low] pair).
  momentum: {
    kind: 'number',
    group: 'Training',
    min: 0,
    max: 0.999999,
    meaning: 'Momentum of the regular policy (constant; default 0.9)',
  },
  'pct-start': {
    kind: 'number',
    group: 'Training',
    min: 0,
    max: 1,
    exclusiveMin: true,
    meaning: 'One-cycle: fraction of the steps spent warming up (default 0.3)',
  },
  iters: {
    kind: 'integer',
    group: 'Training',
    min: 1,
    max: 1e7,
    meaning: 'Total optimiser steps (epochs x batches per epoch)',
  },
  'val-losses': {
    kind: 'list',
    group: 'Training',
    meaning: 'Regular policy: validation loss per epoch, comma-separated (iters / epochs steps each)',
  },
  'num-iter': {
    kind: 'integer',
    group: 'Training',
    min: 5,
    max: 100000,
    meaning: 'LR finder: ramp steps (default 100)',
  },
  'start-lr': {
    kind: 'number',
    group: 'Training',
    min: 0,
    exclusiveMin: true,
    meaning: 'LR finder: first learning rate of the ramp (default 1e-7)',
  },
  'end-lr': {
    kind: 'number',
    group: 'Training',
    min: 0,
    exclusiveMin: true,
    meaning: 'LR finder: last learning rate of the ramp (default 10)',
  },
  nproc: {
    kind: 'integer',
    group: 'Runtime',
    min: 1,
    max: 256,
    meaning: 'Data-parallel: N local worker processes (Gloo on 127.0.0.1), the global batch split between them',
  },

  // Evaluation.
  checkpoint: {
    kind: 'string',
    group: 'Evaluation',
    meaning: 'A checkpoint written by torchxfer train (best.safetensors); it carries everything needed to use it',
  },
  subset: {
    kind: 'enum',
    group: 'Evaluation',
    choices: ['test', 'val', 'train'],
    default: 'test',
    meaning: "Which part of the checkpoint's run to score: test | val | train",
  },

  // Runtime.
  concurrency: {
    kind: 'integer',
    group: 'Runtime',
    min: 1,
    max: 1024,
    meaning: 'Images decoded at once (default: cores)',
  },

  // Output.
  out: { kind: 'string', group: 'Output', perCommandDefault: true, meaning: 'Where to write the output' },
  json: { kind: 'boolean', group: 'Output', default: false, meaning: 'Print (or write) JSON instead of text or CSV' },
  png: { kind: 'boolean', group: 'Output', default: true, meaning: 'Also write PNG copies of the figures' },

  // Command-specific, still one meaning each.
  kind: {
    kind: 'enum',
    group: 'Command',
    choices: ['chest', 'msk'],
    meaning: 'Phantom kind: chest (14 NIH findings) | msk (upper-limb films, normal/abnormal)',
  },
  count: { kind: 'integer', group: 'Command', min: 1, max: 1_000_000, meaning: 'Number of images to write' },
  size: {
    kind: 'integer',
    group: 'Command',
    min: 64,
    max: 1024,
    default: 256,
    meaning: 'Phantom image height in pixels (64..1024)',
  },
  'prevalence-boost': {
    kind: 'number',
    group: 'Command',
    min: 0,
    max: 0.5,
    meaning: 'chest: raise every finding to at least this prevalence (0..0.5)',
  },
  prevalence: {
    kind: 'list',
    group: 'Command',
    meaning:
      "chest: set findings' prevalences outright, Finding=fraction pairs comma-separated (e.g. Cardiomegaly=0.3; 0..0.9 each, after --prevalence-boost)",
  },
  verify: {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning: 'Decode every image to find the unreadable ones (default: read headers only)',
  },
  symmetric: {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning: 'Symmetric co-occurrence matrices (graycomatrix symmetric=True)',
  },
  width: {
    kind: 'integer',
    group: 'Command',
    min: 0,
    max: 65535,
    default: 250,
    meaning: 'Resize to this width keeping the aspect ratio (0: keep)',
  },
  height: {
    kind: 'integer',
    group: 'Command',
    min: 0,
    max: 65535,
    default: 0,
    meaning: 'Then centre-crop/zero-pad to this height (0: keep the resized height)',
  },
  train: { kind: 'string', group: 'Command', meaning: 'Training features (`torchxfer features --json` output)' },
  val: {
    kind: 'string',
    group: 'Command',
    meaning: 'Validation features, labelled from the same CSV: reports validation AUC',
  },
  'search-iters': {
    kind: 'integer',
    group: 'Command',
    min: 1,
    max: 10000,
    default: 20,
    meaning: 'Random-search draws per label',
  },
  folds: { kind: 'integer', group: 'Command', min: 2, max: 100, default: 5, meaning: 'Stratified CV folds' },
  db: { kind: 'string', group: 'Command', meaning: 'Results database (SQLite); default <experiment name>.db' },
  shard: {
    kind: 'string',
    group: 'Command',
    meaning: 'Run only shard i of n ("i/n": the jobs whose key hash mod n == i)',
  },
  'dry-run': {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning: 'Print the jobs and their status without running them',
  },
  'allow-spec-change': {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning:
      'Accept a changed spec for an experiment already in the database (finished runs of unchanged jobs are kept)',
  },
  checkpoints: {
    kind: 'string',
    group: 'Command',
    meaning:
      'Folder for source-task checkpoints (shared by shards); default <experiment name>.checkpoints beside the database',
  },
  'nih-root': {
    kind: 'string',
    group: 'Command',
    meaning: 'NIH ChestX-ray14 root for the paper preset (else NIH_ROOT)',
  },
  'chexpert-root': {
    kind: 'string',
    group: 'Command',
    meaning: 'CheXpert root for the paper preset (else CHEXPERT_ROOT)',
  },
  'mura-root': { kind: 'string', group: 'Command', meaning: 'MURA root for the paper preset (else MURA_ROOT)' },
  'same-anatomy-weights': {
    kind: 'string',
    group: 'Command',
    meaning:
      'Paper preset: published chest X-ray DenseNet121 weights (registry name, e.g. densenet121-res224-chex, or a file) offered in Fig. 6 as one more source',
  },
  plan: {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning:
      "Print every job of every figure with its training/validation/test sizes, counted from the datasets' lists (nothing is trained; images need not be present)",
  },
  estimate: {
    kind: 'boolean',
    group: 'Command',
    default: false,
    meaning: 'Measure step times on --device and estimate how long every job of every stage takes (nothing is trained)',
  },
  sizes: {
    kind: 'string',
    group: 'Command',
    meaning: 'With --estimate: JSON file {dataset: {train, val, test}} for datasets not on this machine',
  },
  manifest: { kind: 'string', group: 'Command', meaning: 'Weights manifest (default: the package one)' },
  name: {
    kind: 'string',
    group: 'Command',
    meaning: 'Registry name of the weights (default: the entry with this file name)',
  },
  keys: { kind: 'integer', group: 'Command', min: 0, default: 10, meaning: 'How many tensor names to list' },
};

/** The dataset options: what to read and how (every command that reads a dataset). */
export const DATASET_OPTIONS: OptionList = [
  'data',
  'format',
  'labels',
  'label-columns',
  'key',
  'path-column',
  'patient-column',
  'positive',
  'uncertainty',
  'cache-dir',
];
/** Which images a run trains, validates and tests on. */
export const SPLIT_OPTIONS: OptionList = ['split', 'task', 'n'];
export const MODEL_OPTIONS: OptionList = [
  'arch',
  'init',
  'moments-scope',
  'in-channels',
  'grey-mode',
  'dropout',
  'frozen-batch-norm',
  'image-size',
  'crop',
];
export const TRAINING_OPTIONS: OptionList = [
  'config',
  'strategy',
  'policy',
  'optimizer',
  'epochs',
  'batch-size',
  'max-lr',
  'lr-rule',
  'final-div',
  'div-factor',
  'convention',
  'weight-decay',
  'nesterov',
  'seed',
  'max-steps',
];
export const RUNTIME_OPTIONS: OptionList = ['device', 'threads', 'channels-last'];
/** Everything a training config takes from the command line (train and lr-find). */
export const RUN_OPTIONS: OptionList = [
  ...DATASET_OPTIONS,
  ...SPLIT_OPTIONS,
  ...MODEL_OPTIONS,
  ...TRAINING_OPTIONS,
  ...RUNTIME_OPTIONS,
];

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
    if (!s.perCommandDefault)
      throw new Error(`--${name} has one default (${String(s.default)}); a command cannot change it`);
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
  if (Array.isArray(raw))
    throw new Error(
      `Expected one value for ${flag} but received ${raw.length}: ${raw.map((v) => describeValue(v)).join(', ')} (the flag was given more than once)`,
    );
  if (raw === undefined) return undefined;
  switch (s.kind) {
    case 'boolean':
      if (typeof raw !== 'boolean')
        throw new OptionError(flag, 'no value (a switch; --no-' + name + ' turns it off)', raw);
      return raw;
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) throw new OptionError(flag, 'a non-empty value', raw);
      if (name === 'device') return expectDevice(raw, flag);
      return raw;
    case 'list': {
      const items =
        typeof raw === 'string'
          ? raw
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : [];
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
        if (s.recipe) return checkOption(s.recipe, value, flag);
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
  const base = option
    .replace(/^--/, '')
    .replace(/\[\d+\]$/, '')
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return OPTIONS[base] ? `${base.length === 1 ? '-' : '--'}${base}` : undefined;
}
