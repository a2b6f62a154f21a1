// The 79 radiomic features against scikit-image and scipy, computed now with /usr/bin/python3.
import { spawnSync } from 'node:child_process';

import { beforeAll, describe, expect, it } from 'vitest';

import { native } from '../src/native.js';
import { getNumThreads, setNumThreads } from '../src/runtime.js';
import {
  RADIOMIC_FEATURE_COUNT,
  radiomicFeatureNames,
  radiomicFeatures,
  radiomicFeatureRecord,
} from '../src/radiomics/features.js';
import { mulberry32 } from '../src/random.js';
// Test data as the radiomics tests always drew it (seed mixed with the golden ratio).

// The reference, feature for feature in torchxfer's documented order.
const REFERENCE = `
import base64, json, sys
import numpy as np
from scipy.stats import moment
from skimage.feature import graycomatrix, graycoprops
from skimage.measure import shannon_entropy
d = json.load(sys.stdin)
props = ['contrast', 'dissimilarity', 'homogeneity', 'ASM', 'energy', 'correlation']
out = []
for im in d['images']:
    img = np.frombuffer(base64.b64decode(im['data']), dtype=np.uint8).reshape(im['h'], im['w']).copy()
    P = graycomatrix(img, [1, 2, 4, 6], [0, np.pi / 4, np.pi / 2], levels=256, symmetric=d['symmetric'], normed=True)
    f = []
    for p in props:
        f += graycoprops(P, p).ravel().tolist()  # distance-major, angle innermost
    x = img.astype(np.float64).ravel()
    f += [float(np.mean(x)), float(np.std(x))] + [float(moment(x, moment=k)) for k in (2, 3, 4, 5)]
    f.append(float(shannon_entropy(img)))
    out.append(f)
print(json.dumps(out))
`;

type Image = { name: string; h: number; w: number; data: Uint8Array };

function reference(images: Image[], symmetric: boolean): number[][] {
  const input = {
    symmetric,
    images: images.map((im) => ({ h: im.h, w: im.w, data: Buffer.from(im.data).toString('base64') })),
  };
  const r = spawnSync('/usr/bin/python3', ['-c', REFERENCE], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function testImages(): Image[] {
  const rng = mulberry32(42 ^ 0x9e3779b9);
  const make = (name: string, h: number, w: number, f: (r: number, c: number) => number): Image => {
    const data = new Uint8Array(h * w);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) data[r * w + c] = f(r, c);
    return { name, h, w, data };
  };
  return [
    make('random 64x48', 64, 48, () => Math.floor(rng() * 256)),
    make('few levels 40x40', 40, 40, () => [0, 3, 200, 255][Math.floor(rng() * 4)]!),
    make('horizontal gradient 30x256', 30, 256, (_, c) => c),
    make('diagonal gradient 50x50', 50, 50, (r, c) => (r * 3 + c * 2) % 256),
    make('constant 20x20', 20, 20, () => 77),
    make('checkerboard 32x32', 32, 32, (r, c) => ((r + c) % 2 ? 255 : 0)),
    make('checkerboard of 3-pixel squares 27x33', 27, 33, (r, c) =>
      (Math.floor(r / 3) + Math.floor(c / 3)) % 2 ? 180 : 20,
    ),
    make('one odd pixel 16x16', 16, 16, (r, c) => (r === 5 && c === 9 ? 1 : 0)),
    make('1x1', 1, 1, () => 9),
    make('2x3', 2, 3, (r, c) => r * 3 + c),
    make('single row 1x10', 1, 10, (_, c) => c * 20),
    make('single column 7x1', 7, 1, (r) => 255 - r),
    make('5x5 random (shorter than distance 6)', 5, 5, () => Math.floor(rng() * 256)),
  ];
}

// Relative error <= 1e-6. Values the reference computes as a difference of nearly equal numbers (e.g. an
// odd moment of a symmetric histogram, ~1e-12 of its scale) carry rounding noise in both: for those the
// error is measured against the feature's scale (std^k for moment k, 1 for the bounded GLCM properties).
function expectClose(got: number, want: number, scale: number, what: string): void {
  const err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-9 * scale);
  if (!(err <= 1e-6)) throw new Error(`${what}: torchxfer ${got} vs reference ${want} (relative error ${err})`);
}

