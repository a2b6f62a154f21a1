/**
 * Reads and validates experiment specs (YAML, JSON or a preset name). Every error names the path in
 * the spec: "Expected an integer between 1 and 100000 for stages[1].arms[0].epochs but received -1".
 * An arm's training options are checked by their recipe entries (src/train/recipe.ts), as the CLI and
 * the library check them; old spellings are respelt first, with a notice (src/experiments/spellings.ts).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { readRegularFileSync } from '../data/regular-file.js';
import { OptionError } from '../errors.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { ARM_FIELDS, checkOption, RECIPE, type ArmField } from '../train/recipe.js';
import { expectNumber, expectOneOf, expectSafeName, expectString } from '../validate.js';
import { STORED_NAME } from './db-input.js';
import { getWeightsEntry } from '../weights/manifest.js';
import { presetNames, presetSpec, type PresetOptions } from './presets/index.js';
import { validateSpecOptions } from './spec-options.js';
import { oldSpellingNotice, respell, type Respelt } from './spellings.js';
import {
  ARCHS,
  INITS,
  METHODS,
  VARIABLE_OPTIONS,
  type ArmConfig,
  type DatasetSpec,
  type ExperimentSpec,
  type GridArm,
  type SourceSpec,
  type StageSpec,
  type VariableOption,
  type WeightsSource,
  type WinnerRule,
} from './types.js';

/** The arm a spec starts from: the training options' defaults (train's), from ImageNet weights. */
export const DEFAULT_ARM: ArmConfig = {
  ...(Object.fromEntries(ARM_FIELDS.map((k) => [k, TRAIN_DEFAULTS[k]])) as Pick<ArmConfig, ArmField>),
  source: 'imagenet',
  init: 'pretrained',
  options: {},
};

const ARM_KEYS = [...Object.keys(DEFAULT_ARM), 'method'] as (keyof ArmConfig)[];

type Obj = Record<string, unknown>;

function expectObject(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OptionError(path, 'an object', value);
  return value as Obj;
}

function expectArray(value: unknown, path: string, minLength = 1): unknown[] {
  if (!Array.isArray(value) || value.length < minLength)
    throw new OptionError(path, `an array of at least ${minLength} item${minLength === 1 ? '' : 's'}`, value);
  return value;
}

function rejectUnknownKeys(obj: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw new OptionError(`${path}${path ? '.' : ''}${k}`, `one of the keys ${allowed.join(', ')}`, k);
  }
}

function uniqueNames(items: { name: string }[], path: string): void {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.name)) throw new OptionError(`${path}[${i}].name`, 'a name not used before in the list', it.name);
    seen.add(it.name);
  });
}

/** Replaces ${VAR} in strings from env; an unset variable is an error naming the path. */
function expandEnv(value: string, path: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === '')
      throw new OptionError(path, `the environment variable ${name} to be set (it is used by the spec)`, value);
    return v;
  });
}

/** Validates one arm option's value; `path` is where it sits in the spec. */
export function parseArmOption<K extends keyof ArmConfig>(key: K, value: unknown, path: string): ArmConfig[K] {
  const v = ((): unknown => {
    switch (key) {
      case 'source':
        return expectString(value, path);
      case 'init':
        return expectOneOf(value, path, INITS);
      case 'method':
        return expectOneOf(value, path, METHODS);
      case 'options':
        return validateSpecOptions(expectObject(value, path), path);
      // The training options: their recipe entries, as for --flags and train({...}).
      default:
        return checkOption(key as ArmField, value, path);
    }
  })();
  return v as ArmConfig[K];
}

/** Validates the arm fields present in `raw` (all optional), returning the partial arm. */
export function parseArmFields(raw: Obj, path: string, allowName = false): Partial<ArmConfig> {
  rejectUnknownKeys(raw, allowName ? ['name', ...ARM_KEYS] : ARM_KEYS, path);
  const out: Record<string, unknown> = {};
  for (const k of ARM_KEYS)
    if (raw[k] !== undefined) out[k] = parseArmOption(k, raw[k], `${path}${path ? '.' : ''}${k}`);
  return out as Partial<ArmConfig>;
}

/** A dataset or source name: it becomes part of folder names and figure legends. */
const expectName = expectSafeName;

