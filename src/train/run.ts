/**
 * One training run of the paper's method: data -> model init -> (LR finder) -> epochs of one-cycle or
 * regular training under a transfer strategy -> validation every epoch, keeping the lowest-loss
 * checkpoint -> test evaluation with and without TTA. Resumable (OUT/resume), interruptible (an
 * AbortSignal: the state is saved first), and observable (events on the returned TrainingRun).
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { saveCheckpoint } from '../checkpoint.js';
import { acquirePidLock } from '../lockfile.js';
import { deriveSeed, mulberry32 } from '../data/random.js';
import { bootstrapMacroAucCi } from '../metrics/index.js';
import { trainingCurvesChart } from '../plot/index.js';
import { toPng } from '../plot/index.js';
import { formatDuration, formatNumber, Progress } from '../progress.js';
import { resolveDevice, runtimeInfo, setNumThreads } from '../runtime.js';
import { oneCycle, RegularPolicy, scheduleChart, tabulate, trainingPlan, type TrainingPlan } from '../schedule/index.js';
import { version } from '../version.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { prepareData, type PreparedData } from './data.js';
import { evaluateRows } from './evaluate.js';
import { initModel, type InitResult } from './init.js';
import { lrFinderChart } from './lr-finder-analysis.js';
import { runLrFinder } from './lr-find.js';
import { ResumeState, writeJsonAtomic, type EpochRecord, type LoopPosition } from './state.js';
import { Trainer } from './trainer.js';
import type { DistributedContext } from '../distributed.js';
import { joinFromEnv, rankDevice, rankSlice } from './distributed.js';

export interface TrainResult {
  out: string;
  checkpoint: string;
  labels: string[];
  testAuc: number | null;
  testAucTta: number | null;
  /** 95% bootstrap interval of the TTA test AUC (macro over labels). */
  testAucCi: [number, number] | null;
  perLabelAuc: Record<string, number | null>;
  perLabelAucTta: Record<string, number | null>;
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochs: EpochRecord[];
  maxLr: number;
  sampleIdsHash: string;
  /** Why training ended early, if it did ('diverged', 'regular-policy', 'max-steps'). */
  stoppedEarly?: string;
  seconds: number;
  simulated: boolean;
}

export interface TrainEvents {
  log: [line: string];
  step: [info: { step: number; epoch: number; loss: number; lr: number; imagesPerSecond: number }];
  epoch: [record: EpochRecord];
}

export interface TrainOptions {
  /** Abort to stop: the state is saved first, and the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Progress bars; null silences them (default stderr). */
  progress?: NodeJS.WritableStream | null;
  /**
   * Data-parallel group: by default joined from the environment (RANK/WORLD_SIZE as torchrun sets, or
   * SLURM_PROCID/SLURM_NTASKS); null trains alone. Rank 0 alone logs, validates, tests and writes.
   */
  distributed?: DistributedContext | null;
}