describe('radiomic features equal scikit-image and scipy', () => {
  const images = testImages();
  const names = () => radiomicFeatureNames();
  for (const symmetric of [false, true]) {
    let want: number[][];
    let got: Float64Array;
    beforeAll(async () => {
      want = reference(images, symmetric);
      // All images in one call per shape (the call takes images of one size), then compared one by one.
      got = new Float64Array(images.length * RADIOMIC_FEATURE_COUNT);
      await Promise.all(
        images.map(async (im, k) =>
          got.set(await radiomicFeatures(im.data, [1, im.h, im.w], { symmetric }), k * RADIOMIC_FEATURE_COUNT),
        ),
      );
    });
    images.forEach((im, k) => {
      it(`${im.name}, symmetric ${symmetric}`, () => {
        const row = got.subarray(k * RADIOMIC_FEATURE_COUNT, (k + 1) * RADIOMIC_FEATURE_COUNT);
        const std = want[k]![names().indexOf('std')]!;
        names().forEach((name, j) => {
          const m = /^moment(\d)$/.exec(name);
          const scale = m
            ? Math.max(std, 1) ** Number(m[1])
            : name === 'mean' || name === 'std'
              ? 255
              : name.startsWith('glcm.contrast')
                ? 65025
                : name.startsWith('glcm.dissimilarity')
                  ? 255
                  : 1;
          expectClose(row[j]!, want[k]![j]!, scale, `${im.name} ${name}`);
        });
      });
    });
  }

  it('batches: many same-size images in one call give each image its own features', async () => {
    const rng = mulberry32(7 ^ 0x9e3779b9);
    const n = 9;
    const data = Uint8Array.from({ length: n * 20 * 30 }, () => Math.floor(rng() * 256));
    const batch = await radiomicFeatures(data, [n, 20, 30]);
    for (const k of [0, 4, 8]) {
      const one = await radiomicFeatures(data.slice(k * 600, (k + 1) * 600), [1, 20, 30]);
      expect(Array.from(batch.subarray(k * 79, (k + 1) * 79))).toEqual(Array.from(one));
    }
    const want = reference([{ name: 'last', h: 20, w: 30, data: data.slice(8 * 600) }], false)[0]!;
    Array.from(batch.subarray(8 * 79)).forEach((v, j) =>
      expectClose(v, want[j]!, 65025, `batch ${radiomicFeatureNames()[j]}`),
    );
  });

  it('gives the same values on 1 and 3 threads (each image on one thread, whatever the count)', async () => {
    const rng = mulberry32(12 ^ 0x9e3779b9);
    const data = Uint8Array.from({ length: 7 * 16 * 16 }, () => Math.floor(rng() * 256));
    const before = getNumThreads();
    try {
      setNumThreads(1);
      const one = await radiomicFeatures(data, [7, 16, 16]);
      setNumThreads(3);
      expect(Array.from(await radiomicFeatures(data, [7, 16, 16]))).toEqual(Array.from(one));
    } finally {
      setNumThreads(before);
    }
  });

  it('honours the 45-degree offsets of skimage: distance 2 at 45 degrees is the offset (1, 1), as distance 1', async () => {
    const rng = mulberry32(3 ^ 0x9e3779b9);
    const data = Uint8Array.from({ length: 40 * 40 }, () => Math.floor(rng() * 256));
    const rec = await radiomicFeatureRecord(data, 40, 40);
    expect(rec['glcm.contrast.d2.a45']).toBe(rec['glcm.contrast.d1.a45']);
    expect(rec['glcm.contrast.d4.a45']).not.toBe(rec['glcm.contrast.d6.a45']);
  });
});

describe('names and order', () => {
  it('are the 79 documented names in order', () => {
    const names = radiomicFeatureNames();
    expect(names).toHaveLength(79);
    expect(new Set(names).size).toBe(79);
    const glcm: string[] = [];
    for (const p of ['contrast', 'dissimilarity', 'homogeneity', 'ASM', 'energy', 'correlation'])
      for (const d of [1, 2, 4, 6]) for (const a of [0, 45, 90]) glcm.push(`glcm.${p}.d${d}.a${a}`);
    expect(names).toEqual([...glcm, 'mean', 'std', 'moment2', 'moment3', 'moment4', 'moment5', 'entropy']);
  });
});

describe('errors', () => {
  it('rejects bad shapes, data and options in TypeScript, naming them', async () => {
    const data = new Uint8Array(12);
    await expect(radiomicFeatures(data, [1, 3, 5])).rejects.toThrow(
      /Expected dimensions whose product is 12 for shape but received '\[1, 3, 5\]'/,
    );
    await expect(radiomicFeatures(data, [12, 1] as never)).rejects.toThrow(
      /Expected an array \[n, height, width\] for shape/,
    );
    await expect(radiomicFeatures(data, [0, 0, 12])).rejects.toThrow(/for shape\[1\]/);
    await expect(radiomicFeatures(data, [1, 3, -4])).rejects.toThrow(/for shape\[2\]/);
    await expect(radiomicFeatures(new Float32Array(12) as never, [1, 3, 4])).rejects.toThrow(
      /Expected a Uint8Array for images but received a Float32Array/,
    );
    await expect(radiomicFeatures(data, [1, 3, 4], { symmetric: 'yes' as never })).rejects.toThrow(
      /Expected a boolean for symmetric but received 'yes'/,
    );
    expect((await radiomicFeatures(new Uint8Array(0), [0, 4, 4])).length).toBe(0);
  });

  it('the native layer checks too, whatever TypeScript lets through', async () => {
    const raw = native() as unknown as { radiomicFeatures: (...a: unknown[]) => Promise<Float64Array> };
    await expect(raw.radiomicFeatures(new Uint8Array(12), [2, 3, 4], {})).rejects.toThrow(
      /shape \[2, 3, 4\] does not match the data's 12 pixels/,
    );
    await expect(raw.radiomicFeatures(new Uint8Array(5), [0, 2, 2], {})).rejects.toThrow(
      /shape \[0, 2, 2\] does not match the data's 5 pixels/,
    );
    await expect(raw.radiomicFeatures(new Uint8Array(12), [1, 0, 12], {})).rejects.toThrow(/height, width >= 1/);
    expect(() => raw.radiomicFeatures(new Int8Array(12), [1, 3, 4], {})).toThrow(/Expected a Uint8Array for images/);
    expect(() => raw.radiomicFeatures(new Uint8Array(12), [3, 4], {})).toThrow(
      /Expected an array \[n, height, width\] for shape/,
    );
    expect(() => raw.radiomicFeatures(new Uint8Array(12), [1, 3, 4], { symmetric: 1 })).toThrow(
      /Expected a boolean for symmetric but received 1/,
    );
  });
});
