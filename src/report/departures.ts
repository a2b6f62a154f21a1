/**
 * The report's Departures section: where this experiment does not do what the paper did, said where
 * the reader reads the results. Three kinds: torchxfer's own decisions against the authors' code (the
 * same list as docs/protocol.md, "Departures"), the spec's choices against the paper's protocol
 * (image size, epochs, TTA, capped evaluation sets, simulated data...), and what happened in the runs
 * (resampled training sets, coarse evaluation sets, wide intervals, divergence, failures).
 */
import { runResult } from '../experiments/db.js';
import type { ArmConfig, RunResult } from '../experiments/types.js';
import type { ExperimentReport } from './data.js';

/** torchxfer against the authors' public code (docs/protocol.md lists the same, in the same words). */
export const PROTOCOL_DEPARTURES = [
  "One-cycle ends at max_lr/25000 as the paper states; the authors' code (like PyTorch's OneCycleLR and fastai v1) ends at max_lr/250000.",
  "The one-cycle momentum is applied (SGD momentum or Adam beta1); the authors' code wrote it to a key Adam ignores.",
  "The random training crop is random; the authors' crop was always the top-left corner.",
  "Splits are by patient with the official test list (as the authors' code); the paper's text says a random 70/10/20 split.",
  'ChestX-ray13 removes only the images the Emphysema experiment uses (at every N), not its whole training pool.',
  'Under mixed precision (GPU) the head, the loss and the probabilities stay in float32; the authors trained in float32 throughout.',
  'Binary training subsets use every unique image before repeating one (the authors drew positives with replacement whenever they were short), and unreadable files are removed before sampling.',
];

/** The paper's protocol, as the spec's choices are compared with it. */
const PAPER = {
  imageSize: 250,
  crop: 236,
  epochs: 20,
  tta: 4,
  batchSize: 16,
  grid: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000],
};

/** A test-set AUC interval wider than this cannot separate the arms the paper compares. */
const WIDE_CI = 0.2;
const FEW_PER_CLASS = 10;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The spec against the paper's protocol: every choice that differs, in words. */
function specDepartures(r: ExperimentReport): string[] {
  const out: string[] = [];
  if (r.simulated)
    out.push(
      "The data are SIMULATED phantoms drawn by torchxfer, not patient images: the results show how the protocol's mechanisms act on a designed task, not clinical performance.",
    );
  const arms = r.arms.map((a) => JSON.parse(a.armJson) as ArmConfig).filter((a) => a.method !== 'radiomics');
  const values = <T>(f: (a: ArmConfig) => T) => [...new Set(arms.map(f))];
  const option = (a: ArmConfig, key: string) =>
    (a.options?.[key] ?? r.spec.targets.map((t) => t.options[key]).find((v) => v !== undefined)) as number | undefined;
  const sizes = values((a) => option(a, 'imageSize') ?? PAPER.imageSize).filter((v) => v !== PAPER.imageSize);
  if (sizes.length) out.push(`Images are ${sizes.join('/')} px instead of the paper's 250 (crop scaled with them).`);
  const epochs = values((a) => a.epochs).filter((v) => v !== PAPER.epochs);
  if (epochs.length) out.push(`Arms train ${epochs.join('/')} epochs instead of the paper's 20.`);
  const tta = values((a) => a.tta).filter((v) => v !== PAPER.tta);
  if (tta.length) out.push(`Test-time augmentation uses ${tta.join('/')} augmented copies instead of the paper's 4.`);
  const batch = values((a) => a.batchSize).filter((v) => v !== PAPER.batchSize);
  if (batch.length) out.push(`Batches of ${batch.join('/')} instead of the paper's 16.`);
  const fixed = values((a) => a.maxLr).filter((v): v is number => typeof v === 'number');
  if (fixed.length)
    out.push(`max_lr is fixed at ${fixed.join('/')} for some arms instead of found by the learning-rate finder.`);
  const rules = values((a) => (a.maxLr === 'auto' ? String(a.options?.lrRule ?? 'minimum') : 'minimum')).filter(
    (v) => v !== 'minimum',
  );
  if (rules.length)
    out.push(`max_lr is picked by the finder's ${rules.join('/')} rule, not at the loss minimum as the paper (II.D).`);
  for (const [key, what, size] of [
    ['valLimit', 'validation', 'val'],
    ['testLimit', 'test', 'test'],
  ] as const) {
    // A cap above every set the runs recorded cut nothing: the sets are whole.
    const recorded = r.runs
      .filter((x) => x.kind === 'target')
      .map((x) => (runResult(x) as Partial<RunResult>).evalSizes?.[size])
      .filter((v) => typeof v === 'number');
    const caps = [
      ...new Set(r.spec.targets.map((t) => t.options[key]).filter((v): v is number => typeof v === 'number')),
    ];
    const binding = caps.filter((cap) => !recorded.length || recorded.some((v) => v >= cap));
    if (binding.length)
      out.push(
        `The ${what} sets are capped at ${binding.join('/')} images (a seeded prefix), not the full balanced sets.`,
      );
  }
  const grid = [...new Set(r.arms.flatMap((a) => a.nGrid))].sort((a, b) => a - b);
  if (grid.join() !== PAPER.grid.join()) out.push(`Training-set sizes N = ${grid.join(', ')} (the paper: 50 to 2000).`);
  if (r.spec.seeds.length > 1) out.push(`${r.spec.seeds.length} seeds per (arm, N); the paper ran one.`);
  if (arms.some((a) => a.init === 'moments' && a.options?.momentsScope === 'all'))
    out.push('"Moments" re-draws every tensor; the paper re-drew the convolutional layers.');
  out.push(...policyFromSource(r));
  return out;
}

