/**
 * Weights as people publish them, read as data without running code: torch 1.x and 2.x zips (with
 * .format_version, .storage_alignment and byteorder records; shared storages; views at offsets), the
 * legacy format, training checkpoints (weights under 'state_dict' | 'model' | 'model_state_dict' | 'net',
 * an optimizer, an argparse.Namespace, numpy scalars), whole pickled modules (a DenseNet121 subclass in a
 * module named like torchxrayvision's, nested Sequential) with torch's logits; the real third-party files;
 * and what is not weights (a Git LFS pointer, an HTML page, an empty file) named for what it is.
 * The files are made by Debian's torch in the test (test/helpers/published_weights.py).
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { native } from '../src/native.js';
import { inspectWeights, readSafetensors, readStateDict, tensorBytes } from '../src/weights/io.js';
import { helpersDir, PYTHON } from './helpers/python.js';
import { realDataRoot, realDataSkipReason } from './helpers/realdata.js';

const root = join(helpersDir, '..', '..');
interface Ref {
  tensors: [string, string, number[], string][];
  logits?: number[];
  input?: [number[], number[]];
  class?: string;
}
let dir: string;
let refs: Record<string, Ref>;

beforeAll(() => {
  native().setNumThreads(1);
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-published-'));
  refs = JSON.parse(
    execFileSync(PYTHON, [join(helpersDir, 'published_weights.py'), dir], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  );
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** [name, dtype, shape, sha256 of the bytes] of each tensor, in order, disposing them. */
async function described(path: string): Promise<[string, string, number[], string][]> {
  const sd = await readStateDict(path);
  const out = Object.entries(sd).map(([name, t]): [string, string, number[], string] => {
    const raw = tensorBytes(t);
    return [name, raw.dtype, raw.shape, createHash('sha256').update(raw.bytes).digest('hex')];
  });
  for (const t of Object.values(sd)) t.dispose();
  return out;
}

describe('torch.save files and checkpoints, read as data', () => {
  it.each([
    ['torch1-zip.pth', 'torch-zip', 'state_dict'],
    ['torch2-zip.pth', 'torch-zip', 'state_dict'],
    ['legacy.pth', 'torch-legacy', 'state_dict'],
    ['checkpoint-state_dict.pth', 'torch-zip', "checkpoint, weights under 'state_dict'"],
    ['checkpoint-model.pth', 'torch-zip', "checkpoint, weights under 'model'"],
    ['checkpoint-model_state_dict.pth', 'torch-zip', "checkpoint, weights under 'model_state_dict'"],
    ['checkpoint-net.pth', 'torch-zip', "checkpoint, weights under 'net'"],
    ['checkpoint-legacy.pth', 'torch-legacy', "checkpoint, weights under 'state_dict'"],
  ])("%s: tensors equal torch's (names, dtypes, shapes, bytes)", async (file, format, container) => {
    const path = join(dir, file);
    expect(await described(path)).toEqual(refs[file]!.tensors);
    const info = await inspectWeights(path);
    expect(info.format).toBe(format);
    expect(info.container).toBe(container);
  });
});

