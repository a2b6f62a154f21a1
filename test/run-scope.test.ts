// One way to open a run (src/train/open-run.ts): lr-find trains as train does (every training option
// reaches its Trainer), and an error halfway through train, lr-find, eval or predict leaves no open image
// cache, no lock and no native model, trainer or tensor behind.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { RUN_OPTIONS } from '../src/commands/options.js';
import { configFromArgs } from '../src/commands/run-config.js';
import { ImageCache, openImageCaches } from '../src/data/cache.js';
import { synthesize } from '../src/data/phantom/index.js';
import { native, packageRoot } from '../src/native.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/config.js';
import { evaluate, predict } from '../src/train/inference.js';
import { lrFind } from '../src/train/lr-find.js';
import { train } from '../src/train/run.js';
import { readSafetensors, writeSafetensors } from '../src/weights/io.js';
import { HEAVY_TEST_MS } from './helpers/limits.js';
import { runNode } from './helpers/processes.js';

let root: string;
let cacheDir: string;
let checkpoint: string;

// Small and fast: 64-px images, ResNet50, two steps an epoch.
const base = (): Partial<TrainConfig> => ({
  data: root,
  format: 'nih',
  task: ['Cardiomegaly'],
  n: 16,
  arch: 'resnet50',
  init: 'none',
  strategy: 'gradual-unfreeze',
  epochs: 2,
  batchSize: 8,
  maxLr: 1e-3,
  imageSize: 64,
  crop: 56,
  tta: 0,
  valLimit: 8,
  testLimit: 8,
  seed: 3,
  device: 'cpu',
  cacheDir,
});

/** What a run holds while it lives: open image caches and native objects held by JS. */
function held() {
  const addon = native();
  return {
    caches: openImageCaches(),
    models: addon.liveModels(),
    trainers: addon.liveTrainers(),
    tensors: addon.liveTensors(),
  };
}

/** Makes the image cache's readBatch throw on its `n`th call from now (1 = the next one). */
function failReadBatch(n: number): void {
  const real = ImageCache.prototype.readBatch;
  let calls = 0;
  type Args = Parameters<ImageCache['readBatch']>;
  vi.spyOn(ImageCache.prototype, 'readBatch').mockImplementation(function (this: ImageCache, ...args: Args) {
    if (++calls === n) throw new Error(`injected failure at read ${n}`);
    return real.apply(this, args);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'torchxfer-scope-'));
  root = join(dir, 'chest');
  cacheDir = join(dir, 'cache');
  await synthesize({ kind: 'chest', out: root, n: 240, seed: 5, size: 64, prevalenceBoost: 0.25, threads: 0 });
  const out = join(dir, 'trained');
  await train({ ...base(), epochs: 1, out }, { progress: null });
  checkpoint = join(out, 'best.safetensors');
}, HEAVY_TEST_MS);

describe('lr-find honours the training options', () => {
  const cli = join(packageRoot, 'bin', 'torchxfer.js');
  const curve = async (...flags: string[]): Promise<number[]> => {
    const out = mkdtempSync(join(tmpdir(), 'torchxfer-lrfind-'));
    const data = ['--data', root, '--format', 'nih', '--task', 'Cardiomegaly', '--n', '16', '--cache-dir', cacheDir];
    const model = ['--arch', 'resnet50', '--init', 'none', '--batch-size', '8', '--image-size', '64', '--crop', '56'];
    const args = ['lr-find', ...data, ...model, '--seed', '3', '--device', 'cpu'];
    const ramp = ['--num-iter', '5', '--start-lr', '1e-3', '--end-lr', '1'];
    const stdout = await runNode([cli, ...args, ...ramp, '--out', out, '--json', ...flags]);
    return (JSON.parse(stdout) as { losses: number[] }).losses;
  };

  it(
    '--weight-decay 0.5 and --nesterov change the curve; the first loss (before any update) stays',
    async () => {
      const [plain, decayed, sgd, nesterov] = await Promise.all([
        curve(),
        curve('--weight-decay', '0.5'),
        curve('--optimizer', 'sgd'),
        curve('--optimizer', 'sgd', '--nesterov'),
      ]);
      for (const c of [plain, decayed, sgd, nesterov]) expect(c.length).toBeGreaterThanOrEqual(3);
      // The same data, model and first batch: the options act only through the updates.
      expect(new Set([plain[0], decayed[0], sgd[0], nesterov[0]]).size).toBe(1);
      expect(decayed.slice(1)).not.toEqual(plain.slice(1));
      expect(nesterov.slice(1)).not.toEqual(sgd.slice(1));
      expect(sgd.slice(1)).not.toEqual(plain.slice(1));
    },
    HEAVY_TEST_MS,
  );
});

