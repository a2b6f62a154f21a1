/**
 * How long an experiment takes on this machine, before running it: every job of every stage (a
 * stage-wise plan is expanded as if each stage had been decided), the images each job trains on and
 * evaluates (from the dataset listings, or from published dataset sizes when the data is not here),
 * and step times measured now on the chosen device for each architecture, image size and trainable
 * part (head only / top groups / all, as the transfer strategy unfreezes them).
 *
 * Upper bound for the regular policy (it may stop early); the LR finder counts its full ramp.
 */
import { OptionError } from '../errors.js';
import { loadModel } from '../model.js';
import { resolveDevice } from '../runtime.js';
import { trainingPlan } from '../schedule/strategy.js';
import { median } from '../stats/describe.js';
import type { TrainConfig } from '../train/config.js';
import { Trainer } from '../train/trainer.js';
import { expandPlan, jobTrainConfig, SplitSizer, splitSizes, type SizeTable, type SplitSizes } from './layout.js';
import { planJobs, type LookupDone } from './plan.js';
import { PAPER_SIZES } from './presets/paper.js';
import type { ExperimentSpec, RunJob } from './types.js';

export type { SizeTable, SplitSizes } from './layout.js';

/** What one job costs, in images and steps. */
export interface JobWork {
  job: RunJob;
  stage?: string;
  arch: string;
  imageSize: number;
  crop: number;
  batchSize: number;
  evalBatch: number;
  epochs: number;
  sizes: SplitSizes;
  /** Training steps by what trains: the head only, groups 2-3 (group 1 frozen), or everything. */
  steps: { head: number; upper: number; all: number };
  /** LR-finder steps (100, 0 with a fixed max LR), training what the plan's first step trains. */
  finder: { steps: number; part: 'head' | 'upper' | 'all' };
  /** Images evaluated: validation each epoch, the test set once per TTA copy (copy 0 is the plain result). */
  evalImages: number;
}

/** Measured on the device: ms per training step by trainable part, ms per evaluated image. */
export interface StepRates {
  /** Per run: creating the model and trainer, and the first step's extra time over a steady one. */
  setupMs: number;
  headMs: number;
  upperMs: number;
  allMs: number;
  evalMsPerImage: number;
}

/** runLrFinder's default ramp length, which train() uses. */
const FINDER_STEPS = 100;

export const rateKey = (w: Pick<JobWork, 'arch' | 'imageSize' | 'crop' | 'batchSize' | 'evalBatch'>): string =>
  `${w.arch}:i${w.imageSize}:c${w.crop}:b${w.batchSize}:e${w.evalBatch}`;

/** Every job of the experiment, every stage expanded (see expandPlan), sources first, each once. */
export function allJobs(spec: ExperimentSpec, done?: LookupDone): { job: RunJob; stage?: string }[] {
  const plan = expandPlan(spec, done);
  const stageOf = new Map<string, string | undefined>();
  for (const s of plan.sources) stageOf.set(s.key, 'source tasks');
  for (const a of plan.arms) for (const j of a.jobs) if (!stageOf.has(j.key)) stageOf.set(j.key, a.stage ?? a.name);
  return planJobs(plan).map((job) => ({ job, stage: stageOf.get(job.key) }));
}

export { jobTrainConfig, splitSizes };

export function jobWork(job: RunJob, stage: string | undefined, config: TrainConfig, sizes: SplitSizes): JobWork {
  const perEpoch = Math.ceil(sizes.train / config.batchSize);
  const total = Math.min(config.epochs * perEpoch, config.maxSteps ?? Infinity);
  const plan = trainingPlan({ strategy: config.strategy, lr: () => 1, momentum: () => 0.9, steps: Math.max(1, total) });
  // Group 1 (nearest the image) trains from trainsFrom[0]; groups 2-3 from trainsFrom[1].
  const from = (g: number | null) => (g === null ? total : Math.min(g, total));
  const upperFrom = from(plan.trainsFrom[1]);
  const allFrom = Math.max(upperFrom, from(plan.trainsFrom[0]));
  const evalBatch = Math.max(config.batchSize, 32);
  const testPasses = config.tta + 1; // the plain result is copy 0 of the TTA passes
  return {
    job,
    stage,
    arch: config.arch,
    imageSize: config.imageSize,
    crop: config.crop,
    batchSize: config.batchSize,
    evalBatch,
    epochs: config.epochs,
    sizes,
    steps: { head: upperFrom, upper: allFrom - upperFrom, all: total - allFrom },
    finder: {
      steps: config.maxLr === 'auto' ? FINDER_STEPS : 0,
      part: allFrom === 0 ? 'all' : upperFrom === 0 ? 'upper' : 'head',
    },
    evalImages: config.epochs * sizes.val + testPasses * sizes.test,
  };
}

export interface JobEstimate extends JobWork {
  seconds: { setup: number; train: number; finder: number; eval: number; total: number };
}

export function estimateJob(w: JobWork, r: StepRates): JobEstimate {
  const train = (w.steps.head * r.headMs + w.steps.upper * r.upperMs + w.steps.all * r.allMs) / 1000;
  const finder = (w.finder.steps * { head: r.headMs, upper: r.upperMs, all: r.allMs }[w.finder.part]) / 1000;
  const evalS = (w.evalImages * r.evalMsPerImage) / 1000;
  const setup = r.setupMs / 1000;
  return { ...w, seconds: { setup, train, finder, eval: evalS, total: setup + train + finder + evalS } };
}

