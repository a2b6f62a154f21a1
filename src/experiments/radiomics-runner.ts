/**
 * Radiomics as an experiment method: the 79 radiomic features of the same cached images a CNN arm
 * reads (same splits, same N subset), then the four classifiers (logistic regression with L1, L2 and
 * elastic-net penalties, a random forest), each tuned by random search with cross-validation on the
 * training subset; the one with the best validation AUC is tested on the target's test set. The
 * result goes to the same results database as the CNN runs.
 */
import { bootstrapMacroAucCi, macroAuc } from '../metrics/index.js';
import {
  drawParams,
  trainRadiomicsBaseline,
  type BaselineParams,
  type RadiomicsBaseline,
} from '../radiomics/baseline.js';
import { radiomicFeatures, RADIOMIC_FEATURE_COUNT } from '../radiomics/features.js';
import type { Matrix } from '../radiomics/standardize.js';
import { deriveSeed, mulberry32 } from '../random.js';
import { resolveTrainConfig } from '../train/config.js';
import { evalSizes, prepareData, type PreparedData, type SplitData } from '../train/data.js';
import type { RunJob, RunResult } from './types.js';

export const CLASSIFIER_FAMILIES = ['l1', 'l2', 'elasticnet', 'forest'] as const;
export type ClassifierFamily = (typeof CLASSIFIER_FAMILIES)[number];

export interface RadiomicsJobOptions {
  cacheDir?: string;
  progress?: NodeJS.WritableStream | null;
  signal?: AbortSignal;
}

/** The family of a setting. */
export function familyOf(p: BaselineParams): ClassifierFamily {
  return p.kind === 'forest' ? 'forest' : p.penalty;
}

/** `count` random settings of one family, seeded (draws of the full search space, kept by family). */
export function familyCandidates(family: ClassifierFamily, count: number, seed: number): BaselineParams[] {
  const rng = mulberry32(deriveSeed('radiomics-family', family, seed));
  const out: BaselineParams[] = [];
  while (out.length < count) {
    const p = drawParams(rng);
    if (familyOf(p) === family) out.push(p);
  }
  return out;
}

/** Features of one split's cached images, in batches (rows x 79). */
async function splitFeatures(data: PreparedData, split: SplitData, signal?: AbortSignal): Promise<Matrix> {
  const { width, height } = data.cache.geometry;
  const rows: number[][] = [];
  for (let i = 0; i < split.rows.length; i += 256) {
    if (signal?.aborted) throw new Error('Radiomics run interrupted.');
    const batch = split.rows.slice(i, i + 256);
    const values = await radiomicFeatures(data.cache.readBatch(batch), [batch.length, height, width]);
    for (let k = 0; k < batch.length; k++)
      rows.push(Array.from(values.subarray(k * RADIOMIC_FEATURE_COUNT, (k + 1) * RADIOMIC_FEATURE_COUNT)));
  }
  return rows;
}

/** Targets as rows x labels of 0/1 (radiomics needs known labels: a masked one is an error). */
function labelRows(split: SplitData, labels: number, name: string): number[][] {
  return split.samples.map((s, i) => {
    const row = Array.from(split.targets.subarray(i * labels, (i + 1) * labels));
    if (row.some((v) => v !== 0 && v !== 1))
      throw new Error(
        `radiomics: sample '${s.id}' of the ${name} split has an unknown label; radiomics needs every label known`,
      );
    return row;
  });
}

/** Per family: tuned by CV on the training subset, scored on validation; the best family by validation AUC. */
export function chooseClassifier(
  trainX: Matrix,
  trainY: number[][],
  valX: Matrix,
  valY: number[][],
  opts: { seed: number; searchIters: number; folds: number },
) {
  const minority = Math.min(
    ...trainY[0]!
      .map((_, l) => Math.min(trainY.filter((r) => r[l] === 1).length, trainY.filter((r) => r[l] === 0).length))
      .filter((m) => m > 0),
  );
  const folds = Math.max(2, Math.min(opts.folds, Number.isFinite(minority) ? minority : 2));
  const tried = CLASSIFIER_FAMILIES.map((family) => {
    const candidates = familyCandidates(family, opts.searchIters, opts.seed);
    const model = trainRadiomicsBaseline({
      trainX,
      trainY,
      valX,
      valY,
      seed: opts.seed,
      searchIters: opts.searchIters,
      folds,
      candidates,
    });
    return { family, model };
  });
  let best = tried[0]!;
  for (const t of tried)
    if ((t.model.valAuc ?? NaN) > (best.model.valAuc ?? NaN) || Number.isNaN(best.model.valAuc ?? NaN)) best = t;
  return { best, tried, folds };
}

export async function runRadiomicsJob(
  job: RunJob,
  partialConfig: Parameters<typeof resolveTrainConfig>[0],
  opts: RadiomicsJobOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const config = resolveTrainConfig(partialConfig);
  const data = await prepareData(config, { progress: opts.progress });
  try {
    const L = data.labels.length;
    const o = job.arm.options;
    const searchIters = typeof o.searchIters === 'number' ? o.searchIters : 20;
    const folds = typeof o.folds === 'number' ? o.folds : 5;
    const [trainX, valX, testX] = [
      await splitFeatures(data, data.splits.train, opts.signal),
      await splitFeatures(data, data.splits.val, opts.signal),
      await splitFeatures(data, data.splits.test, opts.signal),
    ];
    const trainY = labelRows(data.splits.train, L, 'train');
    const valY = labelRows(data.splits.val, L, 'validation');
    const testY = labelRows(data.splits.test, L, 'test');
    const { best, tried } = chooseClassifier(trainX, trainY, valX, valY, { seed: job.seed, searchIters, folds });
    const scores: number[][] = (best.model as RadiomicsBaseline).predict(testX);
    const auc = macroAuc(testY, scores);
    const ci = bootstrapMacroAucCi(testY, scores, undefined, { seed: job.seed });
    const perLabelAuc = Object.fromEntries(data.labels.map((l, j) => [l, auc.perLabel[j] ?? null]));
    return {
      testAuc: Number.isNaN(auc.mean) ? null : auc.mean,
      testAucTta: null,
      testAucCi: Number.isNaN(ci.lo) ? undefined : [ci.lo, ci.hi],
      perLabelAuc,
      valLoss: NaN,
      epochs: [],
      timings: { seconds: (performance.now() - started) / 1000 },
      sampleIdsHash: data.sampleIdsHash,
      method: 'radiomics',
      counts: data.counts,
      simulated: data.source.simulated,
      warnings: data.warnings,
      evalSizes: evalSizes(data),
      radiomics: {
        classifier: best.family,
        params: best.model.params,
        folds,
        searchIters,
        byFamily: Object.fromEntries(
          tried.map((t) => [
            t.family,
            { cvAuc: t.model.cvAuc, valAuc: t.model.valAuc ?? null, params: t.model.params },
          ]),
        ),
      },
    };
  } finally {
    data.cache.close();
  }
}
