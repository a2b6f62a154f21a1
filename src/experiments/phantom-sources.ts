/**
 * Experiment source jobs on the phantoms <-> the phantoms' source cache (data/phantom/sources.ts):
 * a cached source stands in for its job (checkpoint placed where the experiment expects it, result
 * rebuilt from the provenance); a freshly trained one is stored with its provenance.
 */
import { cacheSource, findCachedSource, placeCachedSource, type SourceProvenance } from '../data/phantom/sources.js';
import { PHANTOM_VERSION } from '../data/phantom/writers.js';
import { hashConfig, keyForm, withoutRoots } from './keys.js';
import type { RunJob, RunResult } from './types.js';

/**
 * The cache key of a source job: what it trains on and how (data, arm, N, seed), not the experiment's
 * name, so every experiment on the same phantoms (the demo, its reduced-grid test, a user's spec) that
 * asks for the same source recipe shares one trained checkpoint.
 */
export function phantomSourceKey(job: RunJob): string {
  return hashConfig(keyForm(withoutRoots({ kind: job.kind, data: job.data, arm: job.arm, n: job.n, seed: job.seed })));
}

export async function cachedSourceRun(job: RunJob, phantomsDir: string): Promise<RunResult | undefined> {
  const hit = await findCachedSource(phantomsDir, phantomSourceKey(job));
  if (!hit) return undefined;
  const p = hit.provenance;
  let checkpoint = hit.path;
  if (job.checkpointOut) {
    await placeCachedSource(hit.path, job.checkpointOut);
    checkpoint = job.checkpointOut;
  }
  return {
    testAuc: p.testAuc,
    testAucTta: p.testAucTta,
    perLabelAuc: p.perLabelAuc,
    valLoss: p.valLoss,
    bestEpoch: p.bestEpoch,
    epochs: [],
    timings: { seconds: 0, cachedSourceSeconds: p.seconds },
    sampleIdsHash: p.sampleIdsHash,
    checkpoint,
  };
}

export async function cacheSourceRun(
  job: RunJob,
  result: RunResult,
  phantoms: { dir: string; seed: number },
): Promise<void> {
  if (!result.checkpoint) return;
  const provenance: SourceProvenance = {
    task: job.data.name,
    jobKey: phantomSourceKey(job),
    dataset: job.data.dataset as SourceProvenance['dataset'],
    labels: job.data.labels ?? [],
    phantomVersion: PHANTOM_VERSION,
    phantomSeed: phantoms.seed,
    seed: job.seed,
    arch: job.arm.arch,
    epochs: job.arm.epochs,
    n: job.n,
    testAuc: result.testAuc,
    testAucTta: result.testAucTta,
    perLabelAuc: result.perLabelAuc,
    valLoss: result.valLoss,
    bestEpoch: result.bestEpoch,
    sampleIdsHash: result.sampleIdsHash,
    seconds: result.timings.seconds ?? 0,
  };
  await cacheSource(phantoms.dir, result.checkpoint, provenance);
}