describe('an error halfway releases everything the run opened', () => {
  it(
    'train: no open cache, no lock, no native object',
    async () => {
      const before = held();
      const out = mkdtempSync(join(tmpdir(), 'torchxfer-fail-train-'));
      failReadBatch(3); // epoch 1: two training batches read, then the validation batch fails
      await expect(train({ ...base(), out }, { progress: null })).rejects.toThrow(/injected failure at read 3/);
      expect(held()).toEqual(before);
      expect(existsSync(join(out, '.lock'))).toBe(false);
    },
    HEAVY_TEST_MS,
  );

  it(
    'lr-find: no open cache, no native object',
    async () => {
      const before = held();
      const out = mkdtempSync(join(tmpdir(), 'torchxfer-fail-lrfind-'));
      failReadBatch(3);
      const finding = lrFind({ ...base(), out }, { numIter: 6, progress: null });
      await expect(finding).rejects.toThrow(/injected failure at read 3/);
      expect(held()).toEqual(before);
    },
    HEAVY_TEST_MS,
  );

  it(
    'eval: no open cache, no native object (the checkpoint tensors included)',
    async () => {
      const before = held();
      failReadBatch(1);
      await expect(evaluate({ checkpoint, device: 'cpu', cacheDir })).rejects.toThrow(/injected failure at read 1/);
      expect(held()).toEqual(before);
      vi.restoreAllMocks();
      // And on success too.
      const report = await evaluate({ checkpoint, device: 'cpu', cacheDir });
      expect(report.images).toBeGreaterThan(0);
      expect(held()).toEqual(before);
    },
    HEAVY_TEST_MS,
  );

  it(
    'predict: no native object when the work fails halfway, nor when it succeeds',
    async () => {
      const images = readdirSync(join(root, 'images'))
        .slice(0, 2)
        .map((f) => join(root, 'images', f));
      const before = held();
      // A list of files that fails after the first one has been predicted.
      const failing = [...images];
      Object.defineProperty(failing, Symbol.iterator, {
        value: function* () {
          yield images[0]!;
          throw new Error('injected failure in the file list');
        },
      });
      const predicting = predict({ checkpoint, images: failing, device: 'cpu' });
      await expect(predicting).rejects.toThrow(/injected failure in the file list/);
      expect(held()).toEqual(before);
      const preds = await predict({ checkpoint, images, device: 'cpu' });
      expect(preds.map((p) => p.error)).toEqual([undefined, undefined]);
      expect(held()).toEqual(before);
    },
    HEAVY_TEST_MS,
  );
});

describe('initialising from a checkpoint file', () => {
  it(
    'a checkpoint failing its checksum is an error, not weights; plain safetensors load as weights',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'torchxfer-init-'));
      const corrupt = join(dir, 'corrupt.safetensors');
      copyFileSync(checkpoint, corrupt);
      const bytes = readFileSync(corrupt);
      bytes[bytes.length - 5] ^= 0xff; // inside the last tensor's data
      writeFileSync(corrupt, bytes);
      const before = held();
      const training = train({ ...base(), init: corrupt, out: join(dir, 'a') }, { progress: null });
      await expect(training).rejects.toThrow(/checksum mismatch/);
      expect(held()).toEqual(before);

      const plain = join(dir, 'plain.safetensors');
      const { tensors } = await readSafetensors(checkpoint);
      await writeSafetensors(plain, tensors, {});
      for (const t of Object.values(tensors)) t.dispose();
      const logs: string[] = [];
      const run = train({ ...base(), init: plain, epochs: 1, maxSteps: 1, out: join(dir, 'b') }, { progress: null });
      run.on('log', (line) => logs.push(line));
      await run;
      expect(logs.join('\n')).toMatch(new RegExp(`init file ${plain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(held()).toEqual(before);
    },
    HEAVY_TEST_MS,
  );
});

describe('one set of defaults', () => {
  it('with no data, train({ out }) and torchxfer train start from the same (phantom) recipe', () => {
    const fromLibrary = resolveTrainConfig({ out: 'x' });
    const fromCli = resolveTrainConfig(configFromArgs({ out: 'x' }, [...RUN_OPTIONS, 'out']));
    expect(fromCli).toEqual(fromLibrary);
    const phantomRecipe = { init: 'none', strategy: 'fine-tune', n: 200, epochs: 6, imageSize: 112, maxLr: 3e-3 };
    expect(fromLibrary).toMatchObject(phantomRecipe);
    // With data, the protocol's defaults.
    const protocol = { init: 'imagenet', strategy: 'gradual-unfreeze', epochs: 20, imageSize: 250, maxLr: 'auto' };
    expect(resolveTrainConfig({ out: 'x', data: root })).toMatchObject(protocol);
    expect(resolveTrainConfig({ out: 'x', data: root }).n).toBeUndefined();
  });
});
