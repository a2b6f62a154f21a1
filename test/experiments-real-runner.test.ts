// The real experiment runner end to end (no fake): a tiny phantom experiment, a source task and two
// target arms trained by trainArmRunner through the library API, recorded in a results database.
// Small on purpose (64-px images, 16 training images, one epoch) so it fits a busy 2-core machine.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { synthesize } from '../src/data/phantom/index.js';
import { ResultsDb } from '../src/experiments/db.js';
import { pairedP } from '../src/experiments/paired.js';
import { runExperiment } from '../src/experiments/run.js';
import { validateSpec } from '../src/experiments/spec.js';
import { trainArmRunner } from '../src/experiments/train-runner.js';
import { removeTempDirs, tempDir } from './experiments-helpers.js';

let dir: string;
let root: string;

afterAll(removeTempDirs);
beforeAll(async () => {
  dir = tempDir('txexp-real-');
  root = join(dir, 'chest');
  await synthesize({ kind: 'chest', out: root, n: 160, seed: 7, size: 64, prevalenceBoost: 0.25, threads: 0 });
}, 300_000);

const spec = (data: string) =>
  validateSpec(
    {
      name: 'tiny',
      mode: 'grid',
      nGrid: [16],
      seeds: [0],
      targets: [
        {
          name: 'chest',
          dataset: 'nih',
          root: data,
          label: 'Cardiomegaly',
          options: { imageSize: 64, valLimit: 16, testLimit: 16 },
        },
      ],
      // The source task trains from scratch too: no ImageNet weights on a machine without the internet.
      sources: [
        {
          name: 'chest-source',
          dataset: 'nih',
          root: data,
          n: 16,
          options: { imageSize: 64, valLimit: 16, testLimit: 16 },
          train: { source: 'none', init: 'default' },
        },
      ],
      base: { arch: 'resnet50', epochs: 1, batchSize: 8, maxLr: 0.001, tta: 0 },
      arms: [
        { name: 'scratch', source: 'none', init: 'default' },
        { name: 'from-source', source: 'chest-source', init: 'pretrained' },
      ],
    },
    {},
  );

describe('the real ArmRunner (trainArmRunner) through runExperiment', () => {
  it('trains the source task, then both arms (one from the source checkpoint), and records every run', async () => {
    const db = new ResultsDb(join(dir, 'tiny.db'));
    const lines: string[] = [];
    try {
      // No runsDir: each run's folder goes beside the database (tiny.runs/<key>), whatever the working directory.
      const runner = trainArmRunner({ cacheDir: join(dir, 'cache'), device: 'cpu', progress: null });
      const summary = await runExperiment(spec(root), {
        db,
        runner,
        pairedP,
        checkpointDir: join(dir, 'checkpoints'),
        log: (l) => lines.push(l),
      });
      expect(
        summary.failed.map((f) => f.error),
        lines.join('\n'),
      ).toEqual([]);
      const runs = db.runs();
      expect(runs.map((r) => r.kind).sort()).toEqual(['source', 'target', 'target']);
      expect(runs.every((r) => r.status === 'done')).toBe(true);
      for (const r of runs.filter((x) => x.kind === 'target')) {
        expect(r.test_auc).not.toBeNull();
        expect(r.test_auc!).toBeGreaterThanOrEqual(0);
        expect(r.test_auc!).toBeLessThanOrEqual(1);
        expect(db.epochs(r.key)).toHaveLength(1);
      }
      for (const r of runs.filter((x) => x.kind === 'target')) {
        expect(r.checkpoint).toBe(join(dir, 'tiny.runs', r.key, 'best.safetensors'));
        expect(existsSync(join(dir, 'tiny.runs', r.key, 'metrics.json'))).toBe(true);
      }
      expect(existsSync(join(process.cwd(), 'runs', 'experiments', 'tiny'))).toBe(false);
      const source = runs.find((r) => r.kind === 'source')!;
      expect(existsSync(source.checkpoint!)).toBe(true);
      // The arm that starts from the source task ran (its job needs the checkpoint file to exist).
      const fromSource = runs.find(
        (r) => r.kind === 'target' && (JSON.parse(r.arm_json) as { source: string }).source === 'chest-source',
      );
      expect(fromSource?.status).toBe('done');
    } finally {
      db.close();
    }
  }, 600_000);
});
