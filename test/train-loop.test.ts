// The training loop end to end on a small phantom set: outputs, resume equals an uninterrupted run,
// divergence handling, and the train / eval / predict CLI.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../src/checkpoint.js';
import { synthesize } from '../src/data/phantom/index.js';
import { packageRoot } from '../src/native.js';
import { tensorBytes, readSafetensors } from '../src/weights/io.js';
import type { TrainConfig } from '../src/train/config.js';
import { train } from '../src/train/run.js';
import { HEAVY_TEST_MS } from './helpers/limits.js';
import { runAsync, runNode } from './helpers/processes.js';
import { quickTrainFlags } from './helpers/quick-train.js';

let root: string;
let cacheDir: string;

// Small and fast: 64-px images, ResNet50, a handful of steps.
const base = (): Partial<TrainConfig> => ({
  data: root,
  format: 'nih',
  task: ['Cardiomegaly'],
  n: 24,
  arch: 'resnet50',
  init: 'none',
  strategy: 'gradual-unfreeze',
  policy: 'one-cycle',
  epochs: 2,
  batchSize: 8,
  maxLr: 1e-3,
  imageSize: 64,
  crop: 56,
  tta: 2,
  valLimit: 16,
  testLimit: 16,
  seed: 3,
  device: 'cpu',
  cacheDir,
});

async function finalWeights(out: string): Promise<Map<string, Buffer>> {
  const dir = join(out, 'resume');
  const file = readdirSync(dir).find((f) => f.startsWith('state-'))!;
  const { tensors } = await readSafetensors(join(dir, file));
  const m = new Map<string, Buffer>();
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) m.set(k, Buffer.from(tensorBytes(t).bytes));
  return m;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'torchxfer-train-'));
  root = join(dir, 'chest');
  cacheDir = join(dir, 'cache');
  await synthesize({ kind: 'chest', out: root, n: 240, seed: 5, size: 64, prevalenceBoost: 0.25, threads: 0 });
}, HEAVY_TEST_MS);

// Trainings: limits that hold on a busy machine (test/helpers/limits.ts).
describe('train()', { timeout: HEAVY_TEST_MS }, () => {
  it('writes the checkpoint, metrics and plots, and emits epoch events', async () => {
    const out = mkdtempSync(join(tmpdir(), 'torchxfer-run-'));
    const epochs: number[] = [];
    const run = train({ ...base(), out }, { progress: null });
    run.on('epoch', (e) => epochs.push(e.epoch));
    const r = await run;
    // One numbering, from 1: events, the result, metrics.json and the checkpoint agree.
    expect(epochs).toEqual([1, 2]);
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const f of ['best.safetensors', 'metrics.json', 'training-curves.svg', 'training-curves.png', 'schedule.svg'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.labels).toEqual(['Cardiomegaly']);
    expect(metrics.samples.train).toHaveLength(24);
    expect(metrics.samples.test.length).toBeLessThanOrEqual(16);
    expect(r.testAuc === null || (r.testAuc >= 0 && r.testAuc <= 1)).toBe(true);
    expect([1, 2]).toContain(r.bestEpoch);
    expect(metrics.bestEpoch).toBe(r.bestEpoch);
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    const kept = await loadCheckpoint(join(out, 'best.safetensors'));
    expect((kept.metadata.metrics as { epoch: number }).epoch).toBe(r.bestEpoch);
    for (const t of Object.values(kept.tensors)) t.dispose();
    // The test split never shares a patient with training.
    const patient = (id: string) => id.split('_')[0];
    const trainPatients = new Set(metrics.samples.train.map(patient));
    expect(metrics.samples.test.some((id: string) => trainPatients.has(patient(id)))).toBe(false);
  });

  it('an interrupted run resumed with --resume ends with the same weights as an uninterrupted one', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'torchxfer-whole-'));
    await train({ ...base(), out: whole, keepResume: true }, { progress: null });

    const split = mkdtempSync(join(tmpdir(), 'torchxfer-split-'));
    const controller = new AbortController();
    const first = train({ ...base(), out: split }, { progress: null, signal: controller.signal });
    first.on('step', (s) => {
      if (s.step === 4) controller.abort(); // mid-epoch 2 of 3 batches per epoch
    });
    await expect(first).rejects.toThrow();
    expect(existsSync(join(split, 'resume', 'state.json'))).toBe(true);
    // Without --resume the folder is refused rather than overwritten.
    await expect(train({ ...base(), out: split }, { progress: null })).rejects.toThrow(/--resume/);
    await train({ ...base(), out: split, resume: true, keepResume: true }, { progress: null });

    const a = await finalWeights(whole);
    const b = await finalWeights(split);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const differing = [...a.keys()].filter((k) => !a.get(k)!.equals(b.get(k)!));
    expect(differing).toEqual([]);
  });

  it('a diverging run stops with a clear message instead of crashing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'torchxfer-nan-'));
    const outcome = await train({ ...base(), optimizer: 'sgd', maxLr: 100, epochs: 3, out }, { progress: null }).then(
      (r) => ({ ok: r.stoppedEarly ?? 'finished' }),
      (e: unknown) => ({ error: (e as Error).message }),
    );
    if ('error' in outcome) expect(outcome.error).toMatch(/no finite validation loss|lower --max-lr/);
    else expect(['diverged', 'finished']).toContain(outcome.ok);
  });

  it('two trainings in one process, and model calls while they run, all work', async () => {
    const outs = [mkdtempSync(join(tmpdir(), 'torchxfer-two-a-')), mkdtempSync(join(tmpdir(), 'torchxfer-two-b-'))];
    const { loadModel } = await import('../src/model.js');
    const probe = await loadModel({ arch: 'resnet50', numClasses: 1, inChannels: 1 });
    const runs = outs.map((out, k) => train({ ...base(), epochs: 1, seed: 20 + k, out }, { progress: null }));
    const logits = await probe.predict(new Float32Array(2 * 64 * 64), [2, 1, 64, 64]);
    const results = await Promise.all(runs);
    expect(logits).toHaveLength(2);
    expect(results.map((r) => r.epochs.length)).toEqual([1, 1]);
    expect(results[0].sampleIdsHash).not.toBe(results[1].sampleIdsHash); // different seeds, different samples
    probe.dispose();
  });

  it('refuses bad options naming them', () => {
    return expect(train({ ...base(), epochs: 0, out: 'x' })).rejects.toThrow(
      /Expected an integer between 1 and 100000 for epochs but received 0/,
    );
  });
});

