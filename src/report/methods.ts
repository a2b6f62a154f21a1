/**
 * The report's Methods section, generated from what ran: the data of each target (split, the sizes and
 * positives of its validation and test sets, how training subsets were drawn and what they held), the
 * preprocessing, the recipe of every stage, how max_lr was chosen, the source models and the
 * statistics. Plain text paragraphs (the page escapes them); every number comes from the spec or the
 * runs' own records, never from the protocol's defaults alone.
 */
import { runResult, type RunRow } from '../experiments/db.js';
import type { ArmConfig, DatasetSpec, RunResult } from '../experiments/types.js';
import type { ExperimentReport } from './data.js';

export interface MethodsParagraph {
  heading: string;
  text: string;
}

const list = (xs: (string | number)[]) =>
  xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The options of a target as its runs read them (the arm's options override the dataset's). */
function optionOf(r: ExperimentReport, key: string, fallback: number): number {
  const fromArm = r.arms
    .map((a) => (JSON.parse(a.armJson) as ArmConfig).options?.[key])
    .find((v) => typeof v === 'number');
  const fromData = r.spec.targets.map((t) => t.options[key]).find((v) => typeof v === 'number');
  return (fromArm ?? fromData ?? fallback) as number;
}

function doneResults(runs: RunRow[]): Partial<RunResult>[] {
  return runs.filter((x) => x.status === 'done').map(runResult);
}

function datasetWords(d: DatasetSpec, simulated: boolean): string {
  const labels = (d as DatasetSpec & { label?: string }).label
    ? [(d as DatasetSpec & { label?: string }).label!]
    : (d.labels ?? []);
  const what = simulated
    ? `torchxfer's SIMULATED ${d.dataset.startsWith('phantom-msk') ? 'limb' : 'chest'} phantoms`
    : `${d.dataset} data`;
  const task =
    labels.length === 1
      ? `binary task ${labels[0]}`
      : labels.length
        ? `${labels.length} labels (${list(labels)})`
        : 'all of its labels';
  return `${what}, ${task}`;
}

function splitWords(d: DatasetSpec): string {
  return d.options.split === 'random'
    ? 'patient, 70/10/20 at random'
    : 'patient: the official test list, 10% of the other patients for validation (70/10/20 at random without an official list)';
}

/** One paragraph per target: its data, its fixed evaluation sets and what the training subsets really held. */
function dataParagraph(r: ExperimentReport, target: DatasetSpec): string {
  // Arms of several figures share runs (one key per config): each run counts once.
  const runs = [
    ...new Map(
      r.arms
        .filter((a) => a.target === target.name)
        .flatMap((a) => a.runs)
        .map((x) => [x.key, x]),
    ).values(),
  ];
  const results = doneResults(runs);
  const sizes = results.map((x) => x.evalSizes).filter((e) => e !== undefined);
  // The sets follow the seed: one size when every seed drew the same, else the range.
  const span = (f: (e: (typeof sizes)[number]) => number) => {
    const v = sizes.map(f);
    return Math.min(...v) === Math.max(...v) ? `${v[0]}` : `${Math.min(...v)} to ${Math.max(...v)}`;
  };
  const evalText = sizes.length
    ? `validation ${span((e) => e.val)} images (${span((e) => e.valPositives)} positive), test ${span((e) => e.test)} (${span((e) => e.testPositives)} positive)`
    : 'validation and test sizes not recorded by these runs';
  const counts = results.map((x) => x.counts).filter((c): c is NonNullable<RunResult['counts']> => c !== undefined);
  const short = counts.filter((c) => c.uniqueImages < c.nRequested);
  const dropped = Math.max(0, ...counts.map((c) => c.droppedFiles));
  let text = `${target.name}: ${datasetWords(target, r.simulated)}, split by ${splitWords(target)}; ${evalText}.`;
  if (counts.length) {
    text += short.length
      ? ` ${plural(short.length, 'run')} of ${counts.length} had fewer unique training images than N (as few as ${Math.min(...short.map((c) => c.uniqueImages))} unique, ${Math.min(...short.map((c) => c.uniquePositives))} positive): the rest were repeats.`
      : ` All ${counts.length} recorded runs trained on N distinct images.`;
    if (dropped) text += ` ${plural(dropped, 'file')} that could not be read were removed before sampling.`;
  }
  return text;
}

/** How training subsets were drawn (once for the experiment). */
function samplingSentence(r: ExperimentReport): string {
  const grid = [...new Set(r.arms.flatMap((a) => a.nGrid))].sort((a, b) => a - b);
  return (
    'Validation and test sets are drawn once per target and seed (the patient split and the balanced sets follow the seed) and shared by every N and arm of that seed, so paired tests compare arms on the same images. ' +
    `Training subsets of N = ${list(grid)} were drawn once per (N, seed), ` +
    `${plural(r.spec.seeds.length, 'seed')} (${list(r.spec.seeds)}): balanced 50/50 for binary targets, every unique positive and negative used once before any is repeated; the first N of one seeded shuffle for multi-label targets.`
  );
}

