// `torchxfer features` and `torchxfer radiomics` end to end (spawns bin/torchxfer.js, which runs dist/).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { decodeGrey } from '../src/data/decode.js';
import { packageRoot } from '../src/native.js';
import { radiomicFeatureRecord } from '../src/radiomics/features.js';
import { mulberry32 } from '../src/random.js';
// Test data as the radiomics tests always drew it (seed mixed with the golden ratio).

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), ...args], { encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'radiomics-cli-'));
const rng = mulberry32(5 ^ 0x9e3779b9);

// Class 1: fine noise texture; class 0: smooth ramps with a little noise. Radiomic features separate them.
async function writeImage(path: string, noisy: boolean): Promise<void> {
  const size = 40;
  const data = Buffer.alloc(size * size);
  const offset = rng() * 100;
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++)
      data[r * size + c] = noisy ? Math.floor(60 + 120 * rng()) : Math.floor(offset + r * 2 + c + 10 * rng());
  await sharp(data, { raw: { width: size, height: size, channels: 1 } })
    .png()
    .toFile(path);
}

describe('torchxfer features', () => {
  const a = join(dir, 'a.png');
  const b = join(dir, 'b.png');
  const bad = join(dir, 'bad.png');
  beforeAll(async () => {
    await writeImage(a, true);
    await writeImage(b, false);
    writeFileSync(bad, 'not an image at all');
  });

  it('prints [{file, features}] per image, an error for an unreadable one, and keeps going', async () => {
    const r = cli('features', a, bad, b, join(dir, 'missing.png'), '--json', '--width', '0', '--symmetric');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.map((e: { file: string }) => e.file)).toEqual([a, bad, b, join(dir, 'missing.png')]);
    const img = await decodeGrey(a, { width: 0, height: 0 });
    expect(out[0].features).toEqual(await radiomicFeatureRecord(img.data, img.height, img.width, { symmetric: true }));
    expect(Object.keys(out[2].features)).toHaveLength(79);
    expect(out[1].error).toMatch(/bad\.png: not a PNG, JPEG or DICOM image/);
    expect(out[3].error).toMatch(/missing\.png: file not found/);
    expect(r.stderr).toMatch(/2 of 4 image\(s\) could not be read/);
  });

  it('prints CSV by default, resizing to --width', async () => {
    const r = cli('features', a, '--width', '20');
    expect(r.status).toBe(0);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header!.split(',')).toHaveLength(81);
    expect(header!.startsWith('file,glcm.contrast.d1.a0,')).toBe(true);
    const img = await decodeGrey(a, { width: 20, height: 0 });
    expect(img.width).toBe(20);
    const want = await radiomicFeatureRecord(img.data, img.height, img.width);
    expect(Number(row!.split(',')[80 - 7])).toBe(want['mean']);
  });

  it('rejects a bad --width naming it', () => {
    const r = cli('features', a, '--width', '-3');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Expected an integer between 0 and 65535 for --width but received '-3'/);
  });
});

describe('torchxfer radiomics', () => {
  const features = join(dir, 'features.json');
  const labels = join(dir, 'labels.csv');
  beforeAll(async () => {
    const files: string[] = [];
    const rows = ['file,noisy,always'];
    for (let k = 0; k < 24; k++) {
      const f = join(dir, `img${k}.png`);
      await writeImage(f, k % 2 === 1);
      files.push(f);
      rows.push(`img${k}.png,${k % 2},1`);
    }
    const r = cli('features', ...files, join(dir, 'missing.png'), '--json', '--width', '0', '--out', features);
    expect(r.status).toBe(0);
    writeFileSync(labels, rows.join('\n') + '\n');
  }, 60_000);

  it('tunes per label, reports CV AUC, and a one-class label as missing', () => {
    const r = cli(
      'radiomics',
      '--train',
      features,
      '--labels',
      labels,
      '--folds',
      '3',
      '--search-iters',
      '2',
      '--seed',
      '1',
      '--json',
    );
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.train).toBe(24);
    expect(out.labels.map((l: { label: string }) => l.label)).toEqual(['noisy', 'always']);
    expect(out.labels[0].cvAuc).toBeGreaterThan(0.9);
    expect(out.labels[1].cvAuc).toBeNull();
    expect(r.stderr).toMatch(/skipped .*missing\.png: no features/);
  });

  it('names file, line and column of a bad label', () => {
    const badLabels = join(dir, 'bad-labels.csv');
    writeFileSync(badLabels, 'file,noisy\nimg0.png,0\nimg1.png,yes\n');
    const r = cli('radiomics', '--train', features, '--labels', badLabels);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${badLabels}: line 3, column 'noisy': expected a label 0 or 1 but found 'yes'`);
  });
});
