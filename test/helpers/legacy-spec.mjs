// A spec in the spellings specs used before the recipe schema (onecycle, gradual, find, labelsCsv,
// valSize, testSize, negativeFor, tta booleans): its run keys must not change.
export const LEGACY_SPEC = {
  name: 'legacy',
  mode: 'stagewise',
  nGrid: [50, 100],
  seeds: [0, 1],
  targets: [
    {
      name: 'scans',
      dataset: 'dicom',
      root: '/d',
      label: 'Effusion',
      options: { labelsCsv: '/d/labels.csv', key: 'SOPInstanceUID', valSize: 30, testSize: 40 },
    },
    { name: 'chest', dataset: 'nih', root: '/n', label: 'Emphysema', options: { split: 'official' } },
  ],
  sources: [
    {
      name: 'c13',
      dataset: 'nih',
      root: '/n',
      n: 'all',
      disjointFromTarget: 'chest',
      train: { epochs: 3, policy: 'onecycle', tta: false },
    },
    {
      name: 'neg',
      dataset: 'nih',
      root: '/n',
      n: 500,
      targets: ['scans'],
      options: { negativeFor: 'Hernia', excludeNGrid: [50, 100], testSize: 20 },
      train: { strategy: 'gradual' },
    },
  ],
  base: { policy: 'regular', strategy: 'fine-tune', maxLr: 'find', tta: true, options: { lrRule: 'valley' } },
  stages: [
    { name: 'policy', vary: 'policy', values: ['regular', 'onecycle'], winner: { rule: 'fixed', value: 'onecycle' } },
    { name: 'lr', vary: 'maxLr', values: ['find', 0.001], winner: { rule: 'paired-t', simpler: 'find' } },
    {
      name: 'strategy',
      base: { source: 'c13', init: 'pretrained' },
      vary: 'strategy',
      values: ['fine-tune', 'gradual'],
      winner: { rule: 'fixed', value: 'gradual' },
    },
    {
      name: 'named',
      arms: [
        { name: 'a', policy: 'one-cycle', strategy: 'gradual-unfreeze', source: 'neg' },
        { name: 'b', source: 'none', strategy: 'gradual', tta: false },
      ],
    },
  ],
};
