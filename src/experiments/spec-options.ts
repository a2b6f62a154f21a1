/**
 * The `options` of a spec's datasets and arms: every key the training runner reads, checked here, so a
 * key it would not read (a typo, `crop` before it was read) is an error listing the valid ones rather
 * than a silent no-op. Keys that restate built-in behaviour (`balanced`, `frontalOnly`, `uncertain`) are
 * accepted only with the value the readers already use.
 */
import { CHEXPERT_DEFAULT_POLICY } from '../data/datasets/chexpert.js';
import { OptionError } from '../errors.js';
import { LR_RULES, MOMENTS_SCOPES, SPLIT_MODES } from '../train/config.js';
import { expectInteger, expectOneOf, expectString } from '../validate.js';

type Check = (value: unknown, path: string) => void;

const integer = (min: number): Check => (v, p) => void expectInteger(v, p, min);
const string: Check = (v, p) => void expectString(v, p);
const onlyTrue = (what: string): Check => (v, p) => {
  if (v !== true) throw new OptionError(p, `true (${what}; nothing else is implemented)`, v);
};

/** Key -> [check, default in words] (docs/experiment-spec.md lists the same). */
export const SPEC_OPTIONS: Record<string, [Check, string]> = {
  split: [(v, p) => void expectOneOf(v, p, SPLIT_MODES), "official (random where the dataset has none, recorded as such); by-image: each image its own patient (warned)"],
  imageSize: [integer(32), '250 (the cached image side)'],
  crop: [integer(32), 'imageSize x 236/250 (the training crop side)'],
  valSize: [integer(2), 'all (cap the validation set at a seeded prefix)'],
  testSize: [integer(2), 'all (cap the test set at a seeded prefix)'],
  negativeFor: [string, 'none (a ChestX-ray13-style source: drop this label and its experiment)'],
  phantomSeed: [integer(0), 'the built-in phantoms\' seed'],
  labelsCsv: [string, 'none (dicom: the label CSV, as train --labels)'],
  key: [string, "file (dicom: what keys the label CSV)"],
  labelColumns: [(v, p) => {
    if (!Array.isArray(v) || v.length === 0) throw new OptionError(p, 'a list of column names', v);
    v.forEach((c, i) => expectString(c, `${p}[${i}]`));
  }, 'every non-key column'],
  pathColumn: [string, 'path (csv)'],
  patientColumn: [string, "patient when present (csv, dicom: the labels CSV's patient ids; never a label)"],
  positive: [string, 'guessed from normal/negative/... (folder)'],
  uncertainty: [(v, p) => void expectOneOf(v, p, ['ones', 'zeros', 'ignore'] as const), 'per label, as the paper (chexpert)'],
  lrRule: [(v, p) => void expectOneOf(v, p, LR_RULES), "minimum (max_lr at the LR finder's loss minimum, the paper's rule; valley is recorded beside it)"],
  momentsScope: [(v, p) => void expectOneOf(v, p, MOMENTS_SCOPES), 'conv (init moments re-draws the convolution weights, as the paper; all: every tensor)'],
  searchIters: [integer(1), '20 (radiomics: random-search draws per label)'],
  folds: [integer(2), '5 (radiomics: stratified CV folds)'],
  balanced: [onlyTrue('binary targets always have balanced validation/test sets and 50/50 training subsets'), 'true'],
  frontalOnly: [onlyTrue('the CheXpert reader keeps frontal views only'), 'true'],
  uncertain: [(v, p) => {
    const want = Object.fromEntries(Object.entries(CHEXPERT_DEFAULT_POLICY).map(([l, pol]) => [l, pol === 'ones' ? 1 : 0]));
    if (JSON.stringify(v, Object.keys(want).sort()) !== JSON.stringify(want, Object.keys(want).sort())) {
      throw new OptionError(p, `the paper's per-label policy ${JSON.stringify(want)} (the CheXpert reader's default; for one policy for all labels use uncertainty: ones | zeros | ignore)`, v);
    }
  }, "the paper's per-label policy (chexpert)"],
  excludeNGrid: [(v, p) => {
    if (!Array.isArray(v) || v.length === 0) throw new OptionError(p, 'a list of training-set sizes', v);
    v.forEach((n, i) => expectInteger(n, `${p}[${i}]`, 2));
  }, 'set by the planner'],
};

/** Checks every key and value of an `options` object; `path` is where it sits in the spec. */
export function validateSpecOptions(options: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [k, v] of Object.entries(options)) {
    const entry = SPEC_OPTIONS[k];
    if (!entry) throw new OptionError(`${path}.${k}`, `one of the option keys ${Object.keys(SPEC_OPTIONS).join(', ')}`, k);
    entry[0](v, `${path}.${k}`);
  }
  return options;
}
