/**
 * The user's path end to end, kept tiny (64-px images, one epoch, tens of images): train from a DICOM tree
 * with a labels CSV and from class folders with --positive, evaluate the checkpoint from another working
 * directory, and load it in the library with no options but the file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../src/checkpoint.js';
import { loadModel } from '../src/model.js';
import { tempDir, writePng } from './helpers/data-fixtures.js';
import { python } from './helpers/python.js';
import { quickTrainFlags } from './helpers/quick-train.js';

const CLI = resolve('bin/torchxfer.js');
const QUICK = quickTrainFlags({ threads: 2 });

let root: string;
const cli = (args: string[], cwd = root) =>
  spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
    timeout: 300_000,
  });

beforeAll(() => {
  root = tempDir('cli-e2e');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('train on your own data, use the checkpoint anywhere', () => {
  let dicomRun: string;

  it('trains from a DICOM tree with a labels CSV (keyed by file name)', () => {
    const scans = join(root, 'scans');
    mkdirSync(join(scans, 'a'), { recursive: true });
    mkdirSync(join(scans, 'b'), { recursive: true });
    const cases = Array.from({ length: 40 }, (_, i) => ({
      name: `${i % 2 ? 'a' : 'b'}/im${i}`,
      rows: 64,
      cols: 64,
      bits: 8,
      patient: `P${i}`,
      seed: i,
    }));
    python('make_dicom.py', [scans], JSON.stringify(cases));
    const labels = join(root, 'labels.csv');
    writeFileSync(
      labels,
      ['file,Effusion', ...cases.map((c, i) => `${c.name}.dcm,${i % 4 < 2 ? 1 : 0}`)].join('\n') + '\n',
    );
    dicomRun = join(root, 'runs', 'dicom');
    // Relative paths, as a user types them: the checkpoint must record them absolute.
    const r = cli([
      'train',
      '--data',
      'scans',
      '--format',
      'dicom',
      '--labels',
      'labels.csv',
      '--task',
      'Effusion',
      '--out',
      'runs/dicom',
      '--cache-dir',
      'cache',
      ...QUICK,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Data: dicom at .*scans; labels Effusion/);
    // No official test list: the fallback is said, and recorded.
    expect(r.stderr).toMatch(/warning: .*no official test list: a random 70\/10\/20 split/);
    expect(r.stdout).toContain(join(dicomRun, 'best.safetensors'));
    expect(r.stdout).not.toMatch(/TTA/);
    const metrics = JSON.parse(readFileSync(join(dicomRun, 'metrics.json'), 'utf8'));
    expect(metrics.config.data).toBe(join(root, 'scans'));
    expect(metrics.config.labels).toBe(labels);
    // One epoch numbering: the screen's "best epoch 1 of 1" is metrics.json's.
    expect(r.stdout).toContain('best epoch 1 of 1');
    expect(metrics.bestEpoch).toBe(1);
    // The summary says which AUC its interval is for (no TTA here: the test AUC).
    expect(metrics.testAucCi).toHaveLength(2);
    expect(r.stdout).toContain(
      `(95% CI of the test AUC ${metrics.testAucCi[0].toFixed(3)}-${metrics.testAucCi[1].toFixed(3)})`,
    );
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1]);
    expect(metrics.split).toBe('random');
    expect(metrics.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/no official test list/),
        expect.stringMatching(/test set has \d+ positive/),
      ]),
    );
    // A finished run removes its resumable state (it is kept with --keep-resume).
    expect(existsSync(join(dicomRun, 'resume'))).toBe(false);
  });

  it('evaluates the checkpoint from another working directory with nothing but --checkpoint', async () => {
    const elsewhere = tempDir('cli-e2e-elsewhere');
    try {
      const r = cli(['eval', '--checkpoint', join(dicomRun, 'best.safetensors'), '--json'], elsewhere);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ split: 'test', labels: ['Effusion'], tta: 0 });
      const metrics = JSON.parse(readFileSync(join(dicomRun, 'metrics.json'), 'utf8'));
      expect(report.images).toBe(metrics.samples.test.length);
      expect(report.auc).toBeCloseTo(metrics.testAuc, 6);
      // The same interval as the run's (same split, same bootstrap seed), printed in the text output too.
      expect(report.ci.map((v: number) => v.toFixed(6))).toEqual(metrics.testAucCi.map((v: number) => v.toFixed(6)));
      const text = cli(['eval', '--checkpoint', join(dicomRun, 'best.safetensors')], elsewhere);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toContain(`(95% CI ${report.ci[0].toFixed(3)}-${report.ci[1].toFixed(3)})`);
      // Data moved: the error names --data and where the checkpoint looked.
      const ck = await loadCheckpoint(join(dicomRun, 'best.safetensors'));
      for (const t of Object.values(ck.tensors)) t.dispose();
      expect((ck.metadata.training as { data: string }).data).toBe(join(root, 'scans'));
      // The split actually used is recorded, not the one asked for.
      expect((ck.metadata.data as { split: string }).split).toBe('random');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('loads the checkpoint in the library with no options but the file', async () => {
    const path = join(dicomRun, 'best.safetensors');
    const model = await loadModel({ weights: path });
    const explicit = await loadModel({
      arch: 'resnet50',
      numClasses: 1,
      inChannels: 1,
      greyMode: 'sum',
      weights: path,
    });
    try {
      expect(model.config).toMatchObject({ arch: 'resnet50', numClasses: 1, inChannels: 1 });
      expect(model.checkpoint).toMatchObject({ labels: ['Effusion'], imageSize: 64, crop: 56 });
      expect(model.checkpoint!.normalisation!.mean).toHaveLength(1);
      const x = new Float32Array(2 * 56 * 56).map((_, i) => Math.sin(i));
      expect(Array.from(await model.predict(x, [2, 1, 56, 56]))).toEqual(
        Array.from(await explicit.predict(x, [2, 1, 56, 56])),
      );
      await expect(loadModel({ weights: path, arch: 'densenet121' })).rejects.toThrow(
        /Expected "resnet50" \(what the checkpoint .* was trained with\) or nothing for arch but received 'densenet121'/,
      );
    } finally {
      model.dispose();
      explicit.dispose();
    }
  });

  it('trains from class folders with --positive, and predicts from the checkpoint', async () => {
    const images = join(root, 'limbs');
    // 120 images: the random split of a folder dataset puts ~12 in validation, so both classes are there
    // (with 40, a validation set of 4 was all one class in about one run in eight).
    for (let i = 0; i < 120; i++) await writePng(join(images, i % 2 ? 'fracture' : 'intact', `x${i}.png`), i, 64, 64);
    const plain = cli(['train', '--data', images, '--format', 'folder', '--out', join(root, 'runs', 'nope'), ...QUICK]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/name the positive one/);
    const out = join(root, 'runs', 'folder');
    const r = cli([
      'train',
      '--data',
      images,
      '--format',
      'folder',
      '--positive',
      'fracture',
      '--out',
      out,
      '--cache-dir',
      join(root, 'cache'),
      '--keep-resume',
      ...QUICK,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/labels fracture/);
    const p = cli([
      'predict',
      '--checkpoint',
      join(out, 'best.safetensors'),
      join(images, 'fracture', 'x1.png'),
      join(root, 'missing.png'),
      '--json',
    ]);
    expect(p.status, p.stderr).toBe(0);
    const preds = JSON.parse(p.stdout);
    expect(preds[0].probabilities.fracture).toBeGreaterThan(0);
    expect(preds[1].error).toBeDefined();
    // Nothing readable: a failure, not an empty success.
    const none = cli(['predict', '--checkpoint', join(out, 'best.safetensors'), join(root, 'missing.png')]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no image could be read/);
    expect(existsSync(join(out, 'resume'))).toBe(true);
    // --resume alone reuses the saved options; one that changes the result is named and refused.
    const changed = cli(['train', '--out', out, '--resume', '--epochs', '2']);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain(`cannot resume ${out} with different options: --epochs 2 (the run used 1)`);
    const again = cli(['train', '--out', out, '--resume', '--threads', '1', '--keep-resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('Resuming with the saved options, except --threads 1 (the run used 2)');
    expect(again.stderr).toMatch(/labels fracture/);
  });
});
