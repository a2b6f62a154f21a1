/**
 * The `options` of a spec's datasets and arms: every key the training runner reads, checked here, so a
 * key it would not read (a typo, `crop` before it was read) is an error listing the valid ones rather
 * than a silent no-op. Keys that restate built-in behaviour (`balanced`, `frontalOnly`, `uncertain`) are
 * accepted only with the value the readers already use.
 */
import { CHEXPERT_DEFAULT_POLICY } from '../data/datasets/chexpert.js';
import { OptionError } from '../errors.js';
import { checkOption, defaultWords, RECIPE, SPEC_OPTION_KEYS } from '../train/recipe.js';
import { expectInteger } from '../validate.js';

/** Throws naming `path` when the value is refused; returns the value kept (a comma-separated list split). */
type Check = (value: unknown, path: string) => unknown;

const integer =
  (min: number): Check =>
  (v, p) =>
    expectInteger(v, p, min);
const onlyTrue =
  (what: string): Check =>
  (v, p) => {
    if (v !== true) throw new OptionError(p, `true (${what}; nothing else is implemented)`, v);
    return v;
  };

/** The training options a spec may set in `options`: their recipe entries (src/train/recipe.ts). */
const TRAINING: Record<string, [Check, string]> = Object.fromEntries(
  SPEC_OPTION_KEYS.map((k) => {
    const check: Check = (v, p) => checkOption(k, v, p);
    return [k, [check, `${defaultWords(RECIPE[k]) ?? 'none'} (${RECIPE[k].help})`]];
  }),
);

/** Key -> [check, default in words] (docs/experiment-spec.md lists the same). */
export const SPEC_OPTIONS: Record<string, [Check, string]> = {
  ...TRAINING,
  // What only experiments read.
  phantomSeed: [integer(0), "the built-in phantoms' seed"],
  searchIters: [integer(1), '20 (radiomics: random-search draws per label)'],
  folds: [integer(2), '5 (radiomics: stratified CV folds)'],
  balanced: [onlyTrue('binary targets always have balanced validation/test sets and 50/50 training subsets'), 'true'],
  frontalOnly: [onlyTrue('the CheXpert reader keeps frontal views only'), 'true'],
  uncertain: [
    (v, p) => {
      const want = Object.fromEntries(
        Object.entries(CHEXPERT_DEFAULT_POLICY).map(([l, pol]) => [l, pol === 'ones' ? 1 : 0]),
      );
      if (JSON.stringify(v, Object.keys(want).sort()) !== JSON.stringify(want, Object.keys(want).sort())) {
        throw new OptionError(
          p,
          `the paper's per-label policy ${JSON.stringify(want)} (the CheXpert reader's default; for one policy for all labels use uncertainty: ones | zeros | ignore)`,
          v,
        );
      }
      return v;
    },
    "the paper's per-label policy (chexpert)",
  ],
};

/** Checks every key and value of an `options` object; `path` is where it sits in the spec. */
export function validateSpecOptions(options: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    const entry = SPEC_OPTIONS[k];
    if (!entry)
      throw new OptionError(`${path}.${k}`, `one of the option keys ${Object.keys(SPEC_OPTIONS).join(', ')}`, k);
    out[k] = entry[0](v, `${path}.${k}`);
  }
  return out;
}
