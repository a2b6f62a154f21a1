/**
 * `--format auto` (the default): each dataset kind recognised from a fixture of its real layout (the real
 * NIH, CheXpert and MURA metadata, the real DICOMs, a class folder, a labels CSV), every wrong explicit
 * format an error naming what was found, patients from a labels CSV's column, and one epoch trained
 * without --format on phantoms laid out as each kind (64-px images, no --crop: the crop follows).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { main } from '../src/cli.js';
import { DATASET_KINDS, loadDataset, type DatasetKind } from '../src/data/datasets/index.js';
import { synthesize } from '../src/data/phantom/index.js';
import { resolveTrainConfig } from '../src/train/config.js';
import { planSplits } from '../src/train/data.js';
import { CHEXPERT_HEADER, tempDir, writePng } from './helpers/data-fixtures.js';
import { quickTrainFlags } from './helpers/quick-train.js';
import { python } from './helpers/python.js';
import { realDataFile, realDataRoot, realDataSkipReason } from './helpers/realdata.js';
import { chexpertRoot, linkImages, muraRoot, nihRoot, realText } from './helpers/realdata-roots.js';

const real = realDataRoot();
if (!real) console.log(realDataSkipReason);

afterEach(() => vi.restoreAllMocks());

/** The CLI in this process: exit code and what it printed on stderr. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stderr: lines.join('\n') };
}

interface Fixture {
  kind: DatasetKind;
  path: string;
  /** What detection says is there (the error for a wrong format quotes it). */
  what: string;
  images: number;
}

/** The real layouts, each with 20 of its listed images present (symlinks to one real image). */
async function realFixtures(dir: string): Promise<Fixture[]> {
  const nih = nihRoot(dir);
  const nihIds = realText('nih', 'Data_Entry_2017.csv.gz')
    .split('\n')
    .slice(1, 21)
    .map((l) => l.split(',')[0]!);
  await linkImages(join(nih, 'images'), nihIds);

  const chexpert = chexpertRoot(join(dir, 'chexpert'));
  const frontal = realText('chexpert', 'train.csv.gz')
    .split('\n')
    .slice(1)
    .filter((l) => l.split(',')[3] === 'Frontal')
    .slice(0, 20);
  await linkImages(
    join(dir, 'chexpert'),
    frontal.map((l) => l.split(',')[0]!),
  );

  const muraParent = join(dir, 'mura');
  muraRoot(muraParent);
  await linkImages(muraParent, realText('mura', 'train_image_paths.csv.gz').split(/\r?\n/).slice(0, 20));

  // The real DICOMs in a tree (two per folder), labels and patients from labels.csv.
  const scans = join(dir, 'scans');
  const dicoms = [
    '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
    'RG3_J2KR.dcm',
    'CT_small.dcm',
    'MR_small_RLE.dcm',
    'JPEG2000.dcm',
    'rtplan.dcm',
  ];
  const rows = dicoms.map((f, i) => {
    const rel = `site${i % 3}/${f}`;
    mkdirSync(dirname(join(scans, rel)), { recursive: true });
    copyFileSync(realDataFile('dicom', f)!, join(scans, rel));
    return `${rel},pat${i % 3},${i % 2}`;
  });
  writeFileSync(join(scans, 'labels.csv'), ['file,patient,Effusion', ...rows].join('\n') + '\n');

  const classes = join(dir, 'classes');
  const png = realDataFile('images', '00000001_000.png')!;
  for (let i = 0; i < 6; i++) {
    mkdirSync(join(classes, i % 2 ? 'effusion' : 'normal'), { recursive: true });
    symlinkSync(png, join(classes, i % 2 ? 'effusion' : 'normal', `x${i}.png`));
  }
  const table = join(dir, 'table');
  mkdirSync(join(table, 'png'), { recursive: true });
  for (let i = 0; i < 4; i++) symlinkSync(png, join(table, 'png', `p${i}.png`));
  writeFileSync(
    join(table, 'labels.csv'),
    ['path,patient,Effusion', ...[0, 1, 2, 3].map((i) => `png/p${i}.png,s${i >> 1},${i % 2}`)].join('\n') + '\n',
  );

  return [
    {
      kind: 'nih',
      path: nih,
      what: 'the NIH ChestX-ray14 layout (Data_Entry_2017.csv, train_val_list.txt, test_list.txt)',
      images: 20,
    },
    { kind: 'chexpert', path: chexpert, what: 'the CheXpert layout (train.csv, valid.csv)', images: 20 },
    {
      kind: 'mura',
      path: muraParent,
      what: 'the MURA layout (MURA-v1.1/train_image_paths.csv, MURA-v1.1/valid_image_paths.csv)',
      images: 20,
    },
    { kind: 'dicom', path: scans, what: 'a DICOM tree (6 files) with labels.csv', images: 6 },
    { kind: 'folder', path: classes, what: 'class folders (images per class: effusion 3, normal 3)', images: 6 },
    {
      kind: 'csv',
      path: join(table, 'labels.csv'),
      what: "a labels CSV of paths (labels.csv, column 'path')",
      images: 4,
    },
  ];
}