function parseDataset(raw: unknown, path: string, env: NodeJS.ProcessEnv, extraKeys: string[] = []): DatasetSpec {
  const o = expectObject(raw, path);
  rejectUnknownKeys(o, ['name', 'dataset', 'root', 'labels', 'label', 'options', ...extraKeys], path);
  const name = expectName(o.name, `${path}.name`);
  const ds: DatasetSpec = { name, dataset: expectString(o.dataset, `${path}.dataset`), options: {} };
  if (o.root !== undefined) ds.root = expandEnv(expectString(o.root, `${path}.root`), `${path}.root`, env);
  if (o.label !== undefined && o.labels !== undefined)
    throw new OptionError(`${path}.label`, 'either label or labels, not both', o.label);
  if (o.label !== undefined) ds.labels = [expectString(o.label, `${path}.label`)];
  if (o.labels !== undefined)
    ds.labels = expectArray(o.labels, `${path}.labels`).map((l, i) => expectString(l, `${path}.labels[${i}]`));
  if (o.options !== undefined)
    ds.options = validateSpecOptions(expectObject(o.options, `${path}.options`), `${path}.options`);
  return ds;
}

function parseSource(raw: unknown, path: string, env: NodeJS.ProcessEnv, targets: DatasetSpec[]): SourceSpec {
  const ds = parseDataset(raw, path, env, ['n', 'seed', 'train', 'targets', 'disjointFromTarget']);
  const o = raw as Obj;
  const names = targets.map((t) => t.name);
  const targetName = (v: unknown, p: string) => expectOneOf(v, p, names);
  const offered =
    o.targets === undefined
      ? undefined
      : expectArray(o.targets, `${path}.targets`).map((t, i) => targetName(t, `${path}.targets[${i}]`));
  let disjointFromTarget: string | undefined;
  if (o.disjointFromTarget !== undefined) {
    disjointFromTarget = targetName(o.disjointFromTarget, `${path}.disjointFromTarget`);
    const target = targets.find((t) => t.name === disjointFromTarget)!;
    if (target.labels?.length !== 1)
      throw new OptionError(`${path}.disjointFromTarget`, 'a binary target (one label)', disjointFromTarget);
    if (target.dataset !== ds.dataset || target.root !== ds.root)
      throw new OptionError(
        `${path}.disjointFromTarget`,
        `a target on the same dataset and root as the source (${ds.dataset})`,
        disjointFromTarget,
      );
    if (offered && offered.some((t) => t !== disjointFromTarget))
      throw new OptionError(
        `${path}.targets`,
        `only ${disjointFromTarget} (the source is built from its dataset)`,
        offered,
      );
  }
  // A training-set size and a seed, as train's -n and --seed.
  const n = o.n === undefined || o.n === 'all' ? 'all' : (checkOption('n', o.n, `${path}.n`) as number);
  const seed = o.seed === undefined ? 0 : (checkOption('seed', o.seed, `${path}.seed`) as number);
  const train = o.train === undefined ? {} : parseArmFields(expectObject(o.train, `${path}.train`), `${path}.train`);
  if (train.arch !== undefined)
    throw new OptionError(
      `${path}.train.arch`,
      'no arch (a source task is trained once per architecture of the arms that use it)',
      train.arch,
    );
  if (train.source !== undefined && train.source !== 'imagenet' && train.source !== 'none') {
    throw new OptionError(`${path}.train.source`, "'imagenet' or 'none' (source tasks do not chain)", train.source);
  }
  const source: SourceSpec = { ...ds, n, seed, train };
  if (disjointFromTarget) {
    source.disjointFromTarget = disjointFromTarget;
    source.targets = [disjointFromTarget];
  } else if (offered) source.targets = offered;
  return source;
}

/**
 * A `sources` entry with `weights:` (published weights, nothing trained): a registry name, whose
 * architecture the registry gives, or a weights file with its `arch`.
 */
