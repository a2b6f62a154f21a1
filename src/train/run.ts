/**
 * One training run of the paper's method: data -> model init -> (LR finder) -> epochs of one-cycle or
 * regular training under a transfer strategy -> validation every epoch, keeping the lowest-loss
 * checkpoint -> test evaluation with and without TTA. Resumable (OUT/resume), interruptible (an
 * AbortSignal: the state is saved first), and observable (events on the returned TrainingRun).
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { loadCheckpoint, saveCheckpoint } from '../checkpoint.js';
import { prepareOutFolder } from './out-folder.js';
import { deriveSeed, mulberry32, shuffled } from '../random.js';
import { bootstrapMacroAucCi } from '../metrics/index.js';
import type { Model } from '../model.js';
import { lrFinderChart, saveFigure, scheduleChart, trainingCurvesChart } from '../plot/index.js';
import { formatDuration, formatNumber, Progress } from '../progress.js';
import { divergenceSigns, lowerLrHint } from './divergence.js';
import { resolveDevice, runtimeInfo, setNumThreads } from '../runtime.js';
import { RegularPolicy, tabulate, type TrainingPlan } from '../schedule/index.js';
import { version } from '../version.js';
import { resolveTrainConfig, type LrRule, type TrainConfig } from './config.js';
import { evalSizes, prepareData, type EvalSizes, type PreparedData, type SampleCounts } from './data.js';
import { evaluateRows } from './evaluate.js';
import type { InitResult } from './init.js';
import { runLrFinder } from './lr-find.js';
import { pickMaxLr } from '../schedule/lr-finder.js';
import { ResumeState, writeJsonAtomic, type EpochRecord, type LoopPosition } from './state.js';
import { joinFromEnv, rankDevice, rankSlice } from './distributed.js';
import { openRun, resolveChannelsLast, type Opened } from './open-run.js';
import { lrFinderGroups, planFor } from './plan.js';
import { withScope } from './scope.js';
import { describeLoad } from '../weights/load-report.js';
import { Trainer, type TrainerOptions } from './trainer.js';
import type { DistributedContext } from '../distributed.js';

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
  /**
   * The epoch whose checkpoint was kept, numbered from 1 as everywhere (screen, metrics.json, checkpoints, results DB).
   */
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochs: EpochRecord[];
  maxLr: number;
  sampleIdsHash: string;
  /** The training set as it really was: N asked for, images per epoch, unique images and positives, files dropped. */
  counts: SampleCounts;
  /** How max_lr was chosen: the finder's rule, or 'given' (a fixed --max-lr). */
  lrRule: LrRule | 'given';
  /** What each finder rule suggested, when the finder ran (the chosen one is maxLr). */
  lrSuggestions?: { valley: number; minimum: number; minDiv10: number };
  /** Validation and test images, and their positives (binary: of the label; multi-label: of any label). */
  evalSizes: EvalSizes;
  /** Everything the run warned about (protocol departures of the data, divergence, wide CI...). */
  warnings: string[];
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
  then<A = TrainResult, B = never>(
    ok?: ((v: TrainResult) => A | PromiseLike<A>) | null,
    fail?: ((e: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
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

/** Joins the process group and opens the run (lock, data, model, trainer): all released however the run ends. */
async function trainImpl(config: TrainConfig, options: TrainOptions, run: TrainingRun): Promise<TrainResult> {
  const started = performance.now();
  if (config.threads) setNumThreads(config.threads);
  return withScope(async (scope) => {
    // A group joined here is left here; a caller's group stays the caller's.
    const dist =
      options.distributed === undefined ? scope.own(await joinFromEnv(), (d) => d?.dispose()) : options.distributed;
    const isMain = !dist || dist.rank === 0;
    const log = (line: string) => void (isMain && run.emit('log', line));
    if (!isMain) options = { ...options, progress: null };
    const device = rankDevice(config.device, resolveDevice(config.device), dist);
    const out = resolve(config.out);
    // Rank 0 claims the folder (never one holding the user's files); the other ranks share it.
    if (isMain) prepareOutFolder(out, { force: config.force });
    else mkdirSync(out, { recursive: true });
    const channelsLast = resolveChannelsLast(config.channelsLast);
    const ctx: RunContext = { out, started, log, device, channelsLast, dist, isMain };
    const state = new ResumeState(out);
    // Ranks of one data-parallel run share the folder; rank 0 holds the lock and, once it does, checks
    // the resumable state before any data is read.
    const opened = await openRun(scope, config, {
      lock: isMain,
      device,
      data: () => {
        if (isMain) expectResumeState(config, state, out);
        return openData(config, options, ctx);
      },
    });
    return trainOpened(config, options, run, ctx, state, opened);
  });
}

interface RunContext {
  out: string;
  started: number;
  log: (line: string) => void;
  device: string;
  channelsLast: boolean;
  dist: DistributedContext | null;
  isMain: boolean;
}

/** What one run holds while it trains; the native parts are owned by trainImpl's scope (openRun). */
interface Session extends RunContext {
  config: TrainConfig;
  options: TrainOptions;
  run: TrainingRun;
  state: ResumeState;
  data: PreparedData;
  init: InitResult;
  model: Model;
  trainer: Trainer;
  trainerOptions: TrainerOptions;
  checkpointPath: string;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Logs a warning and keeps it for metrics.json. */
  warn: (text: string) => void;
  warnings: string[];
  warned: Set<string>;
}

/** The epoch loop's state: where it is (saved for resume), its schedule and why it stopped early. */
interface Loop {
  position: LoopPosition;
  plan: TrainingPlan;
  regular: RegularPolicy | undefined;
  freezer: GroupFreezer;
  stoppedEarly: string | undefined;
}

/** --resume needs a saved state, and a run without it must not overwrite one. */
function expectResumeState(config: TrainConfig, state: ResumeState, out: string): void {
  if (!config.resume && state.exists()) {
    throw new Error(
      `${out} already holds a run's resumable state: pass --resume to continue it, or choose another --out`,
    );
  }
  if (config.resume && !state.exists()) {
    throw new Error(
      `${out} holds no resumable state (${state.dir}): nothing to resume (a finished run removes it unless --keep-resume); start without --resume`,
    );
  }
}

/** The opened run's loop: start (resumed or fresh), epochs, then test and report on rank 0. */
async function trainOpened(
  config: TrainConfig,
  options: TrainOptions,
  run: TrainingRun,
  ctx: RunContext,
  state: ResumeState,
  opened: Opened<{ data: () => Promise<PreparedData> }>,
): Promise<TrainResult> {
  const { data, init, model, trainer, trainerOptions } = opened;
  describeModel(config, init, data.labels.length, ctx);
  const stepsPerEpoch = Math.ceil(data.splits.train.samples.length / config.batchSize);
  const s: Session = {
    ...ctx,
    config,
    options,
    run,
    state,
    data,
    init,
    model,
    trainer,
    trainerOptions,
    stepsPerEpoch,
    checkpointPath: join(ctx.out, 'best.safetensors'),
    totalSteps: Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity),
    warnings: [],
    warned: new Set(),
    warn: (text) => {
      s.warnings.push(text);
      ctx.log(`warning: ${text}`);
    },
  };
  const loop = await prepareLoop(s, await startPosition(s));
  await fitEpochs(s, loop);
  if (!s.isMain) return rankResult(s, loop);
  const result = await testAndReport(s, loop);
  // Finished: the resumable state (model + optimiser, often larger than the checkpoint) has done its job.
  if (!config.keepResume) state.remove();
  return result;
}

/** Rank 0 builds the image cache first; the others then open it. */
async function openData(config: TrainConfig, options: TrainOptions, ctx: RunContext): Promise<PreparedData> {
  const { dist, isMain, log } = ctx;
  if (dist && !isMain) await dist.barrier();
  const data = await prepareData(config, { log, progress: options.progress });
  if (dist && isMain) await dist.barrier();
  const { train, val, test } = data.splits;
  log(
    `Data: ${data.source.simulated ? 'SIMULATED phantoms' : data.source.format} at ${data.source.root}; labels ${data.labels.join(', ')}; ` +
      `train ${train.samples.length} (${data.counts.uniqueImages} unique, ${data.counts.uniquePositives} positive), validation ${val.samples.length}, test ${test.samples.length}`,
  );
  return data;
}

function describeModel(config: TrainConfig, init: InitResult, labels: number, ctx: RunContext): void {
  const { model } = init;
  if (init.report?.replaced.length)
    ctx.log(`Head replaced (${init.report.replaced.join(', ')}): ${labels} output(s) instead of the file's.`);
  if (init.ignored?.length) ctx.log(`Not loaded (not part of the network): ${init.ignored.join('; ')}.`);
  if (init.report) ctx.log(describeLoad(init.report));
  ctx.log(
    `Model: ${config.arch}, init ${init.description}, ${model.numParameters.toLocaleString()} parameters, device ${ctx.device}${ctx.channelsLast ? ', channels_last' : ''}`,
  );
}

/** Where the loop starts: the saved state with --resume, else epoch 0 with max_lr given or found. */
async function startPosition(s: Session): Promise<LoopPosition> {
  const { config, state, model, trainer, log } = s;
  if (config.resume && state.exists()) {
    const saved = await state.load(config);
    try {
      model.loadStateDict(saved.model);
      await trainer.loadOptimizerState(saved.optimizer);
    } finally {
      for (const t of [...Object.values(saved.model), ...Object.values(saved.optimizer)]) t.dispose();
    }
    log(`Resumed from ${state.dir}: epoch ${saved.position.epoch + 1}, step ${saved.position.step}.`);
    return saved.position;
  }
  let maxLr = typeof config.maxLr === 'number' ? config.maxLr : NaN;
  let lrFinder: LoopPosition['lrFinder'];
  if (config.maxLr === 'auto' && s.isMain) ({ maxLr, lrFinder } = await findMaxLr(s));
  if (config.maxLr === 'auto' && s.dist) maxLr = (await s.dist.broadcast([maxLr]))[0]!; // rank 0's finding
  return {
    epoch: 0,
    batch: 0,
    step: 0,
    epochLossSum: 0,
    epochLossCount: 0,
    history: [],
    bestValLoss: null,
    bestEpoch: null,
    maxLr,
    lrFinder,
    done: false,
  };
}

/** The LR range test on a throwaway optimiser over the same model; its curve goes to lr-finder.svg. */
async function findMaxLr(s: Session): Promise<{ maxLr: number; lrFinder: NonNullable<LoopPosition['lrFinder']> }> {
  const { config, data, model, out } = s;
  const train = data.splits.train;
  const bar = new Progress({ total: 100, label: 'lr-find', unit: 'step', stream: s.options.progress });
  const finder = new Trainer(model, s.trainerOptions);
  let curve: Awaited<ReturnType<typeof runLrFinder>>;
  try {
    curve = await runLrFinder(model, finder, data.cache, train.rows, train.targets, {
      batchSize: config.batchSize,
      labels: data.labels.length,
      seed: config.seed,
      ...lrFinderGroups(config, config.epochs * s.stepsPerEpoch),
      onStep: (_i, lr, loss) => bar.tick(1, { lr, loss }),
      signal: s.options.signal,
    });
  } finally {
    finder.dispose();
  }
  bar.finish();
  const pick = pickMaxLr(curve, config.lrRule);
  const maxLr = pick.lr;
  const sg = curve.suggestions!;
  await saveFigure(lrFinderChart(curve), join(out, 'lr-finder.svg'));
  s.log(
    `LR finder: max_lr = ${formatNumber(maxLr)} (--lr-rule ${pick.rule}; valley ${formatNumber(sg.valley.lr)}, minimum/10 ${formatNumber(sg.minDiv10)}, minimum ${formatNumber(sg.min.lr)}); curve in ${join(out, 'lr-finder.svg')}`,
  );
  if (pick.warning) s.warn(pick.warning);
  return {
    maxLr,
    lrFinder: {
      lrs: curve.lrs,
      losses: curve.losses,
      suggestion: maxLr,
      suggestions: { valley: sg.valley.lr, minimum: sg.min.lr, minDiv10: sg.minDiv10 },
    },
  };
}

/** The schedule (regular policy replayed over the recorded validation losses), the group, the first freeze. */
async function prepareLoop(s: Session, position: LoopPosition): Promise<Loop> {
  const { config, dist } = s;
  const regular =
    config.policy === 'regular' ? new RegularPolicy({ maxLr: position.maxLr, maxEpochs: config.epochs }) : undefined;
  for (const h of position.history) regular?.report(h.valLoss);
  const plan = planFor(config, config.epochs * s.stepsPerEpoch, position.maxLr, regular);
  if (dist) {
    await s.trainer.attachDistributed(dist); // rank 0's weights everywhere; gradients averaged from now on
    s.log(
      `Data-parallel: ${dist.worldSize} ranks, global batch ${config.batchSize} split into contiguous per-rank slices.`,
    );
  }
  if (s.isMain)
    await saveFigure(
      scheduleChart(tabulate(plan), `${config.policy} schedule, ${config.strategy}`),
      join(s.out, 'schedule.svg'),
    );
  const freezer = new GroupFreezer(s.model);
  freezer.apply(plan.at(Math.min(position.step, plan.steps - 1)).map((st) => st.trainable));
  s.model.setTraining(true);
  return { position, plan, regular, freezer, stoppedEarly: position.done ? 'resumed-finished' : undefined };
}

/** Freezes and unfreezes the three layer groups, touching the model only when the wanted set changes. */
class GroupFreezer {
  #trainable = [false, false, false];
  constructor(readonly model: Model) {}
  apply(wanted: boolean[]): void {
    if (wanted.every((w, g) => w === this.#trainable[g])) return;
    const on = [0, 1, 2].filter((g) => wanted[g]);
    const off = [0, 1, 2].filter((g) => !wanted[g]);
    if (on.length) this.model.unfreeze(on);
    if (off.length) this.model.freeze(off);
    this.#trainable = wanted.slice();
  }
}

/** Epochs until done: fit, validate (keeping the best checkpoint), decide, save the state. */
async function fitEpochs(s: Session, loop: Loop): Promise<void> {
  const { position } = loop;
  while (!position.done && position.epoch < s.config.epochs) {
    const fit = await fitEpoch(s, loop);
    if (position.done && loop.stoppedEarly === 'diverged') break;
    if (position.step >= s.totalSteps && position.batch < s.stepsPerEpoch) loop.stoppedEarly = 'max-steps';
    const valLoss = await validateAndCheckpoint(s, loop, fit);
    closeEpoch(s, loop, valLoss);
    await saveState(s, position);
  }
  position.done = true;
  await saveState(s, position);
}

interface EpochFit {
  started: number;
  images: number;
}

/** A fixed, seeded order of the training set per epoch (the same on every rank and on resume). */
function epochOrder(n: number, seed: number, epoch: number): number[] {
  return shuffled(
    Array.from({ length: n }, (_, i) => i),
    mulberry32(deriveSeed('epoch-order', seed, epoch)),
  );
}

/** The optimiser steps of the current epoch, from position.batch on; the next batch is read during each step. */
async function fitEpoch(s: Session, loop: Loop): Promise<EpochFit> {
  const { config } = s;
  const { position } = loop;
  const epoch = position.epoch;
  const fit: EpochFit = { started: performance.now(), images: 0 };
  const order = epochOrder(s.data.splits.train.samples.length, config.seed, epoch);
  const bar = new Progress({
    total: s.stepsPerEpoch,
    label: `epoch ${epoch + 1}/${config.epochs}`,
    unit: 'step',
    stream: s.options.progress,
  });
  bar.tick(position.batch);
  let next = position.batch < s.stepsPerEpoch ? readBatch(s, order, position.batch) : undefined;
  while (next && position.step < s.totalSteps) {
    const cur = next;
    const states = loop.plan.at(position.step);
    loop.freezer.apply(states.map((st) => st.trainable));
    s.model.setTraining(true);
    const { height, width } = s.data.cache.geometry;
    const pending = s.trainer.step({
      images: cur.images,
      shape: [cur.n, 1, height, width],
      targets: cur.targets,
      lrs: states.map((st) => st.lr),
      momenta: states.map((st) => st.momentum),
      step: position.step,
      slice: cur.slice,
    });
    // Prepare the next batch while the native step runs.
    next = position.batch + 1 < s.stepsPerEpoch ? readBatch(s, order, position.batch + 1) : undefined;
    const res = await pending;
    if (!res.finite) {
      loop.stoppedEarly = 'diverged';
      s.log(
        `The loss is not finite at step ${position.step} (epoch ${epoch + 1}): training stopped; the weights were not updated by that step.` +
          keptOrHint(position),
      );
      position.done = true;
      break;
    }
    position.batch++;
    position.step++;
    position.epochLossSum += res.loss;
    position.epochLossCount++;
    fit.images += cur.slice.total;
    const ips = fit.images / ((performance.now() - fit.started) / 1000);
    bar.tick(1, { loss: position.epochLossSum / position.epochLossCount, lr: states[2].lr, 'img/s': ips });
    s.run.emit('step', { step: position.step, epoch, loss: res.loss, lr: states[2].lr, imagesPerSecond: ips });
    await stopIfInterrupted(s, position, bar);
  }
  bar.finish();
  return fit;
}

/** Batch `b` of `order`: this rank's contiguous slice of it, pixels and targets. */
function readBatch(s: Session, order: number[], b: number) {
  const { config, dist, data } = s;
  const train = data.splits.train;
  const L = data.labels.length;
  const all = order.slice(b * config.batchSize, (b + 1) * config.batchSize);
  const slice = rankSlice(all.length, dist?.rank ?? 0, dist?.worldSize ?? 1);
  const idx = all.slice(slice.offset, slice.offset + slice.count);
  const targets = new Float32Array(idx.length * L);
  idx.forEach((p, k) => targets.set(train.targets.subarray(p * L, (p + 1) * L), k * L));
  return {
    n: idx.length,
    images: data.cache.readBatch(idx.map((p) => train.rows[p]!)),
    targets,
    slice: { offset: slice.offset, total: all.length },
  };
}

/** Every rank stops at the same step when any was interrupted; the state is saved first. */
async function stopIfInterrupted(s: Session, position: LoopPosition, bar: Progress): Promise<void> {
  const { dist, options } = s;
  const aborted = dist ? (await dist.allreduceSum([options.signal?.aborted ? 1 : 0]))[0]! > 0 : options.signal?.aborted;
  if (!aborted) return;
  bar.finish('interrupted');
  await saveState(s, position);
  s.log(`Interrupted: state saved to ${s.state.dir}; continue with --resume.`);
  options.signal?.throwIfAborted();
  throw new Error(`rank ${dist?.rank}: another rank was interrupted`);
}

function keptOrHint(position: LoopPosition): string {
  const kept =
    position.bestEpoch !== null ? ` The best checkpoint (epoch ${position.bestEpoch}) is kept and tested.` : '';
  return `${kept} To train further, ${lowerLrHint(position.maxLr)}.`;
}

/** Validation (centre crop) at the end of the epoch; a new lowest loss writes best.safetensors. Returns the loss. */
async function validateAndCheckpoint(s: Session, loop: Loop, fit: EpochFit): Promise<number> {
  const { config, data } = s;
  const { position } = loop;
  const epoch = position.epoch;
  s.model.setTraining(false);
  const val = s.isMain
    ? await evaluateRows(s.trainer, data.cache, data.splits.val.rows, data.splits.val.targets, {
        batchSize: Math.max(config.batchSize, 32),
        labels: data.labels.length,
        tta: 0,
        seed: config.seed,
        signal: s.options.signal,
      })
    : { loss: NaN, auc: null };
  if (s.dist) val.loss = (await s.dist.broadcast([val.loss]))[0]!; // the other ranks follow rank 0's decisions
  const seconds = (performance.now() - fit.started) / 1000;
  const record: EpochRecord = {
    epoch: epoch + 1,
    trainLoss: position.epochLossCount ? position.epochLossSum / position.epochLossCount : NaN,
    valLoss: val.loss,
    valAuc: val.auc && Number.isFinite(val.auc.mean) ? val.auc.mean : null,
    lr: loop.plan.at(Math.max(0, position.step - 1))[2].lr,
    seconds,
    imagesPerSecond: fit.images / seconds,
  };
  position.history.push(record);
  s.run.emit('epoch', record);
  s.log(
    `epoch ${record.epoch}/${config.epochs}: train loss ${formatNumber(record.trainLoss)}, val loss ${formatNumber(record.valLoss)}, val AUC ${record.valAuc === null ? 'n/a' : record.valAuc.toFixed(3)} (${formatDuration(seconds)})`,
  );
  if (s.isMain && Number.isFinite(val.loss) && (position.bestValLoss === null || val.loss < position.bestValLoss)) {
    position.bestValLoss = val.loss;
    position.bestEpoch = record.epoch;
    const weights = s.model.stateDict();
    try {
      await saveCheckpoint(
        s.checkpointPath,
        weights,
        checkpointMetadata(s, position, { epoch: record.epoch, valLoss: val.loss, valAuc: record.valAuc }),
      );
    } finally {
      for (const t of Object.values(weights)) t.dispose();
    }
  }
  return val.loss;
}

function checkpointMetadata(s: Session, position: LoopPosition, metrics: Record<string, unknown>) {
  const { config, data, init } = s;
  return {
    architecture: config.arch,
    labels: data.labels,
    preprocessing: init.preprocessing,
    greyMode: config.greyMode,
    sourceWeights: config.init,
    groups: s.model.groups.map((g) => ({ index: g.index, prefixes: g.prefixes })),
    training: { ...config, maxLr: position.maxLr },
    normalisation: init.normalisation,
    metrics,
    data: {
      root: data.source.root,
      format: data.source.format,
      simulated: data.source.simulated,
      split: data.splitMode,
      sampleIdsHash: data.sampleIdsHash,
      warnings: data.warnings,
    },
  };
}

/** Moves to the next epoch and decides whether to stop (diverged, regular policy at its floor, max steps). */
function closeEpoch(s: Session, loop: Loop, valLoss: number): void {
  const { position } = loop;
  const epoch = position.epoch;
  if (!Number.isFinite(valLoss)) {
    loop.stoppedEarly = 'diverged';
    s.log(
      `The validation loss is not finite after epoch ${epoch + 1}: the weights diverged; training stopped.` +
        keptOrHint(position),
    );
    position.done = true;
  }
  position.epoch++;
  position.batch = 0;
  position.epochLossSum = 0;
  position.epochLossCount = 0;
  if (loop.regular?.report(valLoss).stop === 'min-lr') {
    loop.stoppedEarly = 'regular-policy';
    s.log(`Regular policy: the learning rate fell below its minimum; stopping after epoch ${epoch + 1}.`);
    position.done = true;
  }
  if (loop.stoppedEarly === 'max-steps') position.done = true;
  actOnDivergence(s, loop);
}

/**
 * Says, once each, when the validation loss explodes or the AUC sits at chance, with what to try; a run-away loss stops
 * the run.
 */
function actOnDivergence(s: Session, loop: Loop): void {
  for (const sign of divergenceSigns(loop.position.history, loop.position.maxLr)) {
    if (sign.stop && !loop.position.done) {
      loop.stoppedEarly = 'diverged';
      loop.position.done = true;
    }
    if (s.warned.has(sign.kind) && !sign.stop) continue;
    s.warned.add(sign.kind);
    s.warn(sign.message);
  }
}

/** Rank 0 writes model and optimiser state to OUT/resume; other ranks hold the same. */
async function saveState(s: Session, position: LoopPosition): Promise<void> {
  if (!s.isMain) return;
  const weights = s.model.stateDict();
  const optim = await s.trainer.optimizerState();
  try {
    await s.state.save(s.config, position, weights, optim);
  } finally {
    for (const t of [...Object.values(weights), ...Object.values(optim)]) t.dispose();
  }
}

/** The result without test figures: what a rank other than 0 returns (rank 0 alone tests and reports). */
function rankResult(s: Session, loop: Loop): TrainResult {
  const { position } = loop;
  return {
    out: s.out,
    checkpoint: s.checkpointPath,
    labels: s.data.labels,
    testAuc: null,
    testAucTta: null,
    testAucCi: null,
    perLabelAuc: {},
    perLabelAucTta: {},
    bestEpoch: position.bestEpoch,
    bestValLoss: position.bestValLoss,
    epochs: position.history,
    maxLr: position.maxLr,
    sampleIdsHash: s.data.sampleIdsHash,
    counts: s.data.counts,
    stoppedEarly: loop.stoppedEarly,
    evalSizes: evalSizes(s.data),
    warnings: [...s.data.warnings, ...s.warnings],
    lrRule: s.config.maxLr === 'auto' ? s.config.lrRule : 'given',
    ...(position.lrFinder?.suggestions ? { lrSuggestions: position.lrFinder.suggestions } : {}),
    seconds: (performance.now() - s.started) / 1000,
    simulated: s.data.source.simulated,
  };
}

/** Test: the best checkpoint, centre crop and TTA, a bootstrap CI; then training-curves and metrics.json. */
async function testAndReport(s: Session, loop: Loop): Promise<TrainResult> {
  const { config, data } = s;
  const { position } = loop;
  const L = data.labels.length;
  if (position.bestEpoch === null)
    throw new Error('training produced no finite validation loss, so no checkpoint was kept; try a lower --max-lr');
  const best = await loadCheckpoint(s.checkpointPath);
  try {
    s.model.loadStateDict(best.tensors);
  } finally {
    for (const t of Object.values(best.tensors)) t.dispose();
  }
  s.model.setTraining(false);
  const testOpts = {
    batchSize: Math.max(config.batchSize, 32),
    labels: L,
    seed: config.seed,
    signal: s.options.signal,
  };
  // With TTA, one pass over the test set gives both: copy 0 of the TTA set is the plain centre crop.
  const testTta = await evaluateRows(s.trainer, data.cache, data.splits.test.rows, data.splits.test.targets, {
    ...testOpts,
    tta: config.tta,
    alsoPlain: true,
  });
  const test = testTta.plain ?? testTta;

  const perLabel = (auc: typeof test.auc) =>
    Object.fromEntries(data.labels.map((l, j) => [l, auc?.perLabel[j] ?? null]));
  const finiteOrNull = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
  const ci = bootstrapMacroAucCi(
    { data: data.splits.test.targets, cols: L },
    { data: testTta.probabilities, cols: L },
    undefined,
    { seed: config.seed },
  );
  const result: TrainResult = {
    ...rankResult(s, loop),
    testAuc: finiteOrNull(test.auc?.mean),
    testAucTta: finiteOrNull(testTta.auc?.mean),
    testAucCi: Number.isFinite(ci.lo) && Number.isFinite(ci.hi) ? [ci.lo, ci.hi] : null,
    perLabelAuc: perLabel(test.auc),
    perLabelAucTta: perLabel(testTta.auc),
  };
  await writeReport(s, loop, result);
  return result;
}

/** A 95% CI of the test AUC wider than this cannot separate the arms the paper compares. */
const WIDE_CI = 0.2;

async function writeReport(s: Session, loop: Loop, result: TrainResult): Promise<void> {
  const { config, data } = s;
  const h = loop.position.history;
  const curves = {
    x: h.map((e) => e.epoch),
    trainLoss: h.map((e) => e.trainLoss),
    valLoss: h.map((e) => e.valLoss),
    valAuc: h.map((e) => e.valAuc ?? NaN),
    best: loop.position.bestEpoch ?? 1,
  };
  await saveFigure(
    trainingCurvesChart(curves, { title: `${config.arch} ${config.strategy} ${config.policy}` }),
    join(s.out, 'training-curves.svg'),
  );
  const ci = result.testAucCi;
  if (ci && ci[1] - ci[0] > WIDE_CI)
    s.warn(
      `the test AUC's 95% CI [${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}] is ${(ci[1] - ci[0]).toFixed(2)} wide: the test set (${data.splits.test.samples.length} images) is too small to tell close results apart.`,
    );
  result.warnings = [...data.warnings, ...s.warnings];
  if (
    result.counts.uniqueImages < result.counts.nRequested &&
    !result.warnings.some((w) => w.startsWith(`N = ${result.counts.nRequested} was asked`))
  ) {
    result.warnings.push(
      `N = ${result.counts.nRequested} was asked for but ${result.counts.uniqueImages} unique image(s) trained.`,
    );
  }
  writeJsonAtomic(join(s.out, 'metrics.json'), {
    method: 'cnn',
    ...result,
    split: data.splitMode,
    config,
    versions: { torchxfer: version, torch: runtimeInfo().torchVersion, node: process.version },
    samples: {
      train: data.splits.train.samples.map((x) => x.id),
      val: data.splits.val.samples.map((x) => x.id),
      test: data.splits.test.samples.map((x) => x.id),
    },
    dropped: data.dropped,
  });
}