function preprocessingParagraph(r: ExperimentReport): string {
  const size = optionOf(r, 'imageSize', 250);
  const crop = optionOf(r, 'crop', Math.min(size, Math.round((size * 236) / 250)));
  const ttas = [
    ...new Set(
      r.arms
        .filter((a) => (JSON.parse(a.armJson) as ArmConfig).method !== 'radiomics')
        .map((a) => (JSON.parse(a.armJson) as ArmConfig).tta),
    ),
  ];
  const tta = ttas.length
    ? ` Test predictions averaged the centre crop and ${list(ttas)} augmented copies (test-time augmentation); AUCs are reported with and without it.`
    : '';
  return (
    `Images were read as 8-bit grey and resized to ${size}x${size} pixels. Training batches were augmented with random ${crop}x${crop} crops, ` +
    `horizontal flips (p = 0.5) and rotations uniform within ±10 degrees; validation and test used the centre crop.${tta}`
  );
}

const POLICY_WORDS: Record<string, string> = {
  'one-cycle':
    'one-cycle: cosine from max_lr/25 up to max_lr over the first 30% of the iterations, then down to max_lr/25000, momentum 0.95 to 0.85 and back',
  regular: 'regular: max_lr, divided by 10 whenever an epoch does not improve the validation loss',
};

const STRATEGY_WORDS: Record<string, string> = {
  'feature-extractor': 'feature extractor: only the head trains (layer groups 1-2 frozen throughout)',
  'fine-tune': 'fine-tune: every layer trains from the first step at one learning rate',
  'gradual-unfreeze':
    'gradual-unfreeze: discriminative learning rates (groups 1, 2, 3 at max_lr/9, /3, /1), group 2 unfrozen after 10% and group 1 after 20% of the iterations',
  discriminative: 'discriminative: the same learning rates with every layer training from the first step',
};

function initWords(a: ArmConfig): string {
  if (a.source === 'none') return 'default (random) init';
  const of = a.source === 'imagenet' ? 'ImageNet' : `source ${a.source}`;
  if (a.init !== 'moments') return `${of} weights`;
  return `moments of the ${of} weights (${a.options?.momentsScope === 'all' ? 'every tensor' : 'convolution weights'} re-drawn with each tensor's mean and standard deviation)`;
}

/** An arm's recipe in a few words (the policies and strategies are defined once, in the Training paragraph). */
export function recipeWords(a: ArmConfig): string {
  if (a.method === 'radiomics') return 'radiomic features with the best of four classifiers';
  return `${a.arch}, ${initWords(a)}, ${a.strategy}, ${a.policy}`;
}

const RADIOMICS_WORDS =
  'Radiomics: 79 features per image (GLCM at distances 1, 2, 4, 6 and angles 0, 45, 90 degrees; mean, standard deviation, central moments 2-5; entropy), logistic regression with L1, L2 and elastic-net penalties and a random forest, tuned by random search with cross-validation on the training subset; the one with the best validation AUC was tested.';

function trainingParagraph(r: ExperimentReport): string {
  const arms = r.arms.map((a) => ({ a, cfg: JSON.parse(a.armJson) as ArmConfig }));
  const cnn = arms.filter((x) => x.cfg.method !== 'radiomics').map((x) => x.cfg);
  const one = <T>(f: (c: ArmConfig) => T) => [...new Set(cnn.map(f))];
  const common = cnn.length
    ? `Networks: ${one((c) => (c.optimizer === 'adam' ? 'Adam' : 'SGD with momentum')).join(' or ')}, batch ${list(one((c) => c.batchSize))}, ${list(one((c) => c.epochs))} epochs, the checkpoint with the lowest validation loss kept. ` +
      `Policies: ${one((c) => c.policy)
        .map((p) => POLICY_WORDS[p] ?? p)
        .join('; ')}. Strategies: ${one((c) => c.strategy)
        .map((x) => STRATEGY_WORDS[x] ?? x)
        .join('; ')}.`
    : '';
  const byFigure = new Map<string, typeof arms>();
  for (const x of arms)
    byFigure.set(`${x.a.figure}\u0000${x.a.group}`, [...(byFigure.get(`${x.a.figure}\u0000${x.a.group}`) ?? []), x]);
  const figures = [...byFigure].map(([key, xs]) => {
    const [figure, group] = key.split('\u0000') as [string, string];
    const recipes = new Map<string, string[]>();
    for (const { a, cfg } of xs)
      recipes.set(recipeWords(cfg), [...new Set([...(recipes.get(recipeWords(cfg)) ?? []), a.name])]);
    const label = /^\d+$/.test(figure) ? `Fig. ${figure} (${group})` : figure;
    return `${label}: ${[...recipes].map(([words, names]) => `${list(names)} (${words})`).join('; ')}.`;
  });
  return [common, ...figures, arms.some((x) => x.cfg.method === 'radiomics') ? RADIOMICS_WORDS : '']
    .filter(Boolean)
    .join(' ');
}

