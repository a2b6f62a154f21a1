// Every number recorded is what happened (real training, tiny): a labels CSV naming missing and
// unreadable files trains N images that all decode, the bad files removed before sampling, listed and
// counted as dropped, the same sample drawn again by a second run; phantoms with few positives train on
// every unique positive before any repeat, and metrics.json, the results database and the JSON export
// carry the true counts, `simulated: true` (from the phantoms' marker) and the warning.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { synthesize } from '../src/data/phantom/index.js';
import { ResultsDb } from '../src/experiments/db.js';
import { pairedP } from '../src/experiments/paired.js';
import { runExperiment } from '../src/experiments/run.js';
import { validateSpec } from '../src/experiments/spec.js';
import { trainArmRunner } from '../src/experiments/train-runner.js';
import { train } from '../src/train/run.js';
import { removeTempDirs, runCli, tempDir } from './experiments-helpers.js';

let dir: string;
let phantoms: string;
let csv: string;
const corrupt = ['bad/broken-1.png', 'bad/broken-2.png'];
const missing = ['gone/a.png', 'gone/b.png', 'gone/c.png'];

afterAll(removeTempDirs);
beforeAll(async () => {
  dir = tempDir('txcounts-');
  phantoms = join(dir, 'chest');
  await synthesize({ kind: 'chest', out: phantoms, n: 120, seed: 7, size: 64, prevalenceBoost: 0.25, threads: 0 });
  // A labels CSV of 60 phantom images in 30 patients, each with one positive and one negative image (so any
  // validation patient brings both classes, wherever the seeded split puts it), plus two files that do not
  // decode and three that do not exist, each its own patient.
  const images = readFileSync(join(phantoms, 'Data_Entry_2017.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1, 61)
    .map((l) => l.split(',')[0]!);
  mkdirSync(join(dir, 'bad'));
  for (const f of corrupt) writeFileSync(join(dir, f), Buffer.from('\x89PNG\r\n\x1a\n this is not an image'));
  const rows = images.map((f, i) => `chest/images/${f},p${Math.floor(i / 2)},${i < 40 ? 'train' : 'test'},${i % 2}`);
  rows.push(...corrupt.map((f) => `${f},${f},train,1`), ...missing.map((f) => `${f},${f},train,0`));
  csv = join(dir, 'labels.csv');
  writeFileSync(csv, `path,patient,split,Cardiomegaly\n${rows.join('\n')}\n`);
}, 300_000);

const tiny = {
  arch: 'resnet50' as const,
  init: 'none',
  epochs: 1,
  batchSize: 16,
  maxLr: 0.001,
  tta: 0,
  imageSize: 64,
  crop: 60,
  device: 'cpu',
  maxSteps: 2,
};

interface Metrics {
  method: string;
  simulated: boolean;
  counts: {
    nRequested: number;
    nTrained: number;
    uniqueImages: number;
    uniquePositives: number;
    droppedFiles: number;
    poolPositives: number;
  };
  dropped: { path: string; reason: string }[];
  samples: { train: string[]; val: string[]; test: string[] };
  warnings: string[];
  sampleIdsHash: string;
}

describe('counts of a run are what happened', () => {
  it('a labels CSV with missing and unreadable files: removed before sampling, listed, never counted; the next run draws the same sample', async () => {
    const cacheDir = join(dir, 'cache');
    const run = async (out: string) => {
      await train(
        { ...tiny, data: csv, format: 'csv', task: ['Cardiomegaly'], n: 60, cacheDir, out: join(dir, out) },
        { progress: null },
      );
      return JSON.parse(readFileSync(join(dir, out, 'metrics.json'), 'utf8')) as Metrics;
    };
    const m = await run('csv-1');
    expect(m.method).toBe('cnn');
    // 60 asked, 60 trained; every drawn image decodes: no bad file in any split.
    expect([m.counts.nRequested, m.counts.nTrained, m.samples.train.length]).toEqual([60, 60, 60]);
    const bad = new Set([...corrupt, ...missing]);
    expect([...m.samples.train, ...m.samples.val, ...m.samples.test].filter((id) => bad.has(id))).toEqual([]);
    expect(m.counts.droppedFiles).toBe(5);
    expect(m.dropped.map((d) => d.path.slice(dir.length + 1)).sort()).toEqual([...corrupt, ...missing].sort());
    expect(m.dropped.filter((d) => d.reason === 'file not found')).toHaveLength(3);
    // The true unique counts, from the sample itself; the pool's positives all train before any repeats.
    const unique = new Set(m.samples.train);
    expect(m.counts.uniqueImages).toBe(unique.size);
    expect(m.counts.uniqueImages).toBeLessThan(60);
    expect(m.counts.uniquePositives).toBe(m.counts.poolPositives);
    expect(
      m.warnings.some((w) =>
        w.startsWith(`N = 60 was asked for but the training pool has only ${unique.size} unique image(s)`),
      ),
    ).toBe(true);
    // The CSV is not the phantoms' folder: no marker there, so not recorded as simulated.
    expect(m.simulated).toBe(false);
    // A second run knows the unreadable files before it samples: the same sample, nothing redrawn.
    const again = await run('csv-2');
    expect(again.sampleIdsHash).toBe(m.sampleIdsHash);
    expect(again.counts).toEqual(m.counts);
  }, 600_000);

  it('phantoms with few positives (an experiment through the real runner): database and export carry the counts, simulated and the warning', async () => {
    const spec = validateSpec(
      {
        name: 'few',
        mode: 'grid',
        nGrid: [40],
        seeds: [0],
        // Pneumothorax: 20 of the 120 phantoms, 16 in the training pool: N = 40 asks for 20 positives.
        targets: [
          {
            name: 'pneumothorax',
            dataset: 'nih',
            root: phantoms,
            label: 'Pneumothorax',
            options: { imageSize: 64, testLimit: 16 },
          },
        ],
        sources: [],
        base: { arch: 'resnet50', epochs: 1, batchSize: 16, maxLr: 0.001, tta: 0 },
        arms: [{ name: 'scratch', source: 'none', init: 'default' }],
      },
      {},
    );
    const db = new ResultsDb(join(dir, 'few.db'));
    try {
      const runner = trainArmRunner({ cacheDir: join(dir, 'cache'), device: 'cpu', progress: null });
      const s = await runExperiment(spec, { db, runner, pairedP, checkpointDir: join(dir, 'ck') });
      expect(s.failed.map((f) => f.error)).toEqual([]);
    } finally {
      db.close();
    }
    const out = join(dir, 'few.json');
    const r = runCli(['results', 'export', join(dir, 'few.db'), '--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const [row] = (JSON.parse(readFileSync(out, 'utf8')) as { runs: Record<string, unknown>[] }).runs;
    const metrics = JSON.parse(
      readFileSync(join(dir, 'few.runs', String(row!.key), 'metrics.json'), 'utf8'),
    ) as Metrics;
    expect([row!.n_requested, row!.n_trained, row!.method, row!.simulated, row!.arm]).toEqual([
      40,
      40,
      'cnn',
      true,
      'scratch',
    ]);
    expect([row!.unique_images, row!.unique_positives, row!.dropped_files]).toEqual([
      metrics.counts.uniqueImages,
      metrics.counts.uniquePositives,
      0,
    ]);
    expect(metrics.counts.uniquePositives).toBe(metrics.counts.poolPositives);
    expect(metrics.counts.uniquePositives).toBeLessThan(20);
    expect(new Set(metrics.samples.train).size).toBe(metrics.counts.uniqueImages);
    expect(String(row!.warnings)).toContain('N = 40 was asked for but the training pool has only');
    expect(metrics.simulated).toBe(true);
    // metrics.json names the spec's arm too; the report of these phantoms (read as --format nih) says SIMULATED.
    expect((metrics as Metrics & { armNames: string[] }).armNames).toEqual(['scratch']);
    const rep = runCli(['report', join(dir, 'few.db'), '--out', join(dir, 'few-report'), '--no-png']);
    expect(rep.status, rep.stderr).toBe(0);
    const html = readFileSync(join(dir, 'few-report', 'report.html'), 'utf8');
    expect(html).toContain('<title>SIMULATED: torchxfer report</title>');
    expect(html).toContain('<strong>SIMULATED DATA</strong>');
  }, 600_000);
});
