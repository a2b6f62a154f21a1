/**
 * One recipe, one set of values: for every training option of the recipe (src/train/recipe.ts), values
 * at and beyond its range, of the wrong type and outside its enum are accepted or refused alike by the
 * library (`resolveTrainConfig`, as `train({...})`), the CLI (`torchxfer train --flag=value`, parsed as
 * `main` would) and a spec (an arm field or an `options` key), wherever the option may be written. The
 * old spellings load in specs (read as the train command's) and nowhere else.
 */
import { describe, expect, it, vi } from 'vitest';

import { parseCommandLine } from '../src/cli.js';
import { OPTIONS } from '../src/commands/options.js';
import { validateSpec } from '../src/experiments/spec.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/config.js';
import { RECIPE, RECIPE_NAMES, type RecipeName, type RecipeOption } from '../src/train/recipe.js';
import { validateTrainerOptions } from '../src/train/trainer.js';

type Candidate = { value: unknown; cli?: string };
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Values at and beyond the entry's range, of other types, outside its enum; `cli`: how a user types it. */
function candidates(o: RecipeOption): Candidate[] {
  const typed = (value: unknown): Candidate => ({
    value,
    cli: typeof value === 'object' || typeof value === 'boolean' ? undefined : String(value),
  });
  const words = [...(o.words ?? []), 'bogus'].map(typed);
  switch (o.kind) {
    case 'integer':
    case 'number': {
      const lo = o.min ?? -5;
      const hi = o.max ?? lo + 1000;
      const step = o.kind === 'integer' ? 1 : 1e-6;
      return [lo, lo - step, hi, hi + step, (lo + hi) / 2, lo + 0.5, 'x', true, ...(o.kind === 'integer' ? [2.5] : [])]
        .map(typed)
        .concat(o.words ? words : []);
    }
    case 'boolean':
      // A switch takes no value on a command line: only true (--flag) and false (--no-flag) are typed there.
      return [
        { value: true, cli: '' },
        { value: false, cli: 'no' },
        { value: 'yes' },
        { value: 1 },
        ...(o.words ? words.map(({ value }) => ({ value })) : []),
      ];
    case 'enum':
      // (A numeric enum's '1' is 1 once typed: not representable on a command line.)
      return [...o.choices!, 'bogus', 2, '']
        .map(typed)
        .concat(typeof o.choices![0] === 'string' ? [typed(String(o.choices![0]).toUpperCase())] : [{ value: '1' }]);
    case 'string':
    case 'path':
      // A number is no string to the library; typed on a command line, it is one (not representable).
      return [typed('a'), typed(''), { value: 5 }];
    case 'device':
      return ['cpu', 'cuda', 'cuda:1', 'auto', 'gpu', 'cuda:x'].map(typed);
    case 'list':
      return [
        typed('A,B'),
        { value: ['A', 'B'], cli: 'A,B' },
        { value: [], cli: '' },
        { value: [''], cli: ' , ' },
        typed(['A', 5]),
        { value: 5 },
      ];
    case 'pair':
      return [[0.9, 0.8], [0.9], [0, o.max], [o.max! + 1, 0.5], [-0.1, 0.5], 'x'].map(typed);
    case 'sizes':
      return [[50, 100], [], [o.min! - 1], [50, 2.5], 'x'].map(typed);
  }
}

/** What another option must be for this one's value to be judged alone (the rules between options). */
const CONTEXT: Partial<Record<RecipeName, Partial<TrainConfig>>> = {
  nesterov: { optimizer: 'sgd' },
  crop: { imageSize: 4096 },
  excludeNGrid: { excludeExperiment: 'Emphysema' },
};

const accepts = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

function library(name: RecipeName, value: unknown): boolean {
  return accepts(() => resolveTrainConfig({ out: 'o', data: '/d', ...CONTEXT[name], [name]: value } as never));
}

async function cli(name: RecipeName, text: string, value: unknown): Promise<boolean> {
  const flag = kebab(name);
  const arg = value === true ? `--${flag}` : value === false ? `--no-${flag}` : `--${flag}=${text}`;
  return parseCommandLine(['train', arg]).then(
    () => true,
    () => false,
  );
}

const specOf = (name: RecipeName, value: unknown, where: 'arm' | 'options') => ({
  name: 's',
  mode: 'grid',
  nGrid: [50],
  seeds: [0],
  targets: [
    { name: 't', dataset: 'csv', root: '/d/t.csv', label: 'A', options: where === 'options' ? { [name]: value } : {} },
  ],
  base: where === 'arm' ? { [name]: value } : {},
  arms: [{ name: 'a' }],
});