/**
 * Fig. 4 of the paper compares the policies from default initialisation; a spec may compare them fine-tuning from a
 * source.
 */
function policyFromSource(r: ExperimentReport): string[] {
  const fig4 = r.arms.filter((a) => a.figure === '4').map((a) => JSON.parse(a.armJson) as ArmConfig);
  const sources = [...new Set(fig4.map((a) => a.source).filter((s) => s !== 'none'))];
  if (!sources.length) return [];
  return [
    `Fig. 4 compares the training policies fine-tuning from ${sources.join('/')}; the paper's Fig. 4 trains from default initialisation without transfer.`,
  ];
}

/** What happened in the runs that a reader must know before trusting a number. */
function runDepartures(r: ExperimentReport): string[] {
  const out: string[] = [];
  const done = r.runs.filter((x) => x.status === 'done' && x.kind === 'target');
  const results = done.map((x) => ({ run: x, res: runResult(x) as Partial<RunResult> }));
  const resampled = results.filter(({ res }) => res.counts && res.counts.uniqueImages < res.counts.nRequested);
  if (resampled.length) {
    const worst = resampled.reduce((a, b) =>
      b.res.counts!.uniqueImages / b.res.counts!.nRequested < a.res.counts!.uniqueImages / a.res.counts!.nRequested
        ? b
        : a,
    );
    out.push(
      `${plural(resampled.length, 'run')} trained on fewer unique images than N (repeats drawn after every unique image was used once); the sparsest: N = ${worst.res.counts!.nRequested} from ${worst.res.counts!.uniqueImages} unique images (${worst.res.counts!.uniquePositives} positive) on ${worst.run.data_name}.`,
    );
  }
  const coarse = new Set(
    results
      .filter(
        ({ res }) =>
          res.evalSizes &&
          (res.evalSizes.valPositives < FEW_PER_CLASS ||
            res.evalSizes.val - res.evalSizes.valPositives < FEW_PER_CLASS),
      )
      .map(({ run }) => run.data_name),
  );
  if (coarse.size)
    out.push(
      `Validation sets with fewer than ${FEW_PER_CLASS} positives or negatives (${[...coarse].join(', ')}): the checkpoint kept (lowest validation loss) is a noisy choice.`,
    );
  const wide = results.filter(
    ({ res }) => Array.isArray(res.testAucCi) && res.testAucCi[1] - res.testAucCi[0] > WIDE_CI,
  );
  if (wide.length)
    out.push(
      `${plural(wide.length, 'run')} have a test-AUC 95% interval wider than ${WIDE_CI}: the test set cannot tell close arms apart there.`,
    );
  const diverged = results.filter(({ res }) => res.stoppedEarly === 'diverged');
  if (diverged.length)
    out.push(
      `${plural(diverged.length, 'run')} diverged (non-finite or exploding loss) and stopped early; their best checkpoint before divergence was tested.`,
    );
  const noAuc = done.filter((x) => x.test_auc === null);
  if (noAuc.length) out.push(`${plural(noAuc.length, 'run')} have no test AUC (a class missing from the test set).`);
  if (r.failed.length)
    out.push(`${plural(r.failed.length, 'run')} failed and are listed apart; they count in no mean and no test.`);
  if (r.superseded.length)
    out.push(
      `${plural(r.superseded.length, 'run')} in the database belong to an earlier version of this spec; they are listed apart and count in nothing.`,
    );
  const weak = r.sources.filter((s) => s.status === 'done' && (s.test_auc_tta ?? s.test_auc ?? 0) < 0.7);
  if (weak.length)
    out.push(
      `Source model(s) ${weak.map((s) => s.data_name).join(', ')} reached a held-out AUC below 0.7: what they transfer is weak, and the figures that use them say little about their anatomy.`,
    );
  return out;
}

export interface Departures {
  protocol: string[];
  spec: string[];
  runs: string[];
}

export function departures(r: ExperimentReport): Departures {
  return { protocol: PROTOCOL_DEPARTURES, spec: specDepartures(r), runs: runDepartures(r) };
}
