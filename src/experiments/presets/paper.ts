/**
 * The paper's experiments (docs/protocol.md, "The paper's experiments"), one stage per figure, on four
 * ChestX-ray14 targets over the N grid 50, 100, 200, 400, 600, ..., 2000:
 * Fig. 3 radiomics vs DenseNet121 (regular training, without and with ImageNet weights) on Emphysema
 * and Hernia; Fig. 4 regular vs one-cycle from the default init, every layer trainable; Fig. 5 feature
 * extractor vs fine-tune vs gradual unfreezing (ImageNet weights); Fig. 6 source data with DenseNet121
 * (ChestX-ray13 for Emphysema only); Fig. 7 source data with ResNet50 (four sources); Fig. 8 on
 * Emphysema: default init vs moments of the ImageNet convolution weights vs the ImageNet weights.
 * max_lr at the finder's loss minimum (the paper's rule). Decisions between stages are the paper's (one-cycle after
 * Fig. 4, gradual
 * unfreezing after Fig. 5); the report says whether this run's results agree.
 * With `sameAnatomyWeights` (published chest X-ray weights the user has, e.g. TorchXRayVision's),
 * Fig. 6 offers them as one more source: the same-anatomy alternative to ImageNet, nothing trained.
 * Roots come from the options or from NIH_ROOT, CHEXPERT_ROOT and MURA_ROOT (an unset one is
 * reported naming the variable).
 */
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';

import { NIH_LABELS } from '../../data/datasets/nih.js';
import { OptionError } from '../../errors.js';
import { getWeightsEntry } from '../../weights/manifest.js';
import type { SizeTable } from '../layout.js';

/** Options of the built-in presets (only the paper preset takes any). */
export interface PresetOptions {
  /** Dataset roots for the paper preset (else the NIH_ROOT, CHEXPERT_ROOT, MURA_ROOT environment variables). */
  nihRoot?: string;
  chexpertRoot?: string;
  muraRoot?: string;
  /**
   * Published same-anatomy weights for the paper preset (a registry name such as
   * densenet121-res224-chex, or a DenseNet121 weights file): offered in Fig. 6 as one more source.
   */
  sameAnatomyWeights?: string;
}

export const PAPER_NGRID = [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000];

/**
 * The source entry for published same-anatomy weights, named for the figure's legend (xrv-chex for
 * densenet121-res224-chex). Registry weights trained on NIH images are refused: every target of the
 * preset is an NIH task, so they would have seen its test images (RSNA's images are NIH's too).
 */
export function sameAnatomySource(weights: string): { name: string; weights: string; arch: 'densenet121' } {
  if (existsSync(weights)) {
    const stem = basename(weights, extname(weights))
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 40);
    return { name: `weights-${stem}`, weights, arch: 'densenet121' };
  }
  let entry;
  try {
    entry = getWeightsEntry(weights);
  } catch {
    throw new OptionError(
      '--same-anatomy-weights',
      'a registry name (torchxfer weights list) or an existing weights file',
      weights,
    );
  }
  if (entry.architecture !== 'densenet121')
    throw new OptionError(
      '--same-anatomy-weights',
      'DenseNet121 weights (Fig. 6 trains DenseNet121)',
      `${weights} (${entry.architecture})`,
    );
  if (/\b(NIH|RSNA)\b/.test(String(entry.trainedOn ?? ''))) {
    throw new OptionError(
      '--same-anatomy-weights',
      'weights not trained on NIH ChestX-ray14 images (the targets are NIH tasks: these weights have seen their test images); e.g. densenet121-res224-chex, -mimic_ch or -pc',
      `${weights} (trained on ${String(entry.trainedOn)})`,
    );
  }
  return { name: weights.replace(/^densenet121-res224-/, 'xrv-'), weights, arch: 'densenet121' };
}

export function paperSpec(opts: PresetOptions): unknown {
  const nih = opts.nihRoot ?? '${NIH_ROOT}';
  const published = opts.sameAnatomyWeights === undefined ? [] : [sameAnatomySource(opts.sameAnatomyWeights)];
  return {
    name: 'paper',
    mode: 'stagewise',
    nGrid: PAPER_NGRID,
    seeds: [0],
    targets: paperTargets(nih),
    sources: [...paperSources(opts, nih), ...published],
    // max_lr at the LR finder's loss minimum (the paper, II.D), tuned at N = 2000 and reused for every N.
    base: {
      arch: 'densenet121',
      policy: 'regular',
      strategy: 'fine-tune',
      source: 'imagenet',
      init: 'pretrained',
      optimizer: 'adam',
      epochs: 20,
      maxLr: 'auto',
      batchSize: 16,
      tta: 4,
      options: { lrRule: 'minimum' },
    },
    stages: paperStages(published.map((p) => p.name)),
  };
}