function spec(name: RecipeName, value: unknown, where: 'arm' | 'options'): boolean {
  return accepts(() => validateSpec(specOf(name, value, where), {}));
}

describe('the recipe schema', () => {
  it('is the CLI: every training flag is its entry, with its type, range and help', () => {
    const flags = Object.entries(OPTIONS).filter(([, s]) => s.recipe !== undefined);
    const withFlag = RECIPE_NAMES.filter((n) => (RECIPE[n] as RecipeOption).cli !== false);
    expect(flags.map(([flag, s]) => [flag, s.recipe])).toEqual(withFlag.map((n) => [kebab(n), n]));
    for (const [flag, s] of flags) {
      const o = RECIPE[s.recipe!] as RecipeOption;
      expect(s.meaning.startsWith(o.help), flag).toBe(true);
      expect([s.min, s.max], flag).toEqual([o.min, o.max]);
    }
  });

  it('the CLI, specs and the library accept and refuse the same values of every option', async () => {
    const checked: string[] = [];
    for (const name of RECIPE_NAMES) {
      const o = RECIPE[name] as RecipeOption;
      for (const { value, cli: text } of candidates(o)) {
        const lib = library(name, value);
        const row = `${name} = ${JSON.stringify(value)}`;
        checked.push(`${row}: ${lib ? 'accepted' : 'refused'}`);
        if (o.cli !== false && text !== undefined)
          expect(await cli(name, text, value), `${row}: CLI vs library`).toBe(lib);
        // An old spelling is the one difference, by design (the next test).
        const old = (o.legacy?.values ?? []).some(([was]) => Object.is(was, value));
        if (o.arm && !old) expect(spec(name, value, 'arm'), `${row}: spec arm vs library`).toBe(lib);
        if (o.specOption) expect(spec(name, value, 'options'), `${row}: spec options vs library`).toBe(lib);
      }
      // Every option has values on both sides (the walk is not vacuous).
      expect(checked.filter((c) => c.startsWith(`${name} = `) && c.endsWith('accepted')).length, name).toBeGreaterThan(
        0,
      );
      expect(checked.filter((c) => c.startsWith(`${name} = `) && c.endsWith('refused')).length, name).toBeGreaterThan(
        0,
      );
    }
  }, 120_000);

  it('old spellings load in specs, read as train writes them, and are refused by the CLI and the library', async () => {
    const notice = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const name of RECIPE_NAMES) {
        const o = RECIPE[name] as RecipeOption;
        for (const [old, canonical] of o.legacy?.values ?? []) {
          expect(library(name, old), `${name}: ${String(old)}`).toBe(false);
          if (typeof old === 'string') expect(await cli(name, old, old), `${name}: ${old}`).toBe(false);
          const arm = validateSpec(specOf(name, old, 'arm'), {}).base as unknown as Record<string, unknown>;
          expect(arm[name]).toEqual(canonical);
        }
        if (o.legacy?.key !== undefined) {
          const value = o.kind === 'integer' ? 40 : 'x';
          expect(library(o.legacy.key as RecipeName, value), o.legacy.key).toBe(false);
          const options = validateSpec(
            {
              ...specOf(name, value, 'options'),
              targets: [
                { name: 't', dataset: 'csv', root: '/d/t.csv', label: 'A', options: { [o.legacy.key]: value } },
              ],
            },
            {},
          ).targets[0]!.options;
          expect(options).toEqual({ [name]: value });
        }
      }
      expect(notice.mock.calls.length).toBeGreaterThanOrEqual(8);
      expect(String(notice.mock.calls[0]![0])).toMatch(/^torchxfer: notice: the spec uses old spellings/);
    } finally {
      notice.mockRestore();
    }
  });

  it("the Trainer's options are checked by the same entries and rule (optimizer, weightDecay, nesterov)", () => {
    for (const name of ['optimizer', 'weightDecay', 'nesterov'] as const) {
      for (const { value } of candidates(RECIPE[name] as RecipeOption)) {
        const trainer = accepts(() => validateTrainerOptions({ ...CONTEXT[name], [name]: value } as never));
        expect(trainer, `${name} = ${JSON.stringify(value)}`).toBe(library(name, value));
      }
    }
    expect(() => validateTrainerOptions({ optimizer: 'adam', nesterov: true })).toThrow(
      "Expected false unless optimizer is 'sgd' for nesterov but received true",
    );
    expect(() => resolveTrainConfig({ out: 'o', optimizer: 'adam', nesterov: true })).toThrow(
      "Expected false unless optimizer is 'sgd' for nesterov but received true",
    );
  });
});