describe.skipIf(!real)('format auto on the real layouts', () => {
  let fixtures: Fixture[];
  beforeAll(async () => {
    fixtures = await realFixtures(tempDir('auto-real'));
  }, 300_000);

  it('recognises each kind and says so in one line', () => {
    for (const f of fixtures) {
      const ds = loadDataset('auto', f.path, { positive: 'effusion' });
      const patients = new Set(ds.samples.map((s) => s.patientId)).size;
      expect(ds.recognised, f.kind).toEqual({
        format: f.kind,
        message: `Data: recognised ${f.what}: ${f.images} image(s) of ${patients} patient(s)`,
      });
      console.log(`${f.kind}: ${ds.recognised!.message}`);
    }
  });

  it('every explicit format that does not fit is an error naming what was found', () => {
    for (const f of fixtures) {
      for (const wrong of DATASET_KINDS.filter((k) => k !== f.kind)) {
        expect(() => loadDataset(wrong, f.path, { positive: 'effusion' }), `${wrong} on ${f.kind}`).toThrow(
          `Expected '${f.kind}' or 'auto' (${f.path} holds ${f.what}, not `,
        );
      }
      // The right one reads, without the line (nothing was guessed).
      expect(loadDataset(f.kind, f.path, { positive: 'effusion' }).recognised).toBeUndefined();
    }
  });

  it("a DICOM tree's patient column gives the patients and is never a label; layouts with built-in patients refuse one", () => {
    const scans = fixtures.find((f) => f.kind === 'dicom')!.path;
    const ds = loadDataset('auto', scans);
    expect(ds.labels).toEqual(['Effusion']);
    expect(new Set(ds.samples.map((s) => s.patientId))).toEqual(new Set(['pat0', 'pat1', 'pat2']));
    expect(() => loadDataset('auto', scans, { labelColumns: ['Effusion', 'patient'] })).toThrow(
      /label columns other than the patient column 'patient'/,
    );
    const nih = fixtures.find((f) => f.kind === 'nih')!.path;
    expect(() => loadDataset('auto', nih, { patientColumn: 'subject' })).toThrow(
      /Expected no value for nih data \(its patients come from the table's Patient ID column\) for patientColumn/,
    );
  });

  it('the CLI: a wrong --format exits 1 naming what was found; nothing is read from zero images', async () => {
    const classes = fixtures.find((f) => f.kind === 'folder')!.path;
    const wrong = await cli(['data', 'inspect', '--data', classes, '--format', 'dicom']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `Expected 'folder' or 'auto' (${classes} holds class folders (images per class: effusion 3, normal 3), not a DICOM tree with a labels CSV) for --format but received 'dicom'`,
    );
    const asCsv = await cli(['data', 'inspect', '--data', classes, '--format', 'csv']);
    expect(asCsv.code).toBe(1);
    expect(asCsv.stderr).toMatch(/holds class folders .* not a labels CSV file with a column of image paths/);
    // A DICOM tree whose labels name none of its files: an error with the reason, not "0 usable images".
    const scans = fixtures.find((f) => f.kind === 'dicom')!.path;
    const other = join(dirname(scans), 'other-labels.csv');
    writeFileSync(other, 'file,Effusion\nnot-here.dcm,1\n');
    const none = await cli(['data', 'inspect', '--data', scans, '--labels', other]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no usable image \(6 file\(s\) skipped: 6 x not in .*other-labels\.csv\)/);
    // Nothing recognisable: what is there, and what to do.
    const empty = tempDir('auto-empty');
    const nothing = await cli(['data', 'inspect', '--data', empty]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('holds no images (PNG, JPEG or DICOM) and no dataset layout');
  });
});

describe('what is not recognised is said, not guessed', () => {
  it('folders named like patients are not classes (auto stops; --format folder warns that each became a label)', async () => {
    const root = tempDir('auto-cases');
    for (let i = 0; i < 8; i++) await writePng(join(root, `case${i}`, 'a.png'), i);
    expect(() => loadDataset('auto', root)).toThrow(
      /holds 8 images in 8 folders named like patient or case ids \(case0 \.\.\. case7\) and no labels CSV: give the labels as a CSV/,
    );
    const ds = loadDataset('folder', root);
    expect(ds.labels).toHaveLength(8);
    expect(ds.warnings).toEqual([
      expect.stringMatching(
        /^the 8 class folders are named like patient or case ids \(case0, case1, case2 \.\.\.\): each became a label/,
      ),
    ]);
  });

  it('a format named reads its own files where auto would pick another kind', async () => {
    const root = tempDir('auto-both');
    writeFileSync(join(root, 'Data_Entry_2017.csv'), 'Image Index,Finding Labels,Follow-up #,Patient ID\n');
    for (let i = 0; i < 4; i++) await writePng(join(root, 'png', `p${i}.png`), i);
    writeFileSync(
      join(root, 'labels.csv'),
      ['path,A', ...[0, 1, 2, 3].map((i) => `png/p${i}.png,${i % 2}`)].join('\n') + '\n',
    );
    expect(() => loadDataset('auto', root)).toThrow(/no usable image/); // the NIH table wins, and lists no image
    const ds = loadDataset('csv', root);
    expect(ds.samples).toHaveLength(4);
    expect(ds.recognised).toBeUndefined();
  });

  it('a published layout one folder down is named, with the folder to give', () => {
    const parent = tempDir('auto-parent');
    mkdirSync(join(parent, 'CheXpert-v1.0-small'));
    writeFileSync(join(parent, 'CheXpert-v1.0-small', 'train.csv'), `${CHEXPERT_HEADER}\n`);
    expect(() => loadDataset('auto', parent)).toThrow(
      `holds the CheXpert layout (train.csv) in CheXpert-v1.0-small/: give that folder: --data ${join(parent, 'CheXpert-v1.0-small')}`,
    );
  });
});

describe('a split that fails names the patients and positives per split, and what to try', () => {
  it("45 images of 6 patients, the positives all one patient's", async () => {
    const root = tempDir('split-few');
    const rows = ['path,patient,Effusion'];
    for (let i = 0; i < 45; i++) {
      const patient = i % 6;
      await writePng(join(root, `im${i}.png`), i);
      rows.push(`im${i}.png,p${patient},${patient === 0 ? 1 : 0}`);
    }
    writeFileSync(join(root, 'labels.csv'), rows.join('\n') + '\n');
    const config = resolveTrainConfig({ data: root, task: ['Effusion'], out: join(root, 'run') });
    const err = await planSplits(config).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /split has no (positive|negative) image for Effusion\. Split by patient: training 4 patients, \d+ images \(\d+ positive, \d+ negative\); validation 1 patient, \d+ images \(\d+ positive, \d+ negative\); test 1 patient, \d+ images/,
    );
    expect(err?.message).toContain(
      'Try: more patients (6 split 70/10/20 leave about 1 for validation); --split by-image',
    );
    // --split by-image: every image its own patient, and a warning that says what that costs.
    const logs: string[] = [];
    const byImage = await planSplits(
      resolveTrainConfig({ data: root, task: ['Effusion'], split: 'by-image', seed: 1, out: join(root, 'run') }),
      { log: (l) => logs.push(l) },
    ).catch((e: Error) => e);
    if (byImage instanceof Error) expect(byImage.message).toContain('Split by image:');
    else {
      expect(byImage.splitMode).toBe('by-image');
      expect(byImage.warnings[0]).toMatch(/^split by image: one patient's images may be in training and test alike/);
      expect(logs).toContain(
        "Data: recognised a labels CSV of paths (labels.csv, column 'path'): 45 image(s) of 6 patient(s)",
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// One epoch on phantoms laid out as each kind, through the CLI, without --format and without --crop.

const CLI = resolve('bin/torchxfer.js');
const QUICK = quickTrainFlags({ n: 16, crop: null, threads: 2 });

interface PhantomImage {
  id: string;
  path: string;
  patient: string;
  cardiomegaly: 0 | 1;
  test: boolean;
}

/** The phantom chest set's images with their patient, Cardiomegaly label and official split. */
function phantomImages(root: string): PhantomImage[] {
  const test = new Set(readFileSync(join(root, 'test_list.txt'), 'utf8').split('\n').filter(Boolean));
  return readFileSync(join(root, 'Data_Entry_2017.csv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [id, labels, , patient] = line.split(',');
      return {
        id: id!,
        path: join(root, 'images', id!),
        patient: patient!,
        cardiomegaly: labels!.split('|').includes('Cardiomegaly') ? 1 : 0,
        test: test.has(id!),
      };
    });
}

describe('one epoch on phantoms without --format (and --image-size 64 alone: the crop follows)', () => {
  let dir: string;
  let chest: string;
  let images: PhantomImage[];
  const train = (data: string, task: string, name: string, extra: string[] = []) => {
    const out = join(dir, 'runs', name);
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'train',
        '--data',
        data,
        '--task',
        task,
        '--out',
        out,
        '--cache-dir',
        join(dir, 'cache'),
        ...QUICK,
        ...extra,
      ],
      { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    return { stderr: r.stderr, metrics: JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) };
  };

  beforeAll(async () => {
    dir = tempDir('auto-train');
    chest = join(dir, 'chest');
    await synthesize({ kind: 'chest', out: chest, n: 120, seed: 5, size: 64, prevalenceBoost: 0.25, threads: 0 });
    images = phantomImages(chest);
  }, 300_000);

  it('NIH layout (the phantom chest set): recognised, trained; the crop is 60 for 64-px images', () => {
    const { stderr, metrics } = train(chest, 'Cardiomegaly', 'nih');
    expect(stderr).toMatch(
      /^Data: recognised the NIH ChestX-ray14 layout \(Data_Entry_2017\.csv, train_val_list\.txt, test_list\.txt\): 120 image\(s\) of \d+ patient\(s\)$/m,
    );
    expect(metrics.config).toMatchObject({ format: 'auto', imageSize: 64, crop: 60 });
    expect(metrics.epochs).toHaveLength(1);
  });

  it('MURA layout (the phantom limb set)', async () => {
    const msk = join(dir, 'msk');
    await synthesize({ kind: 'msk', out: msk, n: 120, seed: 5, size: 64, threads: 0 });
    const { stderr, metrics } = train(msk, 'Abnormal', 'mura');
    expect(stderr).toMatch(
      /^Data: recognised the MURA layout \(MURA-v1\.1\/train_image_paths\.csv, MURA-v1\.1\/valid_image_paths\.csv\): \d+ image\(s\)/m,
    );
    expect(metrics.split).toBe('official');
  });

  it('CheXpert layout (phantom chest images under CheXpert paths)', () => {
    const parent = join(dir, 'chexpert');
    const root = join(parent, 'CheXpert-v1.0-small');
    const lines: Record<'train' | 'valid', string[]> = { train: [CHEXPERT_HEADER], valid: [CHEXPERT_HEADER] };
    const cardio = CHEXPERT_HEADER.split(',').indexOf('Cardiomegaly');
    for (const im of images) {
      const split = im.test ? 'valid' : 'train';
      const rel = `CheXpert-v1.0-small/${split}/patient${im.patient.padStart(5, '0')}/study1/${basename(im.id, '.png')}_frontal.png`;
      mkdirSync(dirname(join(parent, rel)), { recursive: true });
      copyFileSync(im.path, join(parent, rel));
      const cells = CHEXPERT_HEADER.split(',').map(() => '');
      [cells[0], cells[3], cells[4], cells[cardio]] = [rel, 'Frontal', 'PA', `${im.cardiomegaly}.0`];
      lines[split].push(cells.join(','));
    }
    for (const split of ['train', 'valid'] as const)
      writeFileSync(join(root, `${split}.csv`), lines[split].join('\n') + '\n');
    const { stderr, metrics } = train(root, 'Cardiomegaly', 'chexpert');
    expect(stderr).toContain(`Data: recognised the CheXpert layout (train.csv, valid.csv): ${images.length} image(s)`);
    expect(metrics.labels).toEqual(['Cardiomegaly']);
  });

  it('class folders (the positive class guessed against normal)', () => {
    const root = join(dir, 'classes');
    for (const im of images) {
      mkdirSync(join(root, im.cardiomegaly ? 'cardiomegaly' : 'normal'), { recursive: true });
      copyFileSync(im.path, join(root, im.cardiomegaly ? 'cardiomegaly' : 'normal', im.id));
    }
    const positives = images.filter((i) => i.cardiomegaly).length;
    const { stderr } = train(root, 'cardiomegaly', 'folder');
    expect(stderr).toContain(
      `Data: recognised class folders (images per class: cardiomegaly ${positives}, normal ${images.length - positives})`,
    );
  });

  it('a labels CSV of paths, given as its folder', () => {
    const root = join(dir, 'table');
    mkdirSync(join(root, 'png'), { recursive: true });
    for (const im of images) copyFileSync(im.path, join(root, 'png', im.id));
    writeFileSync(
      join(root, 'labels.csv'),
      ['path,patient,Cardiomegaly', ...images.map((i) => `png/${i.id},${i.patient},${i.cardiomegaly}`)].join('\n') +
        '\n',
    );
    const { stderr } = train(root, 'Cardiomegaly', 'csv');
    expect(stderr).toContain("Data: recognised a labels CSV of paths (labels.csv, column 'path')");
  });

  it('a DICOM tree with labels.csv: its patient column splits it (every file says PatientID ANON)', () => {
    const root = join(dir, 'scans');
    const cases = images.map((im) => ({
      name: `${im.patient}/${basename(im.id, '.png')}`,
      png: im.path,
      patient: 'ANON',
    }));
    python(DICOM_FROM_PNG, [root], JSON.stringify(cases));
    writeFileSync(
      join(root, 'labels.csv'),
      [
        'file,patient,Cardiomegaly',
        ...images.map((im, i) => `${cases[i]!.name}.dcm,${im.patient},${im.cardiomegaly}`),
      ].join('\n') + '\n',
    );
    const { stderr, metrics } = train(root, 'Cardiomegaly', 'dicom', ['--split', 'random']);
    const patients = new Set(images.map((i) => i.patient)).size;
    expect(stderr).toContain(
      `Data: recognised a DICOM tree (${images.length} files) with labels.csv: ${images.length} image(s) of ${patients} patient(s)`,
    );
    // By the CSV's patients: none in two splits (by the tag, all would be one patient and no split could be made).
    const patientOf = (id: string) => id.split('/')[0];
    const inTrain = new Set<string>(metrics.samples.train.map(patientOf));
    for (const part of ['val', 'test']) {
      expect(metrics.samples[part].length).toBeGreaterThan(0);
      expect(metrics.samples[part].filter((id: string) => inTrain.has(patientOf(id)!))).toEqual([]);
    }
    expect(metrics.labels).toEqual(['Cardiomegaly']);
  });
});

/**
 * Writes 8-bit MONOCHROME2 DICOMs (explicit VR little endian) holding each PNG's pixels; stdin: [{name, png, patient}].
 */
const DICOM_FROM_PNG = `
import json, os, sys
import numpy as np
from skimage.io import imread
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
for c in json.load(sys.stdin):
    px = imread(c["png"]).astype(np.uint8)
    px = px if px.ndim == 2 else px[..., 0]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = os.path.join(out, c["name"] + ".dcm")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality = c["patient"], "DX"
    ds.Rows, ds.Columns = px.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = np.ascontiguousarray(px).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)
print("[]")
`;
