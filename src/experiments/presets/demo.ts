/**
 * A small experiment on the synthetic phantoms that finishes in about 15 minutes on 2 CPU cores:
 * one-cycle vs regular, then a chest source task (same anatomy) vs an msk source task (other
 * anatomy) vs no transfer, on a chest target over N = 50, 100, 200 with few epochs and small images.
 */
export function demoSpec(): unknown {
  // Workload: ~8,000 training image-steps (ResNet50 at 96 px) and ~11,000 evaluated images (TTA x5).
  const small = { imageSize: 96, valSize: 80, testSize: 150 };
  return {
    name: 'demo',
    mode: 'stagewise',
    nGrid: [50, 100, 200],
    seeds: [0],
    targets: [{ name: 'chest-emphysema', dataset: 'phantom-chest', label: 'Emphysema', options: { ...small, seed: 1 } }],
    sources: [
      { name: 'chest-source', dataset: 'phantom-chest', labels: ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Edema'], n: 400, options: { ...small, seed: 2 }, train: { epochs: 3, policy: 'onecycle' } },
      { name: 'msk-source', dataset: 'phantom-msk', n: 400, options: { ...small, seed: 3 }, train: { epochs: 3, policy: 'onecycle' } },
    ],
    base: { arch: 'resnet50', policy: 'regular', strategy: 'fine-tune', source: 'none', init: 'default', optimizer: 'adam', epochs: 4, maxLr: 0.001, batchSize: 16, tta: true, options: { imageSize: 96 } },
    stages: [
      { name: 'training-policy', vary: 'policy', values: ['regular', 'onecycle'], winner: { rule: 'mean-auc', metric: 'testAucTta' } },
      { name: 'source', arms: [{ source: 'none' }, { source: 'chest-source' }, { source: 'msk-source' }], base: { init: 'pretrained' }, winner: { rule: 'mean-auc', metric: 'testAucTta' } },
    ],
  };
}
