/**
 * The demo: a small SIMULATED benchmark on the built-in phantoms (DEFAULT_PHANTOMS) in which the
 * protocol's mechanisms have something to act on (docs/demo-design.md). The target, Cardiomegaly, is a
 * sign DenseNet121 learns from 200 images but not from 50. The same-anatomy source is another simulated
 * chest population (phantomSeed 2021: no patient or image shared with the target) labelled with other
 * findings drawn on the same anatomy (PHANTOM_DESIGN.chestSourceLabels, a ChestX-ray13-style source);
 * the other-anatomy source is the limb set (MURA layout). Sources train from random init (no ImageNet
 * weights offline), once: their checkpoints are cached with the phantoms and reused by every later run
 * of any experiment asking for the same recipe.
 *
 * One stage per paper figure, at demo scale (DenseNet121, 112 px, N = 50, three seeds): Fig. 4 regular
 * vs one-cycle (from scratch), Fig. 6 source (none / limbs / chest), Fig. 5 transfer method from the
 * chest source (feature extractor / fine-tune / gradual unfreezing), Fig. 8 initialisation (random / the
 * chest source's moments / its weights), Fig. 3 radiomics vs the network without and with the chest
 * source. One N, the smallest of the paper's grid, where its differences are largest: the whole preset
 * then takes about 12 minutes on 2 CPU cores with the sources cached (N = 100 for Figs 6 and 3 too took
 * 21; measured in docs/demo-design.md). Identical arms share their runs (one key per config): the scratch one-cycle arm
 * trains once for Figs 4, 6, 8 and 3, the chest-source fine-tune arm once for Figs 6, 5, 8 and 3.
 */
import { PHANTOM_DESIGN } from '../../data/phantom/design.js';

export const DEMO_SEEDS = [0, 1, 2];
export const DEMO_NGRID = [50];

/**
 * `torchxfer train`'s own phantom recipe (DenseNet121 from torchvision's init, 112 px, crop 104): the
 * smallest input at which Cardiomegaly has the difficulty curve the demo needs (32 and 64 px did not;
 * docs/demo-design.md). Validation and test sets are cut to what a stable AUC needs: the test set and its
 * TTA copies dominate a 50-image run's cost.
 */
const IMAGE = { imageSize: 112, crop: 104 };
const TARGET_OPTIONS = { ...IMAGE, valLimit: 40, testLimit: 100, balanced: true };
/**
 * The source tasks' recipe (their cache key: change it and they train anew). It sets every field of the
 * targets' base arm the demo might tune (max LR, TTA, policy, epochs), so tuning the targets leaves the
 * cached sources valid.
 */
const SOURCE_TRAIN = { epochs: 6, maxLr: 0.001, policy: 'one-cycle', source: 'none', init: 'default', tta: 4 };
const SOURCE_OPTIONS = { ...IMAGE, valLimit: 100, testLimit: 300 };

export function demoSpec(): unknown {
  const mean = { rule: 'mean-auc', metric: 'testAucTta' };
  const target = 'cardiomegaly';
  return {
    name: 'demo',
    mode: 'stagewise',
    nGrid: DEMO_NGRID,
    seeds: DEMO_SEEDS,
    targets: [{ name: target, dataset: 'phantom-chest', label: PHANTOM_DESIGN.target, options: TARGET_OPTIONS }],
    sources: [
      { name: 'chest-source', dataset: 'phantom-chest', labels: PHANTOM_DESIGN.chestSourceLabels, n: 800, options: { ...SOURCE_OPTIONS, phantomSeed: 2021 }, train: SOURCE_TRAIN },
      // The limb task learns late (validation AUC ~0.6 until epoch 8): 15 epochs reach test AUC 0.92, 6 only 0.73.
      { name: 'msk-source', dataset: 'phantom-msk', n: 800, options: SOURCE_OPTIONS, train: { ...SOURCE_TRAIN, epochs: 15 } },
    ],
    base: { arch: 'densenet121', policy: 'regular', strategy: 'fine-tune', source: 'none', init: 'default', optimizer: 'adam', epochs: 6, maxLr: 0.001, batchSize: 16, tta: 2, options: IMAGE },
    stages: [
      { name: 'training-policy', figure: '4', buildsOn: 'base', vary: 'policy', values: ['regular', 'one-cycle'], winner: { rule: 'fixed', metric: 'testAucTta', value: 'one-cycle' } },
      { name: 'source-data', figure: '6', buildsOn: 'training-policy', base: { init: 'pretrained' }, vary: 'source', values: ['none', 'msk-source', 'chest-source'], winner: mean },
      { name: 'transfer-method', figure: '5', buildsOn: 'training-policy', base: { source: 'chest-source', init: 'pretrained' }, vary: 'strategy', values: ['feature-extractor', 'fine-tune', 'gradual-unfreeze'], winner: mean },
      { name: 'initialisation', figure: '8', buildsOn: 'training-policy', base: { source: 'chest-source' }, vary: 'init', values: ['default', 'moments', 'pretrained'], winner: mean },
      {
        name: 'radiomics-vs-cnn', figure: '3', buildsOn: 'training-policy',
        arms: [{ name: 'radiomics', method: 'radiomics' }, { name: 'cnn-none', source: 'none' }, { name: 'cnn-chest', source: 'chest-source', init: 'pretrained' }],
        winner: mean,
      },
    ],
  };
}