function maxLrParagraph(r: ExperimentReport): string {
  const found = r.arms.filter((a) => a.maxLrFrom?.mode === 'found');
  const given = r.arms.filter((a) => a.maxLrFrom?.mode === 'given');
  const parts: string[] = [];
  if (found.length) {
    const rules = [...new Set(found.map((a) => (a.maxLrFrom as { rule: string }).rule))];
    const ruleText = rules
      .map((x) =>
        x === 'minimum'
          ? "the loss minimum (the paper's rule)"
          : x === 'valley'
            ? "fastai's valley"
            : x === 'min-div-10'
              ? 'the loss minimum / 10'
              : x,
      )
      .join(' or ');
    parts.push(
      `For ${plural(found.length, 'arm')} max_lr was chosen by the learning-rate finder (exponential ramp, weights restored afterwards) at ${ruleText}, once per target and arm at the arm's largest N, and reused for every smaller N; the other rules' suggestions are recorded with each run.`,
    );
  }
  if (given.length) {
    const values = [...new Set(given.map((a) => (JSON.parse(a.armJson) as ArmConfig).maxLr))];
    parts.push(
      `For ${plural(given.length, 'arm')} max_lr was fixed in the spec at ${list(values.map(String))} (no finder).`,
    );
  }
  return parts.join(' ');
}

function sourcesParagraph(r: ExperimentReport): string {
  if (!r.sources.length && !r.spec.weightSources?.length) return '';
  const parts = r.sources.map((s) => {
    const arm = JSON.parse(s.arm_json) as ArmConfig;
    const res = runResult(s);
    const auc = s.test_auc_tta ?? s.test_auc;
    const n = res.counts
      ? `${res.counts.nTrained} training images`
      : s.n === null
        ? 'its whole training split'
        : `N = ${s.n}`;
    const test = res.evalSizes ? ` (${res.evalSizes.test} test images)` : '';
    const spec = r.spec.sources.find((x) => x.name === s.data_name);
    const task = spec ? `${datasetWords(spec, r.simulated)}, ` : '';
    return `${s.data_name} (${task}${arm.arch}, ${n}, ${plural(arm.epochs, 'epoch')}): ${s.status === 'done' && auc !== null ? `held-out test AUC ${auc.toFixed(3)}${test}` : `not finished (${s.status})`}`;
  });
  for (const w of r.spec.weightSources ?? [])
    parts.push(`${w.name}: published ${w.arch} weights ${w.weights}, used as given (not trained or tested here)`);
  return [
    `Source models, trained once per architecture and seed and reused by every arm naming them: ${parts.join('; ')}.`,
    ...sharedFindings(r),
  ].join(' ');
}

/**
 * A source trained on a target's own finding (another population's images) passes on more than the
 * anatomy: the reader must know before crediting "same anatomy" with its lift.
 */
function sharedFindings(r: ExperimentReport): string[] {
  const used = new Set(r.sources.map((s) => s.data_name));
  return r.spec.sources
    .filter((source) => used.has(source.name))
    .flatMap((source) =>
      r.spec.targets.flatMap((t) => {
        const shared = (t.labels ?? []).filter((l) => source.labels?.includes(l));
        if (!shared.length) return [];
        return [
          `The source ${source.name} was trained on ${list(shared)}, the finding target ${t.name} is tested on: it can pass on that finding, not only the anatomy (CheXpert's five labels, the paper's chest source, include Cardiomegaly).`,
        ];
      }),
    );
}

const STATISTICS =
  'Test AUCs count ties as half (as scikit-learn); a multi-label AUC is the mean of the per-label AUCs (a label with one class in the test set has none). ' +
  'Intervals are 95% bootstrap intervals over the test images (1000 resamples, percentile), averaged over seeds where figures draw them. ' +
  'Arms are compared with paired two-sided t-tests over the N grid (pairs: the means over seeds at the same N, as the paper) and over every (N, seed) run both arms have; failed runs and runs of superseded specs are left out of every mean and test.';

/** The Methods section of one experiment, paragraph by paragraph. */
export function methodsSection(r: ExperimentReport): MethodsParagraph[] {
  const targets = r.spec.targets.filter((t) => r.arms.some((a) => a.target === t.name));
  return [
    { heading: 'Data', text: [...targets.map((t) => dataParagraph(r, t)), samplingSentence(r)].join(' ') },
    { heading: 'Preprocessing and augmentation', text: preprocessingParagraph(r) },
    { heading: 'Training', text: trainingParagraph(r) },
    { heading: 'Learning rate', text: maxLrParagraph(r) },
    { heading: 'Source models', text: sourcesParagraph(r) },
    { heading: 'Statistics', text: STATISTICS },
  ].filter((p) => p.text !== '');
}
