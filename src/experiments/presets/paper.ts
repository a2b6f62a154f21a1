/**
 * The paper's stage-wise protocol (SPEC.md "Stage-wise protocol"): training policy, transfer
 * strategy, source data (DenseNet121, repeated with ResNet50), initialisation; four ChestX-ray14
 * targets over the N grid 50, 100, 200, 400, 600, ..., 2000. Roots come from the options or from
 * NIH_ROOT, CHEXPERT_ROOT and MURA_ROOT (an unset one is reported naming the variable).
 */
import type { PresetOptions } from './index.js';

const NIH_LABELS = [
  'Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia',
  'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia',
];

export function paperSpec(opts: PresetOptions): unknown {
  const nih = opts.nihRoot ?? '${NIH_ROOT}';
  const pairedT = (simpler: string) => ({ rule: 'paired-t', metric: 'testAucTta', alpha: 0.05, simpler });
  const sourceValues = ['none', 'imagenet', 'mura', 'chexpert', 'chestxray13'];
  return {
    name: 'paper',
    mode: 'stagewise',
    nGrid: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000],
    seeds: [0],
    targets: [
      { name: 'chestxray14', dataset: 'nih', root: nih, labels: NIH_LABELS, options: { split: 'official' } },
      { name: 'pneumonia', dataset: 'nih', root: nih, label: 'Pneumonia', options: { split: 'official', balanced: true } },
      { name: 'emphysema', dataset: 'nih', root: nih, label: 'Emphysema', options: { split: 'official', balanced: true } },
      { name: 'hernia', dataset: 'nih', root: nih, label: 'Hernia', options: { split: 'official', balanced: true } },
    ],
    sources: [
      { name: 'mura', dataset: 'mura', root: opts.muraRoot ?? '${MURA_ROOT}', n: 'all', train: { epochs: 5 } },
      {
        name: 'chexpert', dataset: 'chexpert', root: opts.chexpertRoot ?? '${CHEXPERT_ROOT}', n: 'all',
        labels: ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'],
        options: { frontalOnly: true, uncertain: { Atelectasis: 1, Edema: 1, Cardiomegaly: 0, Consolidation: 0, 'Pleural Effusion': 0 } },
        train: { epochs: 5 },
      },
      {
        name: 'chestxray13', dataset: 'nih', root: nih, n: 'all', labels: NIH_LABELS.filter((l) => l !== 'Emphysema'),
        options: { negativeFor: 'Emphysema', disjointFromTarget: 'emphysema' }, train: { epochs: 5 },
      },
    ],
    base: { arch: 'densenet121', policy: 'regular', strategy: 'fine-tune', source: 'imagenet', init: 'pretrained', optimizer: 'adam', epochs: 20, maxLr: 'find', batchSize: 16, tta: true },
    stages: [
      { name: 'training-policy', vary: 'policy', values: ['regular', 'onecycle'], winner: pairedT('regular') },
      { name: 'transfer-method', vary: 'strategy', values: ['feature-extractor', 'fine-tune', 'gradual'], winner: pairedT('fine-tune') },
      { name: 'source-data', vary: 'source', values: sourceValues, winner: { rule: 'mean-auc', metric: 'testAucTta' } },
      { name: 'source-data-resnet50', vary: 'source', values: sourceValues, buildsOn: 'transfer-method', base: { arch: 'resnet50' }, winner: { rule: 'mean-auc', metric: 'testAucTta' } },
      { name: 'initialisation', vary: 'init', values: ['default', 'moments', 'pretrained'], buildsOn: 'source-data', winner: { rule: 'mean-auc', metric: 'testAucTta' } },
    ],
  };
}
