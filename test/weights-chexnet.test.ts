/**
 * Same-anatomy weights people already have: CheXNet-era checkpoints (arnoweng/CheXNet, zoogzog/chexnet)
 * as PyTorch 0.3 on a GPU wrote them (legacy format, torch.cuda.FloatStorage on cuda:0, four-argument
 * _rebuild_tensor, DataParallel around a wrapper's `densenet121`, pre-0.4 DenseNet names, a
 * Sequential(Linear, Sigmoid) head, Adam state keyed by Python ids) and the same object re-saved by torch
 * 1.13 (zip, CPU storages). Built by test/helpers/chexnet_weights.py from a seeded torchvision DenseNet121;
 * torch 1.13 reads the 0.3-style file back there (the reference that it is what it claims to be).
 * Also: backbone discovery under other prefixes, ambiguity, another network refused before any image is
 * decoded, and CUDA globals that are not storages still refused by name.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { synthesize } from '../src/data/phantom/index.js';
import { loadModel } from '../src/model.js';
import { native } from '../src/native.js';
import { checkWeightsArchitecture, describeNetwork } from '../src/weights/identify.js';
import { inspectWeights, readStateDict } from '../src/weights/io.js';
import { helpersDir, PYTHON } from './helpers/python.js';
import { realDataRoot, realDataSkipReason } from './helpers/realdata.js';

const CLI = resolve('bin/torchxfer.js');
const FILES = ['chexnet-legacy.pth.tar', 'chexnet-zip.pth.tar'] as const;
interface Ref {
  input: [number[], number[]];
  logits: number[];
  keys: number;
}
let dir: string;
let ref: Ref;
let phantoms: string;

beforeAll(async () => {
  native().setNumThreads(1);
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-chexnet-'));
  ref = JSON.parse(
    execFileSync(PYTHON, [join(helpersDir, 'chexnet_weights.py'), dir], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  );
  phantoms = join(dir, 'chest');
  await synthesize({ kind: 'chest', out: phantoms, n: 120, seed: 5, size: 64, prevalenceBoost: 0.25, threads: 0 });
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** max |a - b| / max |b|: the logits' relative error. */
function relativeError(got: Float32Array, want: number[]): number {
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...want.map((w, i) => Math.abs(w - got[i]!))) / scale;
}