export interface MeasureOptions {
  device?: string;
  warmup?: number;
  repeats?: number;
  /** Called before each measurement, e.g. for a progress line. */
  onMeasure?: (what: string) => void;
}

/** Times training steps (by trainable part) and evaluation for one (arch, sizes, batch) on the device. */
export async function measureRates(
  w: Pick<JobWork, 'arch' | 'imageSize' | 'crop' | 'batchSize' | 'evalBatch'>,
  opts: MeasureOptions = {},
): Promise<StepRates> {
  const device = resolveDevice(opts.device ?? 'auto');
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? 3;
  const channelsLast = true; // as train() runs by default
  const created = performance.now();
  const model = await loadModel({
    arch: w.arch as 'densenet121' | 'resnet50',
    numClasses: 1,
    inChannels: 1,
    device,
    channelsLast,
  });
  const trainer = new Trainer(model, {
    crop: w.crop,
    mean: [0.449],
    std: [0.226],
    device,
    channelsLast,
    autocast: device.startsWith('cuda') ? 'bf16' : 'none',
    seed: 0,
  });
  const createMs = performance.now() - created;
  try {
    const px = w.imageSize * w.imageSize;
    const images = new Uint8Array(w.batchSize * px).map((_, i) => (i * 2654435761) % 251);
    const targets = new Float32Array(w.batchSize).map((_, i) => i % 2);
    let step = 0;
    let firstMs = 0;
    const timeSteps = async (frozen: number[]): Promise<number> => {
      model.unfreeze([0, 1, 2]);
      if (frozen.length) model.freeze(frozen);
      const samples: number[] = [];
      for (let i = 0; i < warmup + repeats; i++) {
        const t0 = performance.now();
        await trainer.step({
          images,
          shape: [w.batchSize, 1, w.imageSize, w.imageSize],
          targets,
          lrs: [1e-5, 1e-5, 1e-5],
          momenta: [0.9, 0.9, 0.9],
          step: step++,
        });
        if (step === 1) firstMs = performance.now() - t0;
        if (i >= warmup) samples.push(performance.now() - t0);
      }
      return median(samples);
    };
    opts.onMeasure?.(`${rateKey(w)} training, all groups`);
    const allMs = await timeSteps([]);
    const setupMs = createMs + Math.max(0, firstMs - allMs);
    opts.onMeasure?.(`${rateKey(w)} training, groups 2-3`);
    const upperMs = await timeSteps([0]);
    opts.onMeasure?.(`${rateKey(w)} training, head only`);
    const headMs = await timeSteps([0, 1]);
    model.unfreeze([0, 1, 2]);
    opts.onMeasure?.(`${rateKey(w)} evaluation`);
    const evalImages = new Uint8Array(w.evalBatch * px).map((_, i) => (i * 40503) % 251);
    const evalSamples: number[] = [];
    for (let i = 0; i < warmup + repeats; i++) {
      const t0 = performance.now();
      await trainer.evaluate({ images: evalImages, shape: [w.evalBatch, 1, w.imageSize, w.imageSize] });
      if (i >= warmup) evalSamples.push(performance.now() - t0);
    }
    return { setupMs, headMs, upperMs, allMs, evalMsPerImage: median(evalSamples) / w.evalBatch };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

export interface ExperimentEstimate {
  device: string;
  jobs: JobEstimate[];
  rates: Record<string, StepRates>;
  /** Jobs sized from the size table rather than the data. */
  fromTable: number;
  totalSeconds: number;
}

export interface EstimateOptions extends MeasureOptions {
  sizes?: SizeTable;
  cacheDir?: string;
  /** Rates already measured (by rateKey); missing ones are measured. */
  rates?: Record<string, StepRates>;
  /** Finished runs (from a results database): later stages build on their real winners. */
  done?: LookupDone;
}

export async function estimateExperiment(
  spec: ExperimentSpec,
  opts: EstimateOptions = {},
): Promise<ExperimentEstimate> {
  const table = { ...(spec.name === 'paper' ? PAPER_SIZES : {}), ...opts.sizes };
  const works: JobWork[] = [];
  const sizer = new SplitSizer({ metadataOnly: true });
  for (const { job, stage } of allJobs(spec, opts.done)) {
    const config = await jobTrainConfig(job, opts.cacheDir);
    works.push(jobWork(job, stage, config, await splitSizes(job, config, table, sizer)));
  }
  const device = resolveDevice(opts.device ?? 'auto');
  const rates: Record<string, StepRates> = { ...opts.rates };
  for (const w of works) {
    const key = rateKey(w);
    if (!rates[key]) rates[key] = await measureRates(w, { ...opts, device });
  }
  const jobs = works.map((w) => estimateJob(w, rates[rateKey(w)]!));
  return {
    device,
    jobs,
    rates,
    fromTable: works.filter((w) => w.sizes.from === 'table').length,
    totalSeconds: jobs.reduce((s, j) => s + j.seconds.total, 0),
  };
}

/** Validates a --sizes JSON object. */
export function parseSizeTable(raw: unknown, path = 'sizes'): SizeTable {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new OptionError(path, 'an object {dataset: {train, val, test}}', raw);
  const out: SizeTable = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const o = v as Record<string, unknown>;
    for (const k of ['train', 'val', 'test'] as const) {
      if (typeof o?.[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0)
        throw new OptionError(`${path}.${name}.${k}`, 'an integer >= 0', o?.[k]);
    }
    out[name] = { train: o.train as number, val: o.val as number, test: o.test as number };
  }
  return out;
}
