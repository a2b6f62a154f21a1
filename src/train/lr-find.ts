/**
 * The learning-rate finder (SPEC "Learning-rate finder"): an exponential LR ramp over up to numIter
 * steps, stopped when the smoothed loss passes 4x its best; the model's weights are restored after.
 * The paper picks max_lr at the loss minimum ("min"); fastai's "valley" is offered too.
 */
import type { ImageCache } from '../data/cache.js';
import { deriveSeed, mulberry32 } from '../random.js';
import type { Model } from '../model.js';
import { lrFinderChart } from '../plot/index.js';
import { REGULAR_MOMENTUM } from '../schedule/index.js';
import { analyseLrFinder, LrFinderTracker, lrRamp, type LrFinderCurve } from './lr-finder-analysis.js';
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
export async function runLrFinder(model: Model, trainer: Trainer, cache: ImageCache, rows: number[], targets: Float32Array, opts: LrFindOptions): Promise<LrFindResult> {
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
      const picks = Array.from({ length: Math.min(opts.batchSize, rows.length) }, () => Math.floor(rand() * rows.length));
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

/** `lrFind(config)`: prepares the run's data and model as `train` would and runs the finder alone. */
export async function lrFind(
  configInput: Partial<import('./config.js').TrainConfig> & { out: string },
  opts: { numIter?: number; start?: number; end?: number; progress?: NodeJS.WritableStream | null; signal?: AbortSignal } = {},
): Promise<LrFindResult & { svg: string }> {
  const { resolveTrainConfig } = await import('./config.js');
  const { prepareData } = await import('./data.js');
  const { initModel } = await import('./init.js');
  const { Trainer } = await import('./trainer.js');
  const { Progress } = await import('../progress.js');
  const { resolveDevice } = await import('../runtime.js');
  const config = resolveTrainConfig(configInput);
  await (await import('./init-check.js')).checkInitFile(config);  // before any image is decoded
  const data = await prepareData(config, { progress: opts.progress });
  const init = await initModel(config, data.labels);
  const { frozenGroupsAtStart } = await import('../schedule/strategy.js');
  const discriminative = config.strategy === 'gradual-unfreeze' || config.strategy === 'discriminative';
  const frozenStart = frozenGroupsAtStart(config.strategy) > 0;
  const trainer = new Trainer(init.model, { optimizer: config.optimizer, crop: config.crop, mean: init.normalisation.mean, std: init.normalisation.std, seed: config.seed, device: resolveDevice(config.device) });
  const numIter = opts.numIter ?? 100;
  const bar = new Progress({ total: numIter, label: 'lr-find', unit: 'step', stream: opts.progress });
  try {
    init.model.setFrozenBatchNorm(config.frozenBatchNorm);
    init.model.setTraining(true);
    const curve = await runLrFinder(init.model, trainer, data.cache, data.splits.train.rows, data.splits.train.targets, {
      numIter,
      start: opts.start,
      end: opts.end,
      batchSize: config.batchSize,
      labels: data.labels.length,
      seed: config.seed,
      divisors: discriminative ? [9, 3, 1] : [1, 1, 1],
      trainable: [!frozenStart, !frozenStart, true],
      momentum: config.policy === 'regular' ? REGULAR_MOMENTUM : config.momentum[0],
      onStep: (_i, lr, loss) => bar.tick(1, { lr, loss }),
      signal: opts.signal,
    });
    bar.finish();
    return { ...curve, svg: lrFinderChart(curve) };
  } finally {
    trainer.dispose();
    init.model.dispose();
    data.cache.close();
  }
}