describe('whole pickled modules, read as data', () => {
  it.each([
    ['xrv-densenet-zip.pt', 'torchxrayvision.models.DenseNet'],
    ['xrv-densenet-legacy.pt', 'torchxrayvision.models.DenseNet'],
    ['xrv-densenet-op_threshs.pt', 'torchxrayvision.models.DenseNet'],
    ['nested-sequential-zip.pt', 'torch.nn.modules.container.Sequential'],
    ['nested-sequential-legacy.pt', 'torch.nn.modules.container.Sequential'],
  ])(
    '%s: the state_dict torch gives, with its key names',
    async (file, cls) => {
      const path = join(dir, file);
      expect(await described(path)).toEqual(refs[file]!.tensors);
      expect((await inspectWeights(path)).container).toBe(`pickled module of class ${cls}, read as data`);
    },
    60_000,
  );

  it('a checkpoint holding the whole model under "model"', async () => {
    const path = join(dir, 'checkpoint-whole-model.pth');
    expect(await described(path)).toEqual(refs['checkpoint-whole-model.pth']!.tensors);
    expect((await inspectWeights(path)).container).toBe(
      "checkpoint, weights under 'model': pickled module of class torchxrayvision.models.DenseNet, read as data",
    );
  }, 60_000);

  it.each(['xrv-densenet-zip.pt', 'xrv-densenet-legacy.pt'])(
    "%s gives the Python model's logits",
    async (file) => {
      const { loadModel } = await import('../src/model.js');
      const ref = refs[file]!;
      const model = await loadModel({ arch: 'densenet121', numClasses: 18, inChannels: 1, weights: join(dir, file) });
      try {
        expect(model.loadReport).toMatchObject({ missing: [], unexpected: [], mismatched: [], replaced: [] });
        model.setTraining(false);
        const [shape, values] = ref.input!;
        const logits = await model.predict(Float32Array.from(values), shape as [number, number, number, number]);
        const want = ref.logits!;
        expect(logits.length).toBe(want.length);
        const worst = Math.max(...want.map((w, i) => Math.abs(w - logits[i]!)));
        expect(worst).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    },
    120_000,
  );

  it('--init with a local TorchXRayVision .pt: no conversion, xrv preprocessing from the manifest, head replaced', async () => {
    const { initModel } = await import('../src/train/init.js');
    const { TRAIN_DEFAULTS } = await import('../src/train/config.js');
    const path = join(dir, 'xrv-densenet-legacy.pt');
    const config = {
      ...TRAIN_DEFAULTS,
      out: dir,
      arch: 'densenet121',
      inChannels: 1,
      greyMode: 'sum',
      init: path,
    } as Parameters<typeof initModel>[0];
    const r = await initModel(config, ['Emphysema', 'Normal', 'Other']);
    try {
      expect(r.preprocessing).toMatchObject({ channels: 1, valueRange: [-1024, 1024], inputSize: 224 });
      expect(r.description).toContain('pickled module of class torchxrayvision.models.DenseNet, read as data');
      expect(r.report).toMatchObject({
        missing: [],
        unexpected: [],
        mismatched: [],
        replaced: ['classifier.weight', 'classifier.bias'],
      });
    } finally {
      r.model.dispose();
    }
  }, 120_000);

  it('--init with an xrv .pt whose op_threshs are set: they are left out, named, and the network loads strictly', async () => {
    const { initModel } = await import('../src/train/init.js');
    const { TRAIN_DEFAULTS } = await import('../src/train/config.js');
    const path = join(dir, 'xrv-densenet-op_threshs.pt');
    expect(refs['xrv-densenet-op_threshs.pt']!.tensors.map((t) => t[0])).toContain('op_threshs');
    const config = {
      ...TRAIN_DEFAULTS,
      out: dir,
      arch: 'densenet121',
      inChannels: 1,
      greyMode: 'sum',
      init: path,
    } as Parameters<typeof initModel>[0];
    const r = await initModel(config, ['Emphysema']);
    try {
      expect(r.ignored).toEqual([expect.stringMatching(/^op_threshs \(TorchXRayVision's per-label operating points/)]);
      expect(r.report).toMatchObject({
        missing: [],
        unexpected: [],
        mismatched: [],
        replaced: ['classifier.weight', 'classifier.bias'],
      });
      expect(r.preprocessing).toMatchObject({ channels: 1, valueRange: [-1024, 1024] });
    } finally {
      r.model.dispose();
    }
  }, 120_000);

  it('a module class outside the allow-list is refused by name, nothing runs', async () => {
    await expect(readStateDict(join(dir, 'custom-module.pt'))).rejects.toThrow(
      /custom-module\.pt: data\.pkl: refusing pickle global __main__\.Custom/,
    );
  });

  it('weights inspect says what the file is', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'bin', 'torchxfer.js'), 'weights', 'inspect', join(dir, 'xrv-densenet-zip.pt')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('pickled module of class torchxrayvision.models.DenseNet, read as data');
  }, 120_000);
});

describe('files that are not weights are named for what they are', () => {
  const write = (name: string, data: string | Buffer) => {
    writeFileSync(join(dir, name), data);
    return join(dir, name);
  };
  it.each([
    ['empty.pth', '', /empty\.pth: not a weights file: the file is empty \(0 bytes\): an interrupted download or copy/],
    [
      'pointer.pth',
      'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n',
      /pointer\.pth: not a weights file: it is a Git LFS pointer \(\d+ bytes\), not the weights it stands for \(sha256:4d7a2146\w+, 12345 bytes\): .*git lfs pull/,
    ],
    [
      'page.pth',
      '<!DOCTYPE html>\n<html><head><title>Sign in - Google Drive</title></head><body>...</body></html>',
      /page\.pth: not a weights file: it is an HTML page \(\d+ bytes, titled 'Sign in - Google Drive'\), not weights: the download saved a web page/,
    ],
    [
      'denied.safetensors',
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>',
      /denied\.safetensors: not a weights file: it is an XML document/,
    ],
  ])('%s', async (name, data, why) => {
    const path = write(name, data);
    await expect(readStateDict(path)).rejects.toThrow(why);
    await expect(inspectWeights(path)).rejects.toThrow(why);
  });
});

// Skipped only where the real-data folder is absent (the reason is in the title); a file missing from it fails.
const realRoot = realDataRoot();
describe.skipIf(!realRoot)(`real third-party weight files${realRoot ? '' : ` (${realDataSkipReason})`}`, () => {
  const file = (name: string) => join(realRoot ?? '', 'weights', name);
  it('a recent torch zip with .format_version and .storage_alignment', async () => {
    const info = await inspectWeights(file('pneumonia_model.pth'));
    expect(info.format).toBe('torch-zip');
    expect(info.tensors.length).toBeGreaterThan(0);
    const ref = JSON.parse(
      execFileSync(
        PYTHON,
        [
          '-c',
          `import sys, torch; sys.path.insert(0, ${JSON.stringify(helpersDir)}); from weights_fixtures import describe; import json; print(json.dumps(describe(torch.load(sys.argv[1], map_location='cpu'))))`,
          file('pneumonia_model.pth'),
        ],
        { encoding: 'utf8' },
      ),
    );
    expect(await described(file('pneumonia_model.pth'))).toEqual(ref);
  });
  it('a 2019 legacy-format state_dict', async () => {
    const ref = JSON.parse(
      execFileSync(
        PYTHON,
        [
          '-c',
          `import sys, torch; sys.path.insert(0, ${JSON.stringify(helpersDir)}); from weights_fixtures import describe; import json; print(json.dumps(describe(torch.load(sys.argv[1], map_location='cpu'))))`,
          file('mnist_cnn.pt'),
        ],
        { encoding: 'utf8' },
      ),
    );
    expect((await inspectWeights(file('mnist_cnn.pt'))).format).toBe('torch-legacy');
    expect(await described(file('mnist_cnn.pt'))).toEqual(ref);
  });
  it('safetensors written by tinygrad', async () => {
    const path = file('mnist_tinygrad_model.safetensors');
    const st = await readSafetensors(path);
    expect(Object.keys(st.metadata)).toEqual([]); // no __metadata__
    for (const t of Object.values(st.tensors)) t.dispose();
    const ref = JSON.parse(
      execFileSync(PYTHON, [join(helpersDir, 'weights_fixtures.py'), 'read-safetensors', path], { encoding: 'utf8' }),
    );
    expect(await described(path)).toEqual(ref.tensors);
  });
  it('a Git LFS pointer is called one, with what to run', async () => {
    await expect(readStateDict(file('LFS_POINTER_model.safetensors'))).rejects.toThrow(
      /LFS_POINTER_model\.safetensors: not a weights file: it is a Git LFS pointer .*git lfs pull/,
    );
  });
});
