// Batch augmentation: shapes, seeded randomness, exact flips and crops, and rotation / centre crop
// against torch and torchvision computed at test time by /usr/bin/python3.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { augmentBatch, augmentDraws, type ImageShape } from '../src/train/trainer.js';

function randomImages(n: number, c: number, h: number, w: number, seed: number): Uint8Array {
  const out = new Uint8Array(n * c * h * w);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Runs a Python script with the torch stack; `files` are written to a temp dir passed as argv[1]. */
function python(script: string, files: Record<string, ArrayBufferView>): string {
  const dir = mkdtempSync(join(tmpdir(), 'torchxfer-aug-'));
  for (const [name, data] of Object.entries(files))
    writeFileSync(join(dir, name), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const r = spawnSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return dir;
}

const plain = { mean: [0], std: [1] }; // no normalisation: outputs are pixels / 255

describe('augmentBatch', () => {
  it('keeps the batch and channel layout, crops to the requested size and replicates grey to 3 channels', async () => {
    const t = await augmentBatch(randomImages(4, 1, 64, 60, 1), [4, 1, 64, 60], { crop: 56 }, 7);
    expect(t.shape).toEqual([4, 3, 56, 56]);
    expect(t.dtype).toBe('float32');
    const x = t.dataSync() as Float32Array;
    const plane = 56 * 56;
    for (let i = 0; i < 4; i++) {
      // Channels differ only by the ImageNet mean/std: undo them and the 3 planes agree.
      const base = i * 3 * plane;
      for (const k of [0, 101, 3000]) {
        const r = x[base + k]! * 0.229 + 0.485;
        expect(x[base + plane + k]! * 0.224 + 0.456).toBeCloseTo(r, 5);
        expect(x[base + 2 * plane + k]! * 0.225 + 0.406).toBeCloseTo(r, 5);
      }
    }
    const one = await augmentBatch(
      randomImages(2, 1, 40, 40, 1),
      [2, 1, 40, 40],
      { crop: 32, channels: 1, mean: [0.5], std: [0.25] },
      7,
    );
    expect(one.shape).toEqual([2, 1, 32, 32]);
  });

  it('is random per seed and reproducible for the same seed', async () => {
    const shape: ImageShape = [4, 1, 48, 48];
    const imgs = randomImages(4, 1, 48, 48, 3);
    const a = (await augmentBatch(imgs, shape, { crop: 40 }, 1)).dataSync();
    const b = (await augmentBatch(imgs, shape, { crop: 40 }, 1)).dataSync();
    const c = (await augmentBatch(imgs, shape, { crop: 40 }, 2)).dataSync();
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it('without rotation, is an exact crop of the image or of its mirror image, at the drawn position', async () => {
    const [n, h, w, crop] = [24, 30, 26, 20];
    const imgs = randomImages(n, 1, h, w, 5);
    const opts = { ...plain, crop, maxRotation: 0 };
    const out = (await augmentBatch(imgs, [n, 1, h, w], { ...opts, channels: 1 }, 11)).dataSync() as Float32Array;
    const d = augmentDraws(n, h, w, opts, 11);
    expect(d.flip.some((f) => f)).toBe(true);
    expect(d.flip.some((f) => !f)).toBe(true);
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < crop; y++) {
        for (let x = 0; x < crop; x++) {
          const sx = d.flip[i] ? w - 1 - (d.left[i]! + x) : d.left[i]! + x;
          const expected = imgs[i * h * w + (d.top[i]! + y) * w + sx]! / 255;
          expect(out[i * crop * crop + y * crop + x]).toBe(Math.fround(expected));
        }
      }
    }
  });

  it('draws crop positions anywhere inside the image, not only the corner', () => {
    const [h, w, crop] = [250, 250, 236];
    const d = augmentDraws(400, h, w, { crop }, 3);
    for (let i = 0; i < 400; i++) {
      expect(d.top[i]).toBeGreaterThanOrEqual(0);
      expect(d.top[i]).toBeLessThanOrEqual(h - crop);
      expect(d.left[i]).toBeGreaterThanOrEqual(0);
      expect(d.left[i]).toBeLessThanOrEqual(w - crop);
      expect(Math.abs(d.angle[i]!)).toBeLessThanOrEqual(10);
    }
    expect(new Set(d.top).size).toBe(h - crop + 1); // every position occurs
    expect(new Set(d.left).size).toBe(w - crop + 1);
    const flips = d.flip.filter((f) => f).length;
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
  });

  it('matches flip, then rotation about the centre with reflected border, then crop, done separately in torch', async () => {
    const [n, c, h, w, crop] = [6, 1, 50, 50, 40];
    const imgs = randomImages(n, c, h, w, 9);
    const opts = { crop, maxRotation: 10, mean: [0.5], std: [0.25] };
    const out = (await augmentBatch(imgs, [n, c, h, w], { ...opts, channels: 1 }, 21)).dataSync() as Float32Array;
    const d = augmentDraws(n, h, w, opts, 21);
    const meta = new Float64Array(n * 4);
    for (let i = 0; i < n; i++) meta.set([d.flip[i] ? 1 : 0, d.angle[i]!, d.top[i]!, d.left[i]!], i * 4);
    const dir = python(
      `
import sys, math, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
x = torch.from_numpy(np.fromfile(d + '/imgs', dtype=np.uint8).reshape(${n}, ${c}, ${h}, ${w}).astype(np.float32) / 255)
meta = np.fromfile(d + '/meta', dtype=np.float64).reshape(${n}, 4)
outs = []
for i in range(${n}):
    img = x[i:i+1]
    if meta[i, 0]: img = torch.flip(img, [3])
    a = math.radians(meta[i, 1])
    theta = torch.tensor([[[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]], dtype=torch.float32)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    rot = F.grid_sample(img, grid, mode='bilinear', padding_mode='reflection', align_corners=False)
    t, l = int(meta[i, 2]), int(meta[i, 3])
    outs.append(rot[:, :, t:t+${crop}, l:l+${crop}])
y = (torch.cat(outs) - 0.5) / 0.25
y.numpy().astype(np.float32).tofile(d + '/out')
`,
      { imgs, meta },
    );
    const ref = new Float32Array(readFileSync(join(dir, 'out')).buffer.slice(0));
    expect(out.length).toBe(ref.length);
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!));
    expect(maxErr).toBeLessThan(2e-4);
    expect(d.angle.some((a) => Math.abs(a) > 1)).toBe(true);
  });

  it('evaluation centre-crops and normalises exactly as torchvision CenterCrop + Normalize', async () => {
    const [n, h, w, crop] = [3, 51, 47, 40];
    const imgs = randomImages(n, 1, h, w, 13);
    const out = (await augmentBatch(imgs, [n, 1, h, w], { crop, train: false }, 0)).dataSync() as Float32Array;
    const dir = python(
      `
import sys, numpy as np, torch
from torchvision import transforms as T
d = sys.argv[1]
x = torch.from_numpy(np.fromfile(d + '/imgs', dtype=np.uint8).reshape(${n}, 1, ${h}, ${w}).astype(np.float32) / 255)
tf = T.Compose([T.CenterCrop(${crop}), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
y = torch.stack([tf(img.expand(3, -1, -1)) for img in x])
y.numpy().astype(np.float32).tofile(d + '/out')
`,
      { imgs },
    );
    const ref = new Float32Array(readFileSync(join(dir, 'out')).buffer.slice(0));
    expect(out.length).toBe(ref.length);
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!));
    expect(maxErr).toBeLessThan(1e-5);
  });

  it('refuses bad options with their names', () => {
    const imgs = randomImages(1, 1, 8, 8, 1);
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { crop: 0 })).toThrow(
      /Expected an integer >= 1 for crop but received 0/,
    );
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { flipP: 2 })).toThrow(/for flipP but received 2/);
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { std: [0] })).toThrow(/for std\[0\] but received 0/);
    expect(() => augmentBatch(imgs, [1, 1, 4, 8], {})).toThrow(/for shape/);
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { crop: 9 })).toThrow(
      /Expected an integer between 1 and 8 \(the images are 8x8\) for crop but received 9/,
    );
    // Every range rule lives in TypeScript alone (the N-API layer only converts): one case per rule.
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { maxRotation: 181 })).toThrow(
      /Expected a finite number >= 0 and <= 180 for maxRotation but received 181/,
    );
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { mean: [] })).toThrow(
      /Expected an array of 1 to 3 numbers for mean/,
    );
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { std: [1, 1, 1, 1] })).toThrow(
      /Expected an array of 1 to 3 numbers for std/,
    );
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { mean: [2e6] })).toThrow(/for mean\[0\] but received 2000000/);
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { channels: 2 as never })).toThrow(
      /Expected 1 or 3 for channels but received 2/,
    );
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], { train: 'yes' as never })).toThrow(/Expected a boolean for train/);
    expect(() => augmentBatch(imgs, [1, 1, 8, 8], {}, -1)).toThrow(/for seed but received -1/);
    expect(() => augmentDraws(-1, 8, 8)).toThrow(/for n but received -1/);
    expect(() => augmentDraws(2, 8, 8, { flipP: -0.5 })).toThrow(/for flipP but received -0.5/);
    expect(() => augmentDraws(2, 8, 8, { crop: 9 })).toThrow(/crop 9 does not fit images of 8x8/);
  });

  it('leaves the memory guard to the core: a default crop larger than the images is refused before any read', async () => {
    const imgs = randomImages(1, 1, 8, 8, 1);
    await expect(augmentBatch(imgs, [1, 1, 8, 8], {})).rejects.toThrow(/crop 236 does not fit images of 8x8/);
  });
});