function parseWeightsSource(o: Obj, path: string, env: NodeJS.ProcessEnv, targets: DatasetSpec[]): WeightsSource {
  rejectUnknownKeys(o, ['name', 'weights', 'arch', 'targets'], path);
  const name = expectName(o.name, `${path}.name`);
  const weights = expandEnv(expectString(o.weights, `${path}.weights`), `${path}.weights`, env);
  type Arch = WeightsSource['arch'];
  const arch = o.arch === undefined ? undefined : (checkOption('arch', o.arch, `${path}.arch`) as Arch);
  let registryArch: WeightsSource['arch'] | undefined;
  if (!existsSync(weights)) {
    try {
      registryArch = getWeightsEntry(weights).architecture as WeightsSource['arch'];
    } catch {
      throw new OptionError(
        `${path}.weights`,
        'a registry name (torchxfer weights list) or an existing weights file',
        weights,
      );
    }
    if (arch !== undefined && arch !== registryArch)
      throw new OptionError(`${path}.arch`, `${registryArch} (the architecture of ${weights})`, arch);
  } else if (arch === undefined)
    throw new OptionError(`${path}.arch`, `the architecture of the weights file (${ARCHS.join(' or ')})`, undefined);
  const source: WeightsSource = { name, weights, arch: (arch ?? registryArch)! };
  if (o.targets !== undefined) {
    const names = targets.map((t) => t.name);
    source.targets = expectArray(o.targets, `${path}.targets`).map((t, i) =>
      expectOneOf(t, `${path}.targets[${i}]`, names),
    );
  }
  return source;
}

function parseWinner(
  raw: unknown,
  path: string,
  vary: VariableOption | 'arm',
  values: (string | number)[],
): WinnerRule {
  const o = raw === undefined ? { rule: 'mean-auc' } : expectObject(raw, path);
  rejectUnknownKeys(o, ['rule', 'metric', 'alpha', 'simpler', 'value'], path);
  const rule = expectOneOf(o.rule, `${path}.rule`, ['mean-auc', 'paired-t', 'fixed'] as const);
  const metric =
    o.metric === undefined ? 'testAucTta' : expectOneOf(o.metric, `${path}.metric`, ['testAuc', 'testAucTta'] as const);
  if (rule === 'mean-auc') return { rule, metric };
  if (rule === 'fixed') {
    const value = String(o.value);
    if (!values.map(String).includes(value))
      throw new OptionError(`${path}.value`, `one of the stage's values (${values.join(', ')})`, o.value);
    return { rule, metric, value };
  }
  const alpha = o.alpha === undefined ? 0.05 : expectNumber(o.alpha, `${path}.alpha`, 0, 1, { exclusiveMin: true });
  const simpler = o.simpler === undefined ? String(values[0]) : String(o.simpler);
  if (!values.map(String).includes(simpler))
    throw new OptionError(`${path}.simpler`, `one of the stage's values (${values.join(', ')})`, o.simpler);
  return { rule, metric, alpha, simpler };
}

/** A stage's own N grid: sizes of the spec's grid, ascending. */
function parseStageGrid(raw: unknown, path: string, specGrid: number[]): number[] {
  const grid = expectArray(raw, path, 1).map((n, i) => {
    if (typeof n !== 'number' || !specGrid.includes(n))
      throw new OptionError(`${path}[${i}]`, `a size of the spec's nGrid (${specGrid.join(', ')})`, n);
    return n;
  });
  grid.forEach((n, i) => {
    if (i > 0 && n <= grid[i - 1]!)
      throw new OptionError(`${path}[${i}]`, `a size larger than ${path}[${i - 1}] (${grid[i - 1]})`, n);
  });
  return grid;
}