describe('torchxfer train / eval / predict (CLI)', { timeout: HEAVY_TEST_MS }, () => {
  const cli = join(packageRoot, 'bin', 'torchxfer.js');
  const cliArgs = (out: string, epochs: number) => [
    'train',
    '--data',
    root,
    '--format',
    'nih',
    '--task',
    'Cardiomegaly',
    '--n',
    '24',
    ...quickTrainFlags({ epochs }),
    '--seed',
    '9',
    '--cache-dir',
    cacheDir,
    '--keep-resume',
    '--out',
    out,
  ];

  it('killed with SIGKILL mid-run, --resume ends with the weights of an uninterrupted run; a second writer is refused', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'torchxfer-kill-whole-'));
    expect((await runAsync(process.execPath, [cli, ...cliArgs(whole, 3)])).status).toBe(0);

    const out = mkdtempSync(join(tmpdir(), 'torchxfer-kill-'));
    const child = spawn(process.execPath, [cli, ...cliArgs(out, 3)], { stdio: 'ignore' });
    const stateFile = join(out, 'resume', 'state.json');
    // Kill once the first epoch's state is on disk, while the run goes on.
    let refused = '';
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(stateFile) && JSON.parse(readFileSync(stateFile, 'utf8')).position.epoch >= 1) {
        refused = (await runAsync(process.execPath, [cli, ...cliArgs(out, 3), '--resume'])).stderr;
        child.kill('SIGKILL');
        break;
      }
    }
    await new Promise((r) => child.on('exit', r));
    expect(refused).toMatch(/in use by another torchxfer run/);
    const resumed = await runAsync(process.execPath, [cli, ...cliArgs(out, 3), '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/Resumed from/);
    const a = await finalWeights(whole);
    const b = await finalWeights(out);
    expect([...a.keys()].filter((k) => !a.get(k)!.equals(b.get(k)!))).toEqual([]);
  });

  it('trains, evaluates the checkpoint with TTA and predicts image files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'torchxfer-cli-'));
    const args = [
      'train',
      '--data',
      root,
      '--format',
      'nih',
      '--task',
      'Cardiomegaly',
      '--n',
      '24',
      ...quickTrainFlags({ tta: 2 }),
      '--cache-dir',
      cacheDir,
      '--out',
      out,
    ];
    const r = await runAsync(process.execPath, [cli, ...args]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test AUC/);
    const ck = join(out, 'best.safetensors');
    const ev = JSON.parse(
      await runNode([cli, 'eval', '--checkpoint', ck, '--tta', '4', '--json'], {
        env: { ...process.env, TORCHXFER_CACHE: cacheDir },
      }),
    );
    expect(ev.split).toBe('test');
    expect(ev.tta).toBe(4);
    const images = readdirSync(join(root, 'images'))
      .slice(0, 2)
      .map((f) => join(root, 'images', f));
    const pred = JSON.parse(
      await runNode([cli, 'predict', '--checkpoint', ck, '--json', ...images, join(root, 'missing.png')]),
    );
    expect(pred).toHaveLength(3);
    for (const p of pred.slice(0, 2)) expect(p.probabilities.Cardiomegaly).toBeGreaterThanOrEqual(0);
    expect(pred[2].error).toMatch(/missing\.png/);
    const bad = await runAsync(process.execPath, [cli, 'train', '--data', root, '--arch', 'vgg16', '--out', out]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/vgg16/);
  });
});
