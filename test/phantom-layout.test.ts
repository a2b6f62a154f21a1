/** Phantom sets are written exactly in the NIH ChestX-ray14 and MURA-v1.1 layouts, and are deterministic. */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NIH_FINDINGS, synthesize } from '../src/data/phantom/index.js';
import { OptionError } from '../src/errors.js';
import { csvRows, hashTree, readGrey, tempDir, walk } from './phantom-helpers.js';

let root: string;
beforeAll(async () => {
  root = await tempDir('phantom-layout');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const NIH_HEADER = [
  'Image Index',
  'Finding Labels',
  'Follow-up #',
  'Patient ID',
  'Patient Age',
  'Patient Gender',
  'View Position',
  'OriginalImage[Width',
  'Height]',
  'OriginalImagePixelSpacing[x',
  'y]',
  '',
];

describe('chest phantoms: NIH ChestX-ray14 layout', () => {
  let out: string;
  beforeAll(async () => {
    out = join(root, 'chest');
    await synthesize({ kind: 'chest', out, n: 48, seed: 11, size: 64 });
  });

  it('writes Data_Entry_2017.csv with the published columns and one row per image file', async () => {
    const rows = csvRows(await readFile(join(out, 'Data_Entry_2017.csv'), 'utf8'));
    expect(rows[0]).toEqual(NIH_HEADER);
    const body = rows.slice(1);
    expect(body).toHaveLength(48);
    const files = (await walk(join(out, 'images'))).sort();
    expect(body.map((r) => r[0]).sort()).toEqual(files);
    for (const r of body) {
      expect(r).toHaveLength(12);
      const [index, labels, followUp, patient, age, gender, view, w, h, sx, sy] = r;
      const m = /^(\d{8})_(\d{3})\.png$/.exec(index!);
      expect(m, index).not.toBeNull();
      expect(Number(m![1])).toBe(Number(patient));
      expect(Number(m![2])).toBe(Number(followUp));
      const names = labels!.split('|');
      if (names.includes('No Finding')) expect(names).toEqual(['No Finding']);
      else for (const f of names) expect(NIH_FINDINGS as readonly string[]).toContain(f);
      expect(names).toEqual([...names].sort());
      expect(Number.isInteger(Number(age))).toBe(true);
      expect(['M', 'F']).toContain(gender);
      expect(['PA', 'AP']).toContain(view);
      expect(Number(w)).toBeGreaterThan(1000);
      expect(Number(h)).toBeGreaterThan(1000);
      expect(Number(sx)).toBeGreaterThan(0);
      expect(sy).toBe(sx);
    }
    // Follow-ups of one patient are numbered 0, 1, 2... without gaps.
    const byPatient = new Map<string, number[]>();
    for (const r of body) byPatient.set(r[3]!, [...(byPatient.get(r[3]!) ?? []), Number(r[2])]);
    for (const fus of byPatient.values()) expect(fus.sort((a, b) => a - b)).toEqual(fus.map((_, i) => i));
  });

  it('splits train_val_list.txt / test_list.txt by patient, covering every image once', async () => {
    const trainVal = (await readFile(join(out, 'train_val_list.txt'), 'utf8')).trim().split('\n');
    const test = (await readFile(join(out, 'test_list.txt'), 'utf8')).trim().split('\n');
    const all = (await walk(join(out, 'images'))).sort();
    expect([...trainVal, ...test].sort()).toEqual(all);
    const patient = (f: string) => f.slice(0, 8);
    const testPatients = new Set(test.map(patient));
    for (const f of trainVal) expect(testPatients.has(patient(f)), f).toBe(false);
    const patients = new Set(all.map(patient)).size;
    expect(testPatients.size / patients).toBeGreaterThan(0.1);
    expect(testPatients.size / patients).toBeLessThan(0.35);
  });

  it('writes 8-bit grey PNGs of the requested size that Python readers decode to the same pixels', async () => {
    const first = join(out, 'images', (await walk(join(out, 'images')))[0]!);
    const img = await readGrey(first);
    expect([img.width, img.height, img.channels]).toEqual([64, 64, 1]);
    const sum = img.data.reduce((s, v) => s + v, 0);
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys, numpy as np; from PIL import Image; im = Image.open(sys.argv[1]); a = np.asarray(im); print(im.mode, a.dtype, a.shape, int(a.astype(np.int64).sum()))',
        first,
      ],
      { encoding: 'utf8' },
    );
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe(`L uint8 (64, 64) ${sum}`);
  });

  it('labels the folder as simulated', async () => {
    expect(await readFile(join(out, 'README.txt'), 'utf8')).toMatch(/^SIMULATED PHANTOM DATA/);
    const manifest = JSON.parse(await readFile(join(out, 'phantom.json'), 'utf8'));
    expect(manifest).toMatchObject({ simulated: true, kind: 'chest', seed: 11, images: 48, size: 64 });
  });
});