function parseStage(
  raw: unknown,
  path: string,
  earlier: StageSpec[],
  sourceNames: Set<string>,
  targetNames: string[],
  specGrid: number[],
): StageSpec {
  const o = expectObject(raw, path);
  rejectUnknownKeys(
    o,
    ['name', 'figure', 'vary', 'values', 'arms', 'targets', 'nGrid', 'buildsOn', 'base', 'winner', 'winnerScope'],
    path,
  );
  const name = expectString(o.name, `${path}.name`);
  let vary: VariableOption | 'arm';
  let values: (string | number)[];
  let arms: Partial<ArmConfig>[];
  if (o.arms !== undefined) {
    if (o.vary !== undefined || o.values !== undefined)
      throw new OptionError(`${path}.arms`, 'either arms or vary+values, not both', o.arms);
    const list = expectArray(o.arms, `${path}.arms`, 2).map((a, i) => expectObject(a, `${path}.arms[${i}]`));
    const fields = list.map((a, i) => parseArmFields(a, `${path}.arms[${i}]`, true));
    if (list.every((a) => a.name !== undefined)) {
      // Named arms: each sets any options (e.g. radiomics vs a CNN without and with ImageNet weights).
      vary = 'arm';
      values = list.map((a, i) => expectString(a.name, `${path}.arms[${i}].name`));
      fields.forEach((f, i) => {
        if (Object.keys(f).length === 0)
          throw new OptionError(`${path}.arms[${i}]`, 'at least one option besides its name', list[i]);
      });
    } else {
      // Unnamed arms: each sets exactly one option, the same one for all.
      const keys = fields.map((f) => Object.keys(f));
      keys.forEach((k, i) => {
        if (k.length !== 1)
          throw new OptionError(
            `${path}.arms[${i}]`,
            'exactly one option (a stage varies one option; name the arms to set several)',
            `${k.length} options (${k.join(', ')})`,
          );
      });
      const one = expectOneOf(keys[0]![0], `${path}.arms[0]`, VARIABLE_OPTIONS);
      keys.forEach((k, i) => {
        if (k[0] !== one) throw new OptionError(`${path}.arms[${i}]`, `the option ${one} like arms[0]`, k[0]);
      });
      vary = one;
      values = fields.map((f) => f[one] as string | number);
    }
    arms = fields;
  } else {
    const one = expectOneOf(o.vary, `${path}.vary`, VARIABLE_OPTIONS);
    vary = one;
    values = expectArray(o.values, `${path}.values`, 2).map(
      (v, i) => parseArmOption(one, v, `${path}.values[${i}]`) as string | number,
    );
    arms = values.map((v) => ({ [one]: v }) as Partial<ArmConfig>);
  }
  values.forEach((v, i) => {
    if (values.indexOf(v) !== i)
      throw new OptionError(`${path}.values[${i}]`, 'a value not listed before in the stage', v);
  });
  arms.forEach((a, i) => {
    if (a.source !== undefined && a.source !== 'none' && a.source !== 'imagenet' && !sourceNames.has(a.source)) {
      throw new OptionError(
        `${path}.values[${i}]`,
        `'none', 'imagenet' or a source task name (${[...sourceNames].join(', ') || 'none defined'})`,
        a.source,
      );
    }
  });
  let buildsOn: string | undefined;
  if (o.buildsOn !== undefined) {
    buildsOn = expectString(o.buildsOn, `${path}.buildsOn`);
    if (buildsOn === 'base') buildsOn = undefined;
    else if (!earlier.some((s) => s.name === buildsOn))
      throw new OptionError(
        `${path}.buildsOn`,
        `'base' or the name of an earlier stage (${earlier.map((s) => s.name).join(', ') || 'none'})`,
        buildsOn,
      );
  } else if (earlier.length > 0) buildsOn = earlier[earlier.length - 1]!.name;
  const base = o.base === undefined ? {} : parseArmFields(expectObject(o.base, `${path}.base`), `${path}.base`);
  const winner = parseWinner(o.winner, `${path}.winner`, vary, values);
  const winnerScope =
    o.winnerScope === undefined
      ? 'target'
      : expectOneOf(o.winnerScope, `${path}.winnerScope`, ['target', 'all'] as const);
  const stage: StageSpec = { name, vary, values, arms, buildsOn, base, winner, winnerScope };
  if (o.figure !== undefined)
    stage.figure = String(expectString(typeof o.figure === 'number' ? String(o.figure) : o.figure, `${path}.figure`));
  if (o.targets !== undefined)
    stage.targets = expectArray(o.targets, `${path}.targets`).map((t, i) =>
      expectOneOf(t, `${path}.targets[${i}]`, targetNames),
    );
  if (o.nGrid !== undefined) stage.nGrid = parseStageGrid(o.nGrid, `${path}.nGrid`, specGrid);
  return stage;
}

/**
 * The caps on a spec's sizes, named in the errors: a spec (or one stored in a results database someone
 * sent) of a few KB must not plan millions of jobs. Far above any real study (the paper: 7 sizes, 5 seeds).
 */
export const SPEC_LIMITS = {
  n: RECIPE.n.max,
  nGrid: 64,
  seeds: 1000,
  targets: 64,
  sources: 64,
  arms: 256,
  stages: 64,
  values: 256,
  jobs: 20_000,
} as const;

function capLength(list: unknown, path: string, cap: number): void {
  if (Array.isArray(list) && list.length > cap)
    throw new OptionError(path, `at most ${cap} entries (the cap on ${path})`, `${list.length} entries`);
}

