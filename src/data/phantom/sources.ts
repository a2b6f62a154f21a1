/**
 * Source-task weights trained on the phantoms are cached beside them (<phantoms dir>/sources/), so a
 * demo trains each source once, not per run or per results database. A cached checkpoint carries its
 * provenance in its metadata ("sourceTask"): task, labels, phantom version and seed, training seed,
 * architecture, epochs, N and the source's test AUC. The phantom folder's name holds the phantom
 * version and seed, so a new generator version never meets an old source.
 */
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { loadCheckpoint, saveCheckpoint } from '../../checkpoint.js';
import { PHANTOM_VERSION } from './writers.js';

export interface SourceProvenance {
  /** The source task's name (e.g. the experiment spec's source name). */
  task: string;
  /** The key of the recipe the weights were trained for (a hash of data, arm, N and seed; no experiment name). */
  jobKey: string;
  dataset: 'phantom-chest' | 'phantom-msk';
  labels: string[];
  phantomVersion: number;
  phantomSeed: number;
  /** Training seed. */
  seed: number;
  arch: string;
  epochs: number;
  n: number | 'all';
  testAuc: number | null;
  testAucTta: number | null;
  perLabelAuc?: Record<string, number | null>;
  valLoss: number;
  bestEpoch?: number;
  sampleIdsHash: string;
  seconds: number;
}

export function sourceCachePath(phantomsDir: string, jobKey: string): string {
  return join(phantomsDir, 'sources', `source-${jobKey.slice(0, 16)}.pt`);
}

/** The cached source for this job, or undefined (absent, or trained for another job or phantom version). */
export async function findCachedSource(
  phantomsDir: string,
  jobKey: string,
): Promise<{ path: string; provenance: SourceProvenance } | undefined> {
  const path = sourceCachePath(phantomsDir, jobKey);
  if (
    !(await stat(path).then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  const { metadata } = await loadCheckpoint(path);
  const provenance = metadata.sourceTask as SourceProvenance | undefined;
  if (!provenance || provenance.jobKey !== jobKey || provenance.phantomVersion !== PHANTOM_VERSION) return undefined;
  return { path, provenance };
}

/** Stores a trained source checkpoint in the cache with its provenance added; atomic (tmp then rename). */
export async function cacheSource(phantomsDir: string, trained: string, provenance: SourceProvenance): Promise<string> {
  const path = sourceCachePath(phantomsDir, provenance.jobKey);
  await mkdir(join(phantomsDir, 'sources'), { recursive: true });
  const { tensors, metadata } = await loadCheckpoint(trained);
  const { format: _f, formatVersion: _v, versions: _vs, tensorsSha256: _s, createdAt: _c, ...kept } = metadata;
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await saveCheckpoint(tmp, tensors, { ...kept, sourceTask: provenance });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}

/** Copies a cached source to where an experiment expects its source checkpoint (atomic). */
export async function placeCachedSource(cached: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}`;
  await copyFile(cached, tmp);
  await rename(tmp, to);
}