describe('a CheXNet checkpoint as PyTorch 0.3 on a GPU saved it, and re-saved by torch 1.13', () => {
  it('inspect: era, CUDA storages, training checkpoint, DenseNet121 under module.densenet121., head 14 classes', async () => {
    const legacy = await inspectWeights(join(dir, FILES[0]));
    expect(legacy.format).toBe('torch-legacy');
    expect(legacy.provenance).toMatchObject({
      storageTypes: ['torch.cuda.FloatStorage'],
      locations: ['cuda:0'],
      checkpointKeys: ['epoch', 'best_loss', 'optimizer'],
      strippedPrefix: 'module.',
    });
    expect(legacy.provenance.era).toMatch(/^torch 0\.3 or earlier \(legacy format; tensors rebuilt by _rebuild_tensor/);
    expect(legacy.tensors.length).toBe(ref.keys);
    const zip = await inspectWeights(join(dir, FILES[1]));
    expect(zip.provenance).toMatchObject({
      storageTypes: ['torch.FloatStorage'],
      locations: ['cpu'],
      checkpointKeys: ['epoch', 'best_loss', 'optimizer'],
    });
    expect(zip.provenance.era).toMatch(/zip format/);
    for (const info of [legacy, zip]) {
      expect(info.container).toBe("checkpoint, weights under 'state_dict'");
      const dn = info.architectures.find((m) => m.arch === 'densenet121')!;
      expect(dn).toMatchObject({
        complete: true,
        prefix: 'module.densenet121.',
        oldNames: true,
        head: 'classifier.0',
        headShape: [14, 1024],
        leftOut: [],
        completePrefixes: ['module.densenet121.'],
      });
      expect(dn.headNote).toMatch(/Sigmoid\) is not applied, the model outputs logits/);
      expect(info.architectures.find((m) => m.arch === 'resnet50')).toMatchObject({ complete: false, found: 0 });
      expect(describeNetwork(info)).toBe(
        "densenet121 under the prefix 'module.densenet121.' (pre-0.4 DenseNet names, e.g. norm.1, remapped)",
      );
    }
  }, 120_000);

  it.each(FILES)(
    "%s: loadModel gives Python's logits (1e-4 relative), the head loaded, the Sigmoid named",
    async (file) => {
      const model = await loadModel({ arch: 'densenet121', numClasses: 14, weights: join(dir, file) });
      try {
        expect(model.loadReport).toMatchObject({
          missing: [],
          unexpected: [],
          mismatched: [],
          replaced: [],
          backboneMissing: 0,
          prefix: 'module.densenet121.',
          headFound: 'classifier.0',
          headShape: [14, 1024],
          leftOut: [],
          oldNames: true,
        });
        expect(model.loadReport!.headNote).toMatch(
          /^the Linear at classifier\.0 of a Sequential head \[14, 1024\] read as classifier; .*CheXNet's Sigmoid\) is not applied, the model outputs logits/,
        );
        model.setTraining(false);
        const [shape, values] = ref.input;
        const logits = await model.predict(Float32Array.from(values), shape as [number, number, number, number]);
        expect(logits.length).toBe(ref.logits.length);
        expect(relativeError(logits, ref.logits)).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    },
    180_000,
  );

  it('another label count: the Sequential head is replaced, the backbone still loads in full', async () => {
    const model = await loadModel({ arch: 'densenet121', numClasses: 2, inChannels: 1, weights: join(dir, FILES[0]) });
    try {
      expect(model.loadReport).toMatchObject({
        backboneMissing: 0,
        mismatched: [],
        unexpected: [],
        replaced: ['classifier.weight', 'classifier.bias'],
        firstConvAdapted: true,
        headFound: 'classifier.0',
      });
    } finally {
      model.dispose();
    }
  }, 180_000);

  it('`weights inspect` says what the 0.3-style file is', () => {
    const r = spawnSync(process.execPath, [CLI, 'weights', 'inspect', join(dir, FILES[0]), '--keys', '3'], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^format {6}torch-legacy: torch 0\.3 or earlier/m);
    expect(r.stdout).toMatch(
      /^storages {4}torch\.cuda\.FloatStorage saved on cuda:0 \(a GPU save: read onto the CPU\)$/m,
    );
    expect(r.stdout).toMatch(
      /^contents {4}training checkpoint, weights under 'state_dict'; also epoch, best_loss, optimizer \(not loaded\)/m,
    );
    expect(r.stdout).toMatch(/^network {5}densenet121 under the prefix 'module\.densenet121\.'/m);
    expect(r.stdout).toMatch(/^head {8}classifier\.0 \[14, 1024\]: 14 classes \(the Linear at classifier\.0/m);
  }, 180_000);
});

describe('backbone discovery elsewhere', () => {
  it('a ResNet50 under model.encoder. in a checkpoint, its head a Sequential fc.1, a tensor outside left out', async () => {
    const model = await loadModel({ arch: 'resnet50', numClasses: 3, weights: join(dir, 'wrapped-resnet50.pth') });
    try {
      expect(model.loadReport).toMatchObject({
        missing: [],
        unexpected: [],
        replaced: [],
        backboneMissing: 0,
        prefix: 'model.encoder.',
        headFound: 'fc.1',
        headShape: [3, 2048],
        oldNames: false,
      });
      expect(model.loadReport!.leftOut).toEqual([
        "model.aux.weight (outside 'model.encoder.', where the resnet50 backbone is)",
      ]);
    } finally {
      model.dispose();
    }
  }, 180_000);

  it('two candidate backbones are an error listing both', async () => {
    const path = join(dir, 'two-densenets.pth');
    await expect(loadModel({ arch: 'densenet121', weights: path })).rejects.toThrow(
      "the weights hold 2 complete densenet121 backbones, under the prefixes 'student.', 'teacher.': which one to load is ambiguous",
    );
    await expect(checkWeightsArchitecture(path, 'densenet121', '--init')).rejects.toThrow(
      /holds 2 complete densenet121 backbones, under 'student\.', 'teacher\.' \(ambiguous\)/,
    );
  }, 120_000);

  it('CUDA globals that are not storages are refused by name; a storage type is never called', async () => {
    await expect(readStateDict(join(dir, 'refused-cuda-tensor.pth'))).rejects.toThrow(
      /refusing pickle global torch\.cuda\.FloatTensor \(a weights file needs only/,
    );
    await expect(readStateDict(join(dir, 'refused-cuda-comm.pth'))).rejects.toThrow(
      /refusing pickle global torch\.cuda\.comm\.broadcast/,
    );
    await expect(readStateDict(join(dir, 'refused-storage-call.pth'))).rejects.toThrow(
      /refusing to call pickle global torch\.cuda\.FloatStorage/,
    );
  });
});

describe('train --init FILE', () => {
  const QUICK = [
    '--data',
    '',
    '--format',
    'nih',
    '--task',
    'Cardiomegaly',
    '--n',
    '16',
    '--arch',
    'densenet121',
    '--in-channels',
    '1',
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--max-steps',
    '1',
    '--max-lr',
    '0.001',
    '--image-size',
    '64',
    '--crop',
    '56',
    '--tta',
    '0',
    '--device',
    'cpu',
    '--threads',
    '2',
  ];
  const train = (init: string, name: string) => {
    const args = [...QUICK];
    args[1] = phantoms;
    const cache = join(dir, `cache-${name}`);
    const r = spawnSync(
      process.execPath,
      [CLI, 'train', ...args, '--init', init, '--cache-dir', cache, '--out', join(dir, `run-${name}`)],
      { encoding: 'utf8', timeout: 600_000, env: { ...process.env, CI: '1' } },
    );
    return { ...r, cached: existsSync(cache) ? readdirSync(cache, { recursive: true }).length : 0 };
  };

  it.each(FILES)(
    '%s: starts with the features loaded (0 backbone keys missing)',
    (file) => {
      const r = train(join(dir, file), file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        "Weights: backbone found under the prefix 'module.densenet121.', pre-0.4 DenseNet names remapped; 0 backbone keys missing",
      );
      expect(r.stderr).toMatch(/Head replaced \(classifier\.weight, classifier\.bias\)/);
    },
    600_000,
  );

  it('a ResNet50 file for a DenseNet121 run is refused before any image is decoded, naming what it holds', () => {
    const r = train(join(dir, 'resnet50.pth'), 'resnet');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /Expected densenet121 weights for --init but .*resnet50\.pth holds resnet50 with its own names \(no prefix\)/,
    );
    expect(r.stderr).not.toMatch(/Data: /);
    expect(r.cached).toBe(0);
  }, 300_000);

  it('experiment paper --same-anatomy-weights FILE of another network stops before any run or database', () => {
    const db = join(dir, 'paper.db');
    const env = { ...process.env, CI: '1', NIH_ROOT: dir, CHEXPERT_ROOT: dir, MURA_ROOT: dir };
    const r = spawnSync(
      process.execPath,
      [CLI, 'experiment', 'paper', '--same-anatomy-weights', join(dir, 'resnet50.pth'), '--db', db],
      { encoding: 'utf8', timeout: 300_000, env },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /Expected densenet121 weights for --same-anatomy-weights but .*resnet50\.pth holds resnet50 with its own names/,
    );
    expect(existsSync(db)).toBe(false);
  }, 300_000);

  const mnist = realDataRoot() ? join(realDataRoot()!, 'weights', 'mnist_cnn.pt') : undefined;
  it.skipIf(!mnist)(
    `the real mnist_cnn.pt is refused the same way${mnist ? '' : ` (${realDataSkipReason})`}`,
    () => {
      const r = train(mnist!, 'mnist');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(
        /Expected densenet121 weights for --init but .*mnist_cnn\.pt holds not a DenseNet121\/ResNet50: 4 conv\/linear layers \(conv1\.weight \[20, 1, 5, 5\], .*\), 8 tensors/,
      );
      expect(r.stderr).not.toMatch(/Data: /);
      expect(r.cached).toBe(0);
    },
    300_000,
  );
});