function paperTargets(nih: string): unknown[] {
  return [
    { name: 'chestxray14', dataset: 'nih', root: nih, labels: [...NIH_LABELS], options: { split: 'official' } },
    {
      name: 'pneumonia',
      dataset: 'nih',
      root: nih,
      label: 'Pneumonia',
      options: { split: 'official', balanced: true },
    },
    {
      name: 'emphysema',
      dataset: 'nih',
      root: nih,
      label: 'Emphysema',
      options: { split: 'official', balanced: true },
    },
    { name: 'hernia', dataset: 'nih', root: nih, label: 'Hernia', options: { split: 'official', balanced: true } },
  ];
}

function paperSources(opts: PresetOptions, nih: string): unknown[] {
  return [
    { name: 'mura', dataset: 'mura', root: opts.muraRoot ?? '${MURA_ROOT}', n: 'all', train: { epochs: 5 } },
    {
      name: 'chexpert',
      dataset: 'chexpert',
      root: opts.chexpertRoot ?? '${CHEXPERT_ROOT}',
      n: 'all',
      labels: ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'],
      options: {
        frontalOnly: true,
        uncertain: { Atelectasis: 1, Edema: 1, Cardiomegaly: 0, Consolidation: 0, 'Pleural Effusion': 0 },
      },
      train: { epochs: 5 },
    },
    {
      // ~75 thousand Emphysema-negative images with the 13 other labels, no image of the Emphysema experiment.
      name: 'chestxray13',
      dataset: 'nih',
      root: nih,
      n: 'all',
      labels: NIH_LABELS.filter((l) => l !== 'Emphysema'),
      disjointFromTarget: 'emphysema',
      options: { split: 'official' },
      train: { epochs: 5 },
    },
  ];
}

/** The paper's figures, each decision as the paper took it; `published`: extra Fig. 6 sources (weights given). */
function paperStages(published: string[]): unknown[] {
  const sources = ['none', 'imagenet', 'mura', 'chexpert'];
  const mean = { rule: 'mean-auc', metric: 'testAucTta' };
  return [
    {
      name: 'radiomics-vs-cnn',
      figure: '3',
      targets: ['emphysema', 'hernia'],
      buildsOn: 'base',
      arms: [
        { name: 'radiomics', method: 'radiomics' },
        { name: 'cnn-none', source: 'none' },
        { name: 'cnn-imagenet', source: 'imagenet' },
      ],
      winner: mean,
    },
    // As the authors' training_methods/*.py: PyTorch's default init, every layer trainable (no transfer).
    {
      name: 'training-policy',
      figure: '4',
      buildsOn: 'base',
      base: { source: 'none', init: 'default' },
      vary: 'policy',
      values: ['regular', 'one-cycle'],
      winner: { rule: 'fixed', metric: 'testAucTta', value: 'one-cycle' },
    },
    {
      name: 'transfer-method',
      figure: '5',
      base: { source: 'imagenet', init: 'pretrained' },
      vary: 'strategy',
      values: ['feature-extractor', 'fine-tune', 'gradual-unfreeze'],
      winner: { rule: 'fixed', metric: 'testAucTta', value: 'gradual-unfreeze' },
    },
    // The no-transfer arm trains every layer from the first step at the same discriminative rates (normaliseArm).
    {
      name: 'source-data',
      figure: '6',
      vary: 'source',
      values: [...sources, 'chestxray13', ...published],
      winner: mean,
    },
    {
      name: 'source-data-resnet50',
      figure: '7',
      buildsOn: 'transfer-method',
      base: { arch: 'resnet50' },
      vary: 'source',
      values: sources,
      winner: mean,
    },
    // The authors' distribution_transfer_learning/emphysema.py: Emphysema only, the paper's single p-value.
    {
      name: 'initialisation',
      figure: '8',
      buildsOn: 'transfer-method',
      targets: ['emphysema'],
      base: { source: 'imagenet' },
      vary: 'init',
      values: ['default', 'moments', 'pretrained'],
      winner: mean,
    },
  ];
}

/**
 * The paper preset's datasets, as `experiment paper --plan` counts them on the published lists (seed 0;
 * official test list, 10% of train_val patients for validation, binary tasks balanced: all positives
 * plus as many negatives; source tasks train on the whole training split). `--estimate` sizes a job
 * from this table only where its dataset's lists are not on the machine, so both agree; a test checks
 * the table against the plan on the real lists. CheXpert's validation set (202 frontal) and MURA's
 * (3,060 images here: the published image list's valid rows) are the source tasks' test sets.
 */
export const PAPER_SIZES: SizeTable = {
  chestxray14: { train: 2000, val: 9195, test: 25596 },
  pneumonia: { train: 2000, val: 170, test: 954 },
  emphysema: { train: 2000, val: 316, test: 2186 },
  hernia: { train: 2000, val: 24, test: 172 },
  mura: { train: 33019, val: 3058, test: 3060 },
  chexpert: { train: 171703, val: 19324, test: 202 },
  chestxray13: { train: 71525, val: 8017, test: 23410 },
};