/** The planned target jobs of a spec, at most: (arms or stage values) x targets x sizes x seeds. */
function plannedJobs(spec: ExperimentSpec): number {
  const perArm = spec.seeds.length;
  if (spec.mode === 'grid') return spec.arms.length * spec.targets.length * spec.nGrid.length * perArm;
  return spec.stages.reduce(
    (sum, st) =>
      sum + st.values.length * (st.targets?.length ?? spec.targets.length) * (st.nGrid ?? spec.nGrid).length * perArm,
    0,
  );
}

/** Throws an OptionError naming the cap a spec's lists or planned jobs exceed. */
export function checkSpecBounds(spec: ExperimentSpec): void {
  capLength(spec.nGrid, 'nGrid', SPEC_LIMITS.nGrid);
  capLength(spec.seeds, 'seeds', SPEC_LIMITS.seeds);
  capLength(spec.targets, 'targets', SPEC_LIMITS.targets);
  capLength([...spec.sources, ...(spec.weightSources ?? [])], 'sources', SPEC_LIMITS.sources);
  capLength(spec.arms, 'arms', SPEC_LIMITS.arms);
  capLength(spec.stages, 'stages', SPEC_LIMITS.stages);
  spec.stages.forEach((st, i) => capLength(st.values, `stages[${i}].values`, SPEC_LIMITS.values));
  const jobs = plannedJobs(spec);
  if (jobs > SPEC_LIMITS.jobs)
    throw new OptionError(
      'spec',
      `at most ${SPEC_LIMITS.jobs} planned jobs (the cap on an experiment's size)`,
      `${jobs} jobs`,
    );
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIntList = (v: unknown, min: number, max: number) =>
  Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= min && x <= max);

/**
 * A spec as a results database stores it (validated when it was saved, but the database may come from
 * anyone): parsed, its shape checked where the planner relies on it, and its sizes capped. `where`
 * names the database and experiment in errors.
 */
export function storedSpec(json: string, where: string): ExperimentSpec {
  const fail = (what: string): never => {
    throw new Error(`${where}: the stored spec is not a valid experiment spec (${what})`);
  };
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    fail('not JSON');
  }
  if (!isObject(o)) return fail('not an object');
  if (typeof o.name !== 'string' || !STORED_NAME.test(o.name)) fail('name');
  if (o.mode !== 'grid' && o.mode !== 'stagewise') fail('mode');
  if (!isIntList(o.nGrid, 1, SPEC_LIMITS.n) || (o.nGrid as number[]).length === 0) fail('nGrid');
  if (!isIntList(o.seeds, 0, RECIPE.seed.max)) fail('seeds');
  const named = (v: unknown) =>
    Array.isArray(v) && v.every((x) => isObject(x) && typeof x.name === 'string' && STORED_NAME.test(x.name));
  if (!named(o.targets) || !named(o.sources) || (o.weightSources !== undefined && !named(o.weightSources)))
    fail('targets or sources');
  if (
    !isObject(o.base) ||
    !Array.isArray(o.arms) ||
    !o.arms.every((a) => isObject(a) && typeof a.name === 'string' && isObject(a.arm))
  )
    fail('arms');
  const stageOk = (st: unknown) =>
    isObject(st) &&
    typeof st.name === 'string' &&
    Array.isArray(st.values) &&
    Array.isArray(st.arms) &&
    isObject(st.base) &&
    isObject(st.winner);
  if (!Array.isArray(o.stages) || !o.stages.every(stageOk)) fail('stages');
  const spec = o as unknown as ExperimentSpec;
  try {
    checkSpecBounds(spec);
  } catch (err) {
    fail((err as Error).message);
  }
  return spec;
}

/**
 * Validates a parsed spec object. `env` expands ${VAR} in roots. Old spellings (`onecycle`, `gradual`,
 * `find`, `valSize`...) are read as the train command's, each named in one notice on stderr.
 */
