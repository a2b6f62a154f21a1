// Source weights cached with the phantoms: provenance in the checkpoint metadata, reuse by recipe key
// (any experiment), invalidation by recipe, and the experiment glue that stands a cached source in for its job.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { findCachedSource, sourceCachePath } from '../src/data/phantom/sources.js';
import { PHANTOM_VERSION } from '../src/data/phantom/writers.js';
import { cacheSourceRun, cachedSourceRun, phantomSourceKey } from '../src/experiments/phantom-sources.js';
import type { RunJob, RunResult } from '../src/experiments/types.js';
import { tensor } from '../src/tensor.js';

let dir: string;
const job = (key: string, experiment = 'demo', epochs = 6): RunJob => ({
  key,
  experiment,
  kind: 'source',
  data: {
    name: 'chest-source',
    dataset: 'phantom-chest',
    labels: ['Mass', 'Effusion'],
    options: { phantomSeed: 2021 },
  },
  arm: {
    arch: 'resnet50',
    policy: 'one-cycle',
    strategy: 'fine-tune',
    source: 'none',
    init: 'default',
    optimizer: 'adam',
    epochs,
    maxLr: 0.001,
    batchSize: 16,
    tta: 0,
    options: {},
  },
  n: 400,
  seed: 0,
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-srccache-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phantom source cache', () => {
  it('stores a trained source with its provenance and stands it in for the same job only', async () => {
    const trained = join(dir, 'trained.pt');
    await saveCheckpoint(
      trained,
      { 'fc.bias': tensor(new Float32Array([0.25, -0.5]), [2]) },
      { architecture: 'resnet50', labels: ['Mass', 'Effusion'] },
    );
    const result: RunResult = {
      testAuc: 0.91,
      testAucTta: 0.93,
      perLabelAuc: { Mass: 0.95, Effusion: 0.87 },
      valLoss: 0.3,
      bestEpoch: 5,
      epochs: [],
      timings: { seconds: 120 },
      sampleIdsHash: 'abc',
      checkpoint: trained,
    };
    const phantomsDir = join(dir, 'phantoms');
    expect(await cachedSourceRun(job('k1'.padEnd(64, '0')), phantomsDir)).toBeUndefined();

    await cacheSourceRun(job('k1'.padEnd(64, '0')), result, { dir: phantomsDir, seed: 2021 });
    const recipe = phantomSourceKey(job('k1'.padEnd(64, '0')));
    const { metadata, tensors } = await loadCheckpoint(sourceCachePath(phantomsDir, recipe));
    expect(metadata.architecture).toBe('resnet50');
    expect(Object.keys(tensors)).toEqual(['fc.bias']);
    expect(metadata.sourceTask).toMatchObject({
      task: 'chest-source',
      labels: ['Mass', 'Effusion'],
      phantomVersion: PHANTOM_VERSION,
      phantomSeed: 2021,
      seed: 0,
      arch: 'resnet50',
      epochs: 6,
      n: 400,
      testAuc: 0.91,
      testAucTta: 0.93,
    });

    const out = join(dir, 'experiment', 'source.pt');
    mkdirSync(join(dir, 'experiment'));
    const withOut = { ...job('k1'.padEnd(64, '0')), checkpointOut: out };
    const stood = await cachedSourceRun(withOut, phantomsDir);
    expect(stood).toMatchObject({ testAuc: 0.91, testAucTta: 0.93, checkpoint: out, sampleIdsHash: 'abc' });
    expect(existsSync(out)).toBe(true);
    expect((await loadCheckpoint(out)).metadata.sourceTask).toMatchObject({ jobKey: recipe });

    // The same recipe in another experiment (the demo's reduced-grid test, a user's spec) is served too.
    expect(await cachedSourceRun(job('k2'.padEnd(64, '0'), 'demo-test'), phantomsDir)).toMatchObject({ testAuc: 0.91 });
    // Another recipe (other epochs) is not; nor a key whose 16-character file prefix collides.
    expect(await cachedSourceRun(job('k1'.padEnd(64, '0'), 'demo', 7), phantomsDir)).toBeUndefined();
    expect(
      await findCachedSource(phantomsDir, recipe.slice(0, 63) + (recipe.endsWith('0') ? '1' : '0')),
    ).toBeUndefined();
  });
});