describe('msk phantoms: MURA-v1.1 layout', () => {
  let out: string;
  beforeAll(async () => {
    out = join(root, 'msk');
    await synthesize({ kind: 'msk', out, n: 40, seed: 5, size: 64 });
  });

  it('lists every image in {train,valid}_image_paths.csv and every study in *_labeled_studies.csv (no headers)', async () => {
    const mura = join(out, 'MURA-v1.1');
    const onDisk = (await walk(mura)).filter((f) => f.endsWith('.png')).map((f) => `MURA-v1.1/${f}`);
    const listed: string[] = [];
    const patientsBySplit = { train: new Set<string>(), valid: new Set<string>() };
    for (const split of ['train', 'valid'] as const) {
      const paths = (await readFile(join(mura, `${split}_image_paths.csv`), 'utf8')).trim().split('\n');
      const studies = new Map(
        csvRows(await readFile(join(mura, `${split}_labeled_studies.csv`), 'utf8')).map(([p, l]) => [p!, l!]),
      );
      for (const p of paths) {
        const m =
          /^MURA-v1\.1\/(train|valid)\/(XR_[A-Z]+)\/(patient\d{5})\/(study\d+_(positive|negative))\/image\d+\.png$/.exec(
            p,
          );
        expect(m, p).not.toBeNull();
        expect(m![1]).toBe(split);
        expect(['XR_ELBOW', 'XR_FINGER', 'XR_FOREARM', 'XR_HAND', 'XR_HUMERUS', 'XR_SHOULDER', 'XR_WRIST']).toContain(
          m![2],
        );
        const study = p.slice(0, p.lastIndexOf('/') + 1);
        expect(studies.get(study), study).toBe(m![5] === 'positive' ? '1' : '0');
        patientsBySplit[split].add(m![3]!);
      }
      for (const s of studies.keys())
        expect(
          paths.some((p) => p.startsWith(s)),
          s,
        ).toBe(true);
      listed.push(...paths);
    }
    expect(listed.sort()).toEqual(onDisk.sort());
    expect(listed).toHaveLength(40);
    for (const p of patientsBySplit.valid) expect(patientsBySplit.train.has(p), p).toBe(false);
    expect(await readFile(join(mura, 'README.txt'), 'utf8')).toMatch(/^SIMULATED PHANTOM DATA/);
  });

  it('holds several images per study and grey PNGs of the requested height', async () => {
    const paths = (await readFile(join(out, 'MURA-v1.1', 'train_image_paths.csv'), 'utf8')).trim().split('\n');
    const perStudy = new Map<string, number>();
    for (const p of paths)
      perStudy.set(p.slice(0, p.lastIndexOf('/')), (perStudy.get(p.slice(0, p.lastIndexOf('/'))) ?? 0) + 1);
    expect(Math.max(...perStudy.values())).toBeGreaterThan(1);
    const img = await readGrey(join(out, paths[0]!));
    expect(img.height).toBe(64);
    expect(img.channels).toBe(1);
  });
});

describe('determinism', () => {
  it('gives byte-identical files for the same seed and different ones for another seed', async () => {
    for (const kind of ['chest', 'msk'] as const) {
      const a = join(root, `${kind}-a`);
      const b = join(root, `${kind}-b`);
      const c = join(root, `${kind}-c`);
      await synthesize({ kind, out: a, n: 10, seed: 3, size: 64 });
      await synthesize({ kind, out: b, n: 10, seed: 3, size: 64, threads: 0 });
      await synthesize({ kind, out: c, n: 10, seed: 4, size: 64 });
      expect(await hashTree(a)).toBe(await hashTree(b));
      expect(await hashTree(a)).not.toBe(await hashTree(c));
    }
  });
});

describe('options', () => {
  it('rejects bad options with OptionError naming the option', async () => {
    const out = join(root, 'bad');
    await expect(synthesize({ kind: 'ct' as never, out, n: 1, seed: 1 })).rejects.toThrow(
      /^Expected one of 'chest', 'msk' for kind but received 'ct'$/,
    );
    await expect(synthesize({ kind: 'chest', out, n: 0, seed: 1 })).rejects.toThrow(OptionError);
    await expect(synthesize({ kind: 'chest', out, n: 5, seed: 1, size: 2048 })).rejects.toThrow(
      /for size but received 2048/,
    );
    await expect(synthesize({ kind: 'chest', out, n: 5, seed: -1 })).rejects.toThrow(/for seed/);
    await expect(synthesize({ kind: 'chest', out, n: 5, seed: 1, prevalenceBoost: 0.9 })).rejects.toThrow(
      /for prevalenceBoost/,
    );
    await expect(synthesize({ kind: 'msk', out, n: 5, seed: 1, prevalenceBoost: 0.1 })).rejects.toThrow(
      /for prevalenceBoost/,
    );
  });

  it('refuses to write into a folder that already holds files', async () => {
    const out = join(root, 'busy');
    await synthesize({ kind: 'chest', out, n: 1, seed: 1, size: 64 }).catch(() => {});
    await writeFile(join(out, 'keep.txt'), 'mine');
    await expect(synthesize({ kind: 'chest', out, n: 2, seed: 1, size: 64 })).rejects.toThrow(/busy is not empty/);
    expect(await readFile(join(out, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