export function validateSpec(raw: unknown, env: NodeJS.ProcessEnv = process.env): ExperimentSpec {
  const changed: Respelt[] = [];
  const o = respell(expectObject(raw, 'spec'), 'canonical', changed);
  const notice = oldSpellingNotice(changed, 'the spec');
  if (notice) console.error(notice);
  rejectUnknownKeys(o, ['name', 'mode', 'nGrid', 'seeds', 'targets', 'sources', 'base', 'arms', 'stages'], '');
  // The experiment's name names its database, run and checkpoint folders.
  const name = expectSafeName(o.name, 'name');
  const mode = expectOneOf(o.mode, 'mode', ['grid', 'stagewise'] as const);
  const nGrid = expectArray(o.nGrid, 'nGrid').map((n, i) => checkOption('n', n, `nGrid[${i}]`) as number);
  nGrid.forEach((n, i) => {
    if (i > 0 && n <= nGrid[i - 1]!)
      throw new OptionError(`nGrid[${i}]`, `a size larger than nGrid[${i - 1}] (${nGrid[i - 1]})`, n);
  });
  const seedList = o.seeds === undefined ? [0] : expectArray(o.seeds, 'seeds');
  const seeds = seedList.map((s, i) => checkOption('seed', s, `seeds[${i}]`) as number);
  const targets = expectArray(o.targets, 'targets').map((t, i) => parseDataset(t, `targets[${i}]`, env));
  uniqueNames(targets, 'targets');
  const sources: SourceSpec[] = [];
  const weightSources: WeightsSource[] = [];
  (o.sources === undefined ? [] : expectArray(o.sources, 'sources', 0)).forEach((s, i) => {
    const isWeights = s !== null && typeof s === 'object' && 'weights' in s;
    if (isWeights) weightSources.push(parseWeightsSource(s as Obj, `sources[${i}]`, env, targets));
    else sources.push(parseSource(s, `sources[${i}]`, env, targets));
  });
  uniqueNames([...sources, ...weightSources], 'sources');
  const sourceNames = new Set([...sources, ...weightSources].map((s) => s.name));
  const base: ArmConfig = {
    ...DEFAULT_ARM,
    ...(o.base === undefined ? {} : parseArmFields(expectObject(o.base, 'base'), 'base')),
  };
  const checkSource = (src: string | undefined, path: string) => {
    if (src !== undefined && src !== 'none' && src !== 'imagenet' && !sourceNames.has(src)) {
      throw new OptionError(
        path,
        `'none', 'imagenet' or a source task name (${[...sourceNames].join(', ') || 'none defined'})`,
        src,
      );
    }
  };
  checkSource(base.source, 'base.source');
  let arms: GridArm[] = [];
  const stages: StageSpec[] = [];
  if (mode === 'grid') {
    if (o.stages !== undefined) throw new OptionError('stages', 'no stages in mode grid (use arms)', o.stages);
    arms = expectArray(o.arms, 'arms').map((a, i) => {
      const ao = expectObject(a, `arms[${i}]`);
      const fields = parseArmFields(ao, `arms[${i}]`, true);
      checkSource(fields.source, `arms[${i}].source`);
      return { name: expectString(ao.name, `arms[${i}].name`), arm: { ...base, ...fields } };
    });
    uniqueNames(arms, 'arms');
  } else {
    if (o.arms !== undefined)
      throw new OptionError('arms', 'no top-level arms in mode stagewise (put them in stages)', o.arms);
    const list = expectArray(o.stages, 'stages');
    list.forEach((s, i) => {
      const stage = parseStage(
        s,
        `stages[${i}]`,
        stages,
        sourceNames,
        targets.map((t) => t.name),
        nGrid,
      );
      checkSource(stage.base.source, `stages[${i}].base.source`);
      stages.push(stage);
    });
    uniqueNames(stages, 'stages');
  }
  const spec: ExperimentSpec = { name, mode, nGrid, seeds, targets, sources, base, arms, stages };
  if (weightSources.length) spec.weightSources = weightSources;
  checkSpecBounds(spec);
  return spec;
}

/** The largest spec file read: 1 MiB (the paper's is 3 KB). */
const MAX_SPEC_BYTES = 2 ** 20;

/**
 * Loads a spec from a file (.yaml, .yml, .json) or a preset name. Parse errors name the file and line.
 */
export function loadSpec(ref: string, opts: { env?: NodeJS.ProcessEnv; preset?: PresetOptions } = {}): ExperimentSpec {
  const env = opts.env ?? process.env;
  if (!existsSync(ref)) {
    if (presetNames.includes(ref)) return validateSpec(presetSpec(ref, opts.preset ?? {}, env), env);
    throw new OptionError('SPEC', `a spec file (.yaml, .yml, .json) or a preset name (${presetNames.join(', ')})`, ref);
  }
  const text = readRegularFileSync(ref, MAX_SPEC_BYTES).toString('utf8');
  let raw: unknown;
  try {
    raw = extname(ref).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`Cannot parse the spec ${ref}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return validateSpec(raw, env);
  } catch (err) {
    if (err instanceof OptionError) err.message = `${ref}: ${err.message}`;
    throw err;
  }
}
