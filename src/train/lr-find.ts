/**
 * The learning-rate finder (SPEC "Learning-rate finder"): an exponential LR ramp over up to numIter
 * steps, stopped when the smoothed loss passes 4x its best; the model's weights are restored after.
 * The paper picks max_lr at the loss minimum ("min"); fastai's "valley" is offered too.
 */
import type { ImageCache } from '../data/cache.js';
import { deriveSeed, mulberry32 } from '../random.js';
import type { Model } from '../model.js';
import { lrFinderChart } from '../plot/index.js';
import { Progress } from '../progress.js';
import { analyseLrFinder, LrFinderTracker, lrRamp, type LrFinderCurve } from '../schedule/lr-finder.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { prepareData } from './data.js';
import { openRun } from './open-run.js';
import { lrFinderGroups } from './plan.js';
import { withScope } from './scope.js';
import type { Trainer } from './trainer.js';

export interface LrFindOptions {
  start?: number;
  end?: number;
  numIter?: number;
  batchSize: number;
  labels: number;
  seed: number;
  /** Learning-rate divisors of groups 1, 2, 3 and whether each trains (the strategy's first step). */
  divisors: [number, number, number];
  trainable: [boolean, boolean, boolean];
  momentum: number;
  onStep?: (i: number, lr: number, loss: number) => void;
  signal?: AbortSignal;
}

export interface LrFindResult extends LrFinderCurve {
  steps: number;
}

/** Runs the ramp with `trainer` on `model` (whose weights are restored afterwards). */
export async function runLrFinder(
  model: Model,
  trainer: Trainer,
  cache: ImageCache,
  rows: number[],
  targets: Float32Array,
  opts: LrFindOptions,
): Promise<LrFindResult> {
  const numIter = opts.numIter ?? 100;
  const ramp = lrRamp({ start: opts.start ?? 1e-7, end: opts.end ?? 10, numIter });
  const tracker = new LrFinderTracker();
  const saved = model.stateDict();
  const L = opts.labels;
  const { width, height } = cache.geometry;
  const rand = mulberry32(deriveSeed('lr-finder', opts.seed));
  model.freeze([0, 1, 2].filter((g) => !opts.trainable[g]));
  model.unfreeze([0, 1, 2].filter((g) => opts.trainable[g]));
  let steps = 0;
  try {
    for (let i = 0; i < numIter; i++) {
      opts.signal?.throwIfAborted();
      const picks = Array.from({ length: Math.min(opts.batchSize, rows.length) }, () =>
        Math.floor(rand() * rows.length),
      );
      const images = cache.readBatch(picks.map((p) => rows[p]!));
      const t = new Float32Array(picks.length * L);
      picks.forEach((p, k) => t.set(targets.subarray(p * L, (p + 1) * L), k * L));
      const lr = ramp(i);
      const res = await trainer.step({
        images,
        shape: [picks.length, 1, height, width],
        targets: t,
        lrs: opts.divisors.map((d) => lr / d),
        momenta: [opts.momentum, opts.momentum, opts.momentum],
        step: i,
      });
      steps++;
      const loss = res.finite ? res.loss : Infinity;
      opts.onStep?.(i, lr, loss);
      if (tracker.record(lr, loss)) break;
    }
  } finally {
    model.loadStateDict(saved);
    for (const t of Object.values(saved)) t.dispose();
  }
  const finite = tracker.losses.map((l) => (Number.isFinite(l) ? l : NaN));
  const keep = finite.findIndex((l) => Number.isNaN(l));
  const n = keep < 0 ? finite.length : keep;
  return { ...analyseLrFinder(tracker.lrs.slice(0, n), finite.slice(0, n)), steps };
}

/**
 * `lrFind(config)`: opens the run as `train` would (data, model, a Trainer with every training option)
 * and runs the finder alone, over the groups and LR divisors of the schedule's first step.
 */
export async function lrFind(
  configInput: Partial<TrainConfig> & { out: string },
  opts: {
    numIter?: number;
    start?: number;
    end?: number;
    progress?: NodeJS.WritableStream | null;
    signal?: AbortSignal;
  } = {},
): Promise<LrFindResult & { svg: string }> {
  const config = resolveTrainConfig(configInput);
  return withScope(async (scope) => {
    const opening = { data: () => prepareData(config, { progress: opts.progress }) };
    const { data, model, trainer } = await openRun(scope, config, opening);
    const train = data.splits.train;
    const numIter = opts.numIter ?? 100;
    const bar = new Progress({ total: numIter, label: 'lr-find', unit: 'step', stream: opts.progress });
    model.setTraining(true);
    const curve = await runLrFinder(model, trainer, data.cache, train.rows, train.targets, {
      numIter,
      start: opts.start,
      end: opts.end,
      batchSize: config.batchSize,
      labels: data.labels.length,
      seed: config.seed,
      ...lrFinderGroups(config, config.epochs * Math.ceil(train.samples.length / config.batchSize)),
      onStep: (_i, lr, loss) => bar.tick(1, { lr, loss }),
      signal: opts.signal,
    });
    bar.finish();
    return { ...curve, svg: lrFinderChart(curve) };
  });
}
