// Checkpoints (safetensors + "torchxfer" metadata with a tensor checksum) and the `weights` CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { CheckpointError, loadCheckpoint, saveCheckpoint, tensorsDigest } from '../src/checkpoint.js';
import { packageRoot } from '../src/native.js';
import { tensor } from '../src/tensor.js';
import { writeSafetensors } from '../src/weights/io.js';

let dir: string;
const make = () => ({
  'features.conv0.weight': tensor(
    Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    [2, 3, 2, 2],
  ),
  'features.norm0.num_batches_tracked': tensor(new BigInt64Array([7n])),
  'classifier.bias': tensor(new Float32Array([0.5, -1.5]), [2]),
});
const meta = {
  architecture: 'densenet121',
  labels: ['normal', 'abnormal'],
  preprocessing: {
    channels: 1 as const,
    valueRange: [0, 1] as [number, number],
    inputSize: 224,
    mean: [0.5],
    std: [0.25],
  },
  groups: [['features.conv0'], [], ['classifier']],
  training: { epochs: 3, lr: [1e-4, 1e-3, 1e-2] },
  metrics: { auc: 0.91 },
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-ckpt-'));
});

describe('checkpoints', () => {
  it('round trip: tensors, metadata, versions and checksum; no temp file left', async () => {
    const path = join(dir, 'model.safetensors');
    const tensors = make();
    const stored = await saveCheckpoint(path, tensors, meta);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const { tensors: back, metadata } = await loadCheckpoint(path);
    expect(Object.keys(back)).toEqual(Object.keys(tensors));
    for (const [k, t] of Object.entries(tensors)) expect(back[k]!.dataSync()).toEqual(t.dataSync());
    expect(metadata).toMatchObject({
      ...meta,
      format: 'torchxfer-checkpoint',
      formatVersion: 1,
      tensorsSha256: tensorsDigest(tensors),
    });
    expect(metadata.versions.torch).toMatch(/^\d+\.\d+/);
    expect(stored.tensorsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a changed tensor byte is a checksum mismatch', async () => {
    const path = join(dir, 'flip.safetensors');
    await saveCheckpoint(path, make(), meta);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
    writeFileSync(path, bytes);
    await expect(loadCheckpoint(path)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(path)).rejects.toThrow(/flip\.safetensors: checksum mismatch/);
  });

  it('a truncated checkpoint, another file type and a plain safetensors file are told apart', async () => {
    const path = join(dir, 'cut.safetensors');
    await saveCheckpoint(path, make(), meta);
    writeFileSync(path, readFileSync(path).subarray(0, -10));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      /cut\.safetensors: tensor '.*' lies outside the file \(truncated\?\)/,
    );
    const zip = join(dir, 'model.pth');
    writeFileSync(zip, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0]));
    await expect(loadCheckpoint(zip)).rejects.toThrow(/model\.pth: not a torchxfer checkpoint \(a zip archive/);
    const plain = join(dir, 'plain.safetensors');
    await writeSafetensors(plain, make(), { other: 'x' });
    await expect(loadCheckpoint(plain)).rejects.toThrow(
      /plain\.safetensors: a safetensors file but not a torchxfer checkpoint/,
    );
  });
});

describe('torchxfer weights CLI', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, TORCHXFER_CACHE: dir },
    });

  it('inspect prints format, tensor count, parameters, dtypes and keys (text and JSON)', async () => {
    const path = join(dir, 'inspect.safetensors');
    await saveCheckpoint(path, make(), meta);
    const json = cli('weights', 'inspect', path, '--json');
    expect(json.status, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout);
    expect(info).toMatchObject({ format: 'safetensors', tensors: 3, parameters: 27, dtypes: { float32: 2, int64: 1 } });
    expect(info.entries.map((e: { name: string }) => e.name)).toEqual(Object.keys(make()));
    const text = cli('weights', 'inspect', path, '--keys', '1');
    expect(text.stdout).toMatch(/format\s+safetensors/);
    expect(text.stdout).toMatch(/features\.conv0\.weight\s+float32 \[2, 3, 2, 2\]/);
    expect(text.stdout).toMatch(/\.\.\. 2 more/);
  });

  it('list shows the registry; bad input exits non-zero with a clear message', () => {
    const list = cli('weights', 'list');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/densenet121-res224-all\s+densenet121\s+18 outputs\s+1ch 224px \[-1024, 1024\]/);
    const missing = cli('weights', 'inspect', join(dir, 'absent.pth'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/absent\.pth: cannot open/);
    const unknown = cli('weights', 'fetch', 'no-such-weights');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/unknown weights 'no-such-weights'/);
  });
});
