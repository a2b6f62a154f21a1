/**
 * A small experiment on the built-in phantoms (DEFAULT_PHANTOMS: the chest set in NIH layout, the limb
 * set in MURA layout) meant to finish in about 15 minutes on 2 CPU cores: one-cycle vs regular, then a
 * chest source task (same anatomy, images disjoint from the target's) vs a limb source task (other
 * anatomy) vs no transfer, on the chest Cardiomegaly target over N = 50, 100, 200, few epochs, small images.
 * The chest source is another simulated population (phantomSeed), so no patient or image is shared
 * with the target. Sources train from torchvision's init (no ImageNet weights can be downloaded offline).
 * Datasets 'phantom-chest' / 'phantom-msk' name those default sets (the runner generates them if missing).
 */
export function demoSpec(): unknown {
  // Workload: ~8,000 training image-steps (ResNet50 at 96 px) and ~11,000 evaluated images (TTA x5).
  const small = { imageSize: 96, valSize: 80, testSize: 150 };
  return {
    name: 'demo',
    mode: 'stagewise',
    nGrid: [50, 100, 200],
    seeds: [0],
    targets: [{ name: 'chest-cardiomegaly', dataset: 'phantom-chest', label: 'Cardiomegaly', options: { ...small, balanced: true } }],
    sources: [
      {
        name: 'chest-source', dataset: 'phantom-chest', labels: ['Atelectasis', 'Effusion', 'Mass', 'Nodule'], n: 400,
        options: { ...small, phantomSeed: 2021 }, train: { epochs: 3, policy: 'onecycle', source: 'none', init: 'default' },
      },
      { name: 'msk-source', dataset: 'phantom-msk', n: 400, options: small, train: { epochs: 3, policy: 'onecycle', source: 'none', init: 'default' } },
    ],
    base: { arch: 'resnet50', policy: 'regular', strategy: 'fine-tune', source: 'none', init: 'default', optimizer: 'adam', epochs: 4, maxLr: 0.001, batchSize: 16, tta: true, options: { imageSize: 96 } },
    stages: [
      { name: 'training-policy', vary: 'policy', values: ['regular', 'onecycle'], winner: { rule: 'mean-auc', metric: 'testAucTta' } },
      { name: 'source', arms: [{ source: 'none' }, { source: 'chest-source' }, { source: 'msk-source' }], base: { init: 'pretrained' }, winner: { rule: 'mean-auc', metric: 'testAucTta' } },
    ],
  };
}