/** A running training: a Promise of the result that also emits 'log', 'step' and 'epoch' events. */
export class TrainingRun extends EventEmitter<TrainEvents> implements PromiseLike<TrainResult> {
  readonly result: Promise<TrainResult>;
  constructor(body: (run: TrainingRun) => Promise<TrainResult>) {
    super();
    // Start on the next tick so listeners attached right after train() see every event.
    this.result = new Promise<void>((r) => setImmediate(r)).then(() => body(this));
  }
  then<A = TrainResult, B = never>(ok?: ((v: TrainResult) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result.then(ok, fail);
  }
  catch<B = never>(fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<TrainResult | B> {
    return this.result.catch(fail);
  }
}

/** Trains as `config` says (see TrainConfig); the returned run is awaitable and emits progress. */
export function train(config: Partial<TrainConfig> & { out: string }, options: TrainOptions = {}): TrainingRun {
  return new TrainingRun((run) => trainImpl(resolveTrainConfig(config), options, run));
}

function planFor(config: TrainConfig, steps: number, maxLr: number, regular: RegularPolicy | undefined): TrainingPlan {
  if (config.policy === 'one-cycle') {
    const oc = oneCycle({ maxLr, steps, divFactor: config.divFactor, finalDiv: config.finalDiv, convention: config.convention, maxMomentum: config.momentum[0], minMomentum: config.momentum[1] });
    return trainingPlan({ strategy: config.strategy, lr: oc.lr, momentum: oc.momentum, steps });
  }
  // Regular: the policy's current LR for the whole epoch; momentum fixed at the high value.
  return trainingPlan({ strategy: config.strategy, lr: () => regular!.lr, momentum: () => config.momentum[0], steps });
}

function writeFigure(path: string, svg: string): Promise<void> {
  writeFileSync(path, svg);
  return toPng(svg, path.replace(/\.svg$/, '.png')).then(() => undefined);
}

async function trainImpl(config: TrainConfig, options: TrainOptions, run: TrainingRun): Promise<TrainResult> {
  const started = performance.now();
  if (config.threads) setNumThreads(config.threads);
  const dist = options.distributed === undefined ? await joinFromEnv() : options.distributed;
  const isMain = !dist || dist.rank === 0;
  const log = (line: string) => isMain && run.emit('log', line);
  if (!isMain) options = { ...options, progress: null };
  const device = rankDevice(config.device, resolveDevice(config.device), dist);
  const channelsLast = config.channelsLast === 'auto' ? true : config.channelsLast;
  const out = resolve(config.out);
  mkdirSync(out, { recursive: true });
  // One writer per output folder: a second run (or resume) into it is refused while this one lives.
  // Ranks of one data-parallel run share the folder; rank 0 holds the lock.
  const release = isMain ? acquirePidLock(join(out, '.lock'), (pid) => `${out} is in use by another torchxfer run (pid ${pid}); wait for it or choose another --out`) : () => undefined;
  try {
    return await trainLocked(config, options, run, { out, started, log, device, channelsLast, dist, isMain });
  } finally {
    release();
  }
}

interface RunContext {
  out: string;
  started: number;
  log: (line: string) => void;
  device: string;
  channelsLast: boolean;
  dist: Awaited<ReturnType<typeof joinFromEnv>> | undefined;
  isMain: boolean;
}

async function trainLocked(config: TrainConfig, options: TrainOptions, run: TrainingRun, ctx: RunContext): Promise<TrainResult> {
  const { out, started, log, device, channelsLast, dist, isMain } = ctx;
  const state = new ResumeState(out);
  if (isMain && !config.resume && state.exists()) {
    throw new Error(`${out} already holds a run's resumable state: pass --resume to continue it, or choose another --out`);
  }

  // Rank 0 builds the image cache first; the others then open it.
  if (dist && !isMain) await dist.barrier();
  const data: PreparedData = await prepareData(config, { log, progress: options.progress });
  if (dist && isMain) await dist.barrier();
  const L = data.labels.length;
  const train = data.splits.train;
  log(
    `Data: ${data.source.simulated ? 'SIMULATED phantoms' : data.source.format} at ${data.source.root}; labels ${data.labels.join(', ')}; ` +
      `train ${train.samples.length}, validation ${data.splits.val.samples.length}, test ${data.splits.test.samples.length}`,
  );

  const init: InitResult = await initModel(config, data.labels);
  const model = init.model;
  if (init.report?.replaced.length) log(`Head replaced (${init.report.replaced.join(', ')}): ${L} output(s) instead of the file's.`);
  log(`Model: ${config.arch}, init ${init.description}, ${model.numParameters.toLocaleString()} parameters, device ${device}${channelsLast ? ', channels_last' : ''}`);
  model.setFrozenBatchNorm(config.frozenBatchNorm);

  const trainerOptions = {
    optimizer: config.optimizer,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
    crop: config.crop,
    mean: init.normalisation.mean,
    std: init.normalisation.std,
    seed: config.seed,
    device,
    channelsLast,
    autocast: device.startsWith('cuda') ? ('bf16' as const) : ('none' as const),
  };
  const trainer = new Trainer(model, trainerOptions);
  const { width, height } = data.cache.geometry;
  const stepsPerEpoch = Math.ceil(train.samples.length / config.batchSize);
  const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);

  let position: LoopPosition;
  if (config.resume && state.exists()) {
    const saved = await state.load(config);
    model.loadStateDict(saved.model);
    await trainer.loadOptimizerState(saved.optimizer);
    for (const t of [...Object.values(saved.model), ...Object.values(saved.optimizer)]) t.dispose();
    position = saved.position;
    log(`Resumed from ${state.dir}: epoch ${position.epoch + 1}, step ${position.step}.`);
  } else {
    let maxLr = typeof config.maxLr === 'number' ? config.maxLr : NaN;
    let lrFinder: LoopPosition['lrFinder'];
    if (config.maxLr === 'auto' && isMain) {
      const first = planFor(config, config.epochs * stepsPerEpoch, 1, new RegularPolicy({ maxLr: 1, maxEpochs: config.epochs })).at(0);
      const finder = new Trainer(model, trainerOptions);
      const bar = new Progress({ total: 100, label: 'lr-find', unit: 'step', stream: options.progress });
      try {
        const curve = await runLrFinder(model, finder, data.cache, train.rows, train.targets, {
          batchSize: config.batchSize,
          labels: L,
          seed: config.seed,
          divisors: [first[2].lr / first[0].lr, first[2].lr / first[1].lr, 1],
          trainable: [first[0].trainable, first[1].trainable, first[2].trainable],
          momentum: config.momentum[0],
          onStep: (_i, lr, loss) => bar.tick(1, { lr, loss }),
          signal: options.signal,
        });
        bar.finish();
        if (!curve.suggestions) throw new Error('the LR finder could not suggest a learning rate (the loss diverged at once); give --max-lr');
        maxLr = curve.suggestions.min.lr;
        lrFinder = { lrs: curve.lrs, losses: curve.losses, suggestion: maxLr };
        await writeFigure(join(out, 'lr-finder.svg'), lrFinderChart(curve));
        log(`LR finder: max_lr = ${formatNumber(maxLr)} (loss minimum; valley ${formatNumber(curve.suggestions.valley.lr)}); curve in ${join(out, 'lr-finder.svg')}`);
      } finally {
        finder.dispose();
      }
    }
    if (config.maxLr === 'auto' && dist) maxLr = (await dist.broadcast([maxLr]))[0]!;  // rank 0's finding
    position = { epoch: 0, batch: 0, step: 0, epochLossSum: 0, epochLossCount: 0, history: [], bestValLoss: null, bestEpoch: null, maxLr, lrFinder, done: false };
  }

  // The regular policy is replayed over the recorded validation losses (deterministic on resume).
  const regular = config.policy === 'regular' ? new RegularPolicy({ maxLr: position.maxLr, maxEpochs: config.epochs }) : undefined;
  for (const h of position.history) regular?.report(h.valLoss);
  const plan = planFor(config, config.epochs * stepsPerEpoch, position.maxLr, regular);
  if (dist) {
    await trainer.attachDistributed(dist);  // rank 0's weights everywhere; gradients averaged from now on
    log(`Data-parallel: ${dist.worldSize} ranks, global batch ${config.batchSize} split into contiguous per-rank slices.`);
  }
  if (isMain) await writeFigure(join(out, 'schedule.svg'), scheduleChart(tabulate(plan), `${config.policy} schedule, ${config.strategy}`));

  const checkpointPath = join(out, 'best.safetensors');
  const metadata = (metrics: Record<string, unknown>) => ({
    architecture: config.arch,
    labels: data.labels,
    preprocessing: init.preprocessing,
    greyMode: config.greyMode,
    sourceWeights: config.init,
    groups: model.groups.map((g) => ({ index: g.index, prefixes: g.prefixes })),
    training: { ...config, maxLr: position.maxLr },
    normalisation: init.normalisation,
    metrics,
    data: { root: data.source.root, format: data.source.format, simulated: data.source.simulated, sampleIdsHash: data.sampleIdsHash },
  });

  const saveState = async () => {
    if (!isMain) return;
    const weights = model.stateDict();
    const optim = await trainer.optimizerState();
    try {
      await state.save(config, position, weights, optim);
    } finally {
      for (const t of [...Object.values(weights), ...Object.values(optim)]) t.dispose();
    }
  };

  let stoppedEarly: string | undefined = position.done ? 'resumed-finished' : undefined;
  let trainable = [false, false, false];
  const applyTrainable = (wanted: boolean[]) => {
    if (wanted.every((w, g) => w === trainable[g])) return;
    const on = [0, 1, 2].filter((g) => wanted[g]);
    const off = [0, 1, 2].filter((g) => !wanted[g]);
    if (on.length) model.unfreeze(on);
    if (off.length) model.freeze(off);
    trainable = wanted.slice();
  };
  applyTrainable(plan.at(Math.min(position.step, plan.steps - 1)).map((s) => s.trainable));
  model.setTraining(true);

  try {
    while (!position.done && position.epoch < config.epochs) {
      const epoch = position.epoch;
      const epochStart = performance.now();
      const order = Array.from({ length: train.samples.length }, (_, i) => i);
      const rand = mulberry32(deriveSeed('epoch-order', config.seed, epoch));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const bar = new Progress({ total: stepsPerEpoch, label: `epoch ${epoch + 1}/${config.epochs}`, unit: 'step', stream: options.progress });
      bar.tick(position.batch);
      const batchAt = (b: number) => {
        const all = order.slice(b * config.batchSize, (b + 1) * config.batchSize);
        const slice = rankSlice(all.length, dist?.rank ?? 0, dist?.worldSize ?? 1);
        const idx = all.slice(slice.offset, slice.offset + slice.count);
        const t = new Float32Array(idx.length * L);
        idx.forEach((p, k) => t.set(train.targets.subarray(p * L, (p + 1) * L), k * L));
        return { n: idx.length, images: data.cache.readBatch(idx.map((p) => train.rows[p]!)), targets: t, slice: { offset: slice.offset, total: all.length } };
      };
      let next = position.batch < stepsPerEpoch ? batchAt(position.batch) : undefined;
      let imagesDone = 0;
      while (next && position.step < totalSteps) {
        const cur = next;
        const states = plan.at(position.step);
        applyTrainable(states.map((s) => s.trainable));
        model.setTraining(true);
        const pending = trainer.step({
          images: cur.images,
          shape: [cur.n, 1, height, width],
          targets: cur.targets,
          lrs: states.map((s) => s.lr),
          momenta: states.map((s) => s.momentum),
          step: position.step,
          slice: cur.slice,
        });
        // Prepare the next batch while the native step runs.
        next = position.batch + 1 < stepsPerEpoch ? batchAt(position.batch + 1) : undefined;
        const res = await pending;
        if (!res.finite) {
          stoppedEarly = 'diverged';
          log(`The loss is not finite at step ${position.step} (epoch ${epoch + 1}): training stopped; the weights were not updated by that step.` + (position.bestEpoch !== null ? ` The best checkpoint (epoch ${position.bestEpoch + 1}) is kept.` : ' Try a lower --max-lr.'));
          position.done = true;
          break;
        }
        position.batch++;
        position.step++;
        position.epochLossSum += res.loss;
        position.epochLossCount++;
        imagesDone += cur.slice.total;
        const ips = imagesDone / ((performance.now() - epochStart) / 1000);
        bar.tick(1, { loss: position.epochLossSum / position.epochLossCount, lr: states[2].lr, 'img/s': ips });
        run.emit('step', { step: position.step, epoch, loss: res.loss, lr: states[2].lr, imagesPerSecond: ips });
        // Every rank stops at the same step when any was interrupted.
        const aborted = dist ? (await dist.allreduceSum([options.signal?.aborted ? 1 : 0]))[0]! > 0 : options.signal?.aborted;
        if (aborted) {
          bar.finish('interrupted');
          await saveState();
          log(`Interrupted: state saved to ${state.dir}; continue with --resume.`);
          options.signal?.throwIfAborted();
          throw new Error(`rank ${dist?.rank}: another rank was interrupted`);
        }
      }
      bar.finish();
      if (position.done && stoppedEarly === 'diverged') break;
      if (position.step >= totalSteps && position.batch < stepsPerEpoch) stoppedEarly = 'max-steps';

      // Validation (centre crop) at the end of every epoch.
      model.setTraining(false);
      const val = isMain
        ? await evaluateRows(trainer, data.cache, data.splits.val.rows, data.splits.val.targets, { batchSize: Math.max(config.batchSize, 32), labels: L, tta: 0, seed: config.seed, signal: options.signal })
        : { loss: NaN, auc: null };
      if (dist) val.loss = (await dist.broadcast([val.loss]))[0]!;  // the other ranks follow rank 0's decisions
      const seconds = (performance.now() - epochStart) / 1000;
      const record: EpochRecord = {
        epoch,
        trainLoss: position.epochLossCount ? position.epochLossSum / position.epochLossCount : NaN,
        valLoss: val.loss,
        valAuc: val.auc && Number.isFinite(val.auc.mean) ? val.auc.mean : null,
        lr: plan.at(Math.max(0, position.step - 1))[2].lr,
        seconds,
        imagesPerSecond: imagesDone / seconds,
      };
      position.history.push(record);
      run.emit('epoch', record);
      log(`epoch ${epoch + 1}/${config.epochs}: train loss ${formatNumber(record.trainLoss)}, val loss ${formatNumber(record.valLoss)}, val AUC ${record.valAuc === null ? 'n/a' : record.valAuc.toFixed(3)} (${formatDuration(seconds)})`);
      if (isMain && Number.isFinite(val.loss) && (position.bestValLoss === null || val.loss < position.bestValLoss)) {
        position.bestValLoss = val.loss;
        position.bestEpoch = epoch;
        const weights = model.stateDict();
        try {
          await saveCheckpoint(checkpointPath, weights, metadata({ epoch, valLoss: val.loss, valAuc: record.valAuc }));
        } finally {
          for (const t of Object.values(weights)) t.dispose();
        }
      }
      if (!Number.isFinite(val.loss)) {
        stoppedEarly = 'diverged';
        log(`The validation loss is not finite after epoch ${epoch + 1}: the weights diverged; training stopped.` + (position.bestEpoch !== null ? ` The best checkpoint (epoch ${position.bestEpoch + 1}) is kept.` : ' Try a lower --max-lr.'));
        position.done = true;
      }
      position.epoch++;
      position.batch = 0;
      position.epochLossSum = 0;
      position.epochLossCount = 0;
      if (regular) {
        const decision = regular.report(val.loss);
        if (decision.stop === 'min-lr') {
          stoppedEarly = 'regular-policy';
          log(`Regular policy: the learning rate fell below its minimum; stopping after epoch ${epoch + 1}.`);
          position.done = true;
        }
      }
      if (stoppedEarly === 'max-steps') position.done = true;
      await saveState();
    }
    position.done = true;
    await saveState();
  } catch (err) {
    trainer.dispose();
    model.dispose();
    throw err;
  }

  const leaveGroup = () => options.distributed === undefined && dist?.dispose();  // joined here: leave here
  if (!isMain) {  // rank 0 tests and reports; this rank's part is done
    trainer.dispose();
    model.dispose();
    data.cache.close();
    leaveGroup();
    return { out, checkpoint: checkpointPath, labels: data.labels, testAuc: null, testAucTta: null, testAucCi: null, perLabelAuc: {}, perLabelAucTta: {}, bestEpoch: position.bestEpoch, bestValLoss: position.bestValLoss, epochs: position.history, maxLr: position.maxLr, sampleIdsHash: data.sampleIdsHash, stoppedEarly, seconds: (performance.now() - started) / 1000, simulated: data.source.simulated };
  }
  // Test: the best checkpoint, centre crop, then with TTA.
  if (position.bestEpoch === null) {
    trainer.dispose();
    model.dispose();
    throw new Error('training produced no finite validation loss, so no checkpoint was kept; try a lower --max-lr');
  }
  const { loadCheckpoint } = await import('../checkpoint.js');
  const best = await loadCheckpoint(checkpointPath);
  model.loadStateDict(best.tensors);
  for (const t of Object.values(best.tensors)) t.dispose();
  model.setTraining(false);
  const testOpts = { batchSize: Math.max(config.batchSize, 32), labels: L, seed: config.seed, signal: options.signal };
  // With TTA, one pass over the test set gives both: copy 0 of the TTA set is the plain centre crop.
  const testTta = await evaluateRows(trainer, data.cache, data.splits.test.rows, data.splits.test.targets, { ...testOpts, tta: config.tta, alsoPlain: true });
  const test = testTta.plain ?? testTta;
  trainer.dispose();
  model.dispose();
  data.cache.close();
  leaveGroup();

  const perLabel = (auc: typeof test.auc) => Object.fromEntries(data.labels.map((l, j) => [l, auc?.perLabel[j] ?? null]));
  const finiteOrNull = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
  const ci = bootstrapMacroAucCi({ data: data.splits.test.targets, cols: L }, { data: testTta.probabilities, cols: L }, undefined, { seed: config.seed });
  const result: TrainResult = {
    out,
    checkpoint: checkpointPath,
    labels: data.labels,
    testAuc: finiteOrNull(test.auc?.mean),
    testAucTta: finiteOrNull(testTta.auc?.mean),
    testAucCi: Number.isFinite(ci.lo) && Number.isFinite(ci.hi) ? [ci.lo, ci.hi] : null,
    perLabelAuc: perLabel(test.auc),
    perLabelAucTta: perLabel(testTta.auc),
    bestEpoch: position.bestEpoch,
    bestValLoss: position.bestValLoss,
    epochs: position.history,
    maxLr: position.maxLr,
    sampleIdsHash: data.sampleIdsHash,
    stoppedEarly,
    seconds: (performance.now() - started) / 1000,
    simulated: data.source.simulated,
  };
  const h = position.history;
  await writeFigure(join(out, 'training-curves.svg'), trainingCurvesChart({ x: h.map((e) => e.epoch + 1), trainLoss: h.map((e) => e.trainLoss), valLoss: h.map((e) => e.valLoss), valAuc: h.map((e) => e.valAuc ?? NaN), best: position.bestEpoch + 1 }, { title: `${config.arch} ${config.strategy} ${config.policy}` }));
  writeJsonAtomic(join(out, 'metrics.json'), {
    ...result,
    config,
    versions: { torchxfer: version, torch: runtimeInfo().torchVersion, node: process.version },
    samples: { train: data.splits.train.samples.map((s) => s.id), val: data.splits.val.samples.map((s) => s.id), test: data.splits.test.samples.map((s) => s.id) },
    dropped: data.dropped,
  });
  return result;
}
