// Dataset readers over small fixtures in each publisher's real layout, and their bad-data behaviour.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadChexpert, loadDicomTree, loadFolder, loadMura, loadNih, loadUserCsv } from '../src/data/datasets/index.js';
import { CHEXPERT_HEADER, makeChexpert, makeMura, makeNih, tempDir, writePng } from './helpers/data-fixtures.js';
import { python } from './helpers/python.js';

describe('NIH ChestX-ray14', () => {
  it('parses labels in canonical order, No Finding, patients, both image folders, official lists', async () => {
    const root = await makeNih([
      { id: '00000001_000.png', labels: 'Cardiomegaly', patient: '1' },
      { id: '00000001_001.png', labels: 'Emphysema|Hernia', patient: '1' },
      { id: '00000002_000.png', labels: 'No Finding', patient: '2', test: true },
      { id: '00000003_000.png', labels: 'Atelectasis|Pleural_Thickening', patient: '3', noImage: true },
    ]);
    const ds = loadNih(root);
    expect(ds.labels[0]).toBe('Atelectasis');
    expect(ds.labels[13]).toBe('Hernia');
    expect(ds.samples.map((s) => s.id)).toEqual(['00000001_000.png', '00000001_001.png', '00000002_000.png']);
    expect(ds.samples[0].targets).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ds.samples[1].targets[ds.labels.indexOf('Emphysema')]).toBe(1);
    expect(ds.samples[1].targets[ds.labels.indexOf('Hernia')]).toBe(1);
    expect(ds.samples[2].targets.every((t) => t === 0)).toBe(true);
    expect(ds.samples[1].path).toBe(join(root, 'images_001/images/00000001_001.png'));
    expect(ds.samples[0].path).toBe(join(root, 'images/00000001_000.png'));
    expect(ds.samples.map((s) => s.patientId)).toEqual(['1', '1', '2']);
    expect(ds.skipped).toEqual([{ path: join(root, 'images/00000003_000.png'), reason: 'file not found' }]);
    expect([...ds.officialSplits!.test!]).toEqual(['00000002_000.png']);
    expect(ds.officialSplits!.trainVal!.size).toBe(3);
  });

  it('an unknown label names file, line and column', async () => {
    const root = await makeNih([
      { id: 'a.png', labels: 'Effusion', patient: '1' },
      { id: 'b.png', labels: 'Effusion|Pneumonitis', patient: '2' },
    ]);
    expect(() => loadNih(root)).toThrow(
      `${join(root, 'Data_Entry_2017.csv')}: line 3, column 'Finding Labels': unknown label 'Pneumonitis'`,
    );
  });

  it('a missing label table is named', () => {
    const root = tempDir('nih-empty');
    expect(() => loadNih(root)).toThrow(`${join(root, 'Data_Entry_2017.csv')}: file not found`);
  });
});

describe('CheXpert', () => {
  const row = (
    patient: string,
    view: 'Frontal' | 'Lateral',
    v: { atel?: string; card?: string; cons?: string; edema?: string; eff?: string },
    split = 'train',
  ) =>
    // Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung
    // Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,...
    `CheXpert-v1.0-small/${split}/${patient}/study1/view1_${view.toLowerCase()}.jpg,Female,68,${view},AP,,,${v.card ?? ''},1.0,,${v.edema ?? ''},${v.cons ?? ''},,${v.atel ?? ''},0.0,${v.eff ?? ''},,,1.0`;

  it('keeps frontal views, maps uncertain per the protocol defaults, blank = 0', async () => {
    const root = await makeChexpert(
      [
        row('patient00001', 'Frontal', { atel: '-1.0', card: '-1.0', cons: '-1.0', edema: '-1.0', eff: '-1.0' }),
        row('patient00001', 'Lateral', { atel: '1.0' }),
        row('patient00002', 'Frontal', { card: '1.0', eff: '0.0' }),
      ],
      [row('patient64541', 'Frontal', { edema: '1.0' }, 'valid')],
    );
    const ds = loadChexpert(root);
    expect(ds.labels).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion']);
    expect(ds.samples.map((s) => s.patientId)).toEqual(['patient00001', 'patient00002', 'patient64541']);
    expect(ds.samples[0].targets).toEqual([1, 0, 0, 1, 0]);
    expect(ds.samples[1].targets).toEqual([0, 1, 0, 0, 0]);
    expect(ds.samples[0].path).toBe(
      join(root, '..', 'CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg'),
    );
    expect(ds.skipped).toEqual([]);
    expect(ds.officialSplits!.test!.size).toBe(1);

    const ones = loadChexpert(root, { uncertainty: 'ones' });
    expect(ones.samples[0].targets).toEqual([1, 1, 1, 1, 1]);
    const zeros = loadChexpert(root, { uncertainty: 'zeros' });
    expect(zeros.samples[0].targets).toEqual([0, 0, 0, 0, 0]);
    const ignore = loadChexpert(root, { uncertainty: { Cardiomegaly: 'ignore' } });
    expect(ignore.samples[0].targets).toEqual([1, NaN, 0, 1, 0]);
    expect(() => loadChexpert(root, { uncertainty: 'maybe' as never })).toThrow(
      "Expected 'ones', 'zeros' or 'ignore' for uncertainty but received 'maybe'",
    );
  });

  it('a bad label value names line and column', async () => {
    const root = await makeChexpert(
      [row('patient00001', 'Frontal', {}), row('patient00002', 'Frontal', { edema: '2.0' })],
      [],
    );
    expect(() => loadChexpert(root)).toThrow(
      `${join(root, 'train.csv')}: line 3, column 'Edema': expected 1, 0, -1 or blank but found '2.0'`,
    );
    writeFileSync(join(root, 'train.csv'), CHEXPERT_HEADER.replace('Edema,', '') + '\n');
    expect(() => loadChexpert(root)).toThrow(`${join(root, 'train.csv')}: line 1, column 'Edema': missing column`);
  });
});

describe('MURA', () => {
  it('gives each image its study label and the patient from the path', async () => {
    const parent = await makeMura([
      { split: 'train', study: 'XR_SHOULDER/patient00001/study1_positive', label: 1, images: 2 },
      { split: 'train', study: 'XR_WRIST/patient00002/study1_negative', label: 0, images: 1 },
      { split: 'valid', study: 'XR_HAND/patient11185/study1_positive', label: 1, images: 1 },
    ]);
    for (const dir of [parent, join(parent, 'MURA-v1.1')]) {
      const ds = loadMura(dir);
      expect(ds.labels).toEqual(['Abnormal']);
      expect(ds.samples.map((s) => [s.patientId, s.targets[0]])).toEqual([
        ['patient00001', 1],
        ['patient00001', 1],
        ['patient00002', 0],
        ['patient11185', 1],
      ]);
      expect(ds.officialSplits!.test!.size).toBe(1);
    }
  });
});

describe("the user's own data", () => {
  it('CSV: paths relative to the CSV, several label columns, patient column, errors with line/column', async () => {
    const dir = tempDir('csv');
    await writePng(join(dir, 'img/a.png'), 1);
    await writePng(join(dir, 'img/b.png'), 2);
    writeFileSync(
      join(dir, 'labels.csv'),
      'file,patient,tumour,cyst\nimg/a.png,p1,1,0\nimg/b.png,p2,0,\nimg/gone.png,p3,1,1\n',
    );
    const ds = loadUserCsv(join(dir, 'labels.csv'), { pathColumn: 'file' });
    expect(ds.labels).toEqual(['tumour', 'cyst']);
    expect(ds.samples.map((s) => [s.path, s.patientId, s.targets])).toEqual([
      [join(dir, 'img/a.png'), 'p1', [1, 0]],
      [join(dir, 'img/b.png'), 'p2', [0, NaN]],
    ]);
    expect(ds.skipped).toEqual([{ path: join(dir, 'img/gone.png'), reason: 'file not found' }]);
    writeFileSync(join(dir, 'bad.csv'), 'path,tumour\nimg/a.png,1\nimg/b.png,maybe\n');
    expect(() => loadUserCsv(join(dir, 'bad.csv'))).toThrow(
      `${join(dir, 'bad.csv')}: line 3, column 'tumour': expected 0 or 1 (or blank for unknown) but found 'maybe'`,
    );
    expect(() => loadUserCsv(join(dir, 'bad.csv'), { labelColumns: ['cyst'] })).toThrow(
      `line 1, column 'cyst': missing column`,
    );
    writeFileSync(join(dir, 'empty.csv'), '');
    expect(() => loadUserCsv(join(dir, 'empty.csv'))).toThrow(`${join(dir, 'empty.csv')}: empty CSV file`);
  });

  it('class folders: binary with the negative folder recognised, multi-class one-vs-rest', async () => {
    const dir = tempDir('folder');
    await writePng(join(dir, 'normal/x1.png'), 1);
    await writePng(join(dir, 'pneumonia/sub/x2.png'), 2);
    await writePng(join(dir, 'pneumonia/x3.png'), 3);
    const bin = loadFolder(dir);
    expect(bin.labels).toEqual(['pneumonia']);
    expect(bin.samples.map((s) => [s.id, s.targets])).toEqual([
      ['normal/x1.png', [0]],
      ['pneumonia/sub/x2.png', [1]],
      ['pneumonia/x3.png', [1]],
    ]);
    await writePng(join(dir, 'covid/x4.png'), 4);
    const multi = loadFolder(dir);
    expect(multi.labels).toEqual(['covid', 'normal', 'pneumonia']);
    expect(multi.samples.find((s) => s.id === 'covid/x4.png')!.targets).toEqual([1, 0, 0]);
    const two = tempDir('folder2');
    await writePng(join(two, 'cats/a.png'), 1);
    await writePng(join(two, 'dogs/a.png'), 1);
    expect(() => loadFolder(two)).toThrow('name the positive one (option positive)');
    expect(loadFolder(two, { positive: 'dogs' }).samples.map((s) => s.targets[0])).toEqual([0, 1]);
  });

  it('DICOM tree: labels keyed by file or by a DICOM tag, patient from PatientID', () => {
    const dir = tempDir('dicomtree');
    mkdirSync(join(dir, 'series'));
    const cases = [
      { name: 'one', rows: 4, cols: 4, bits: 16, patient: 'PAT-A' },
      { name: 'two', rows: 4, cols: 4, bits: 16, patient: 'PAT-B' },
    ];
    python('make_dicom.py', [join(dir, 'series')], JSON.stringify(cases));
    writeFileSync(join(dir, 'by-file.csv'), 'file,nodule\nseries/one.dcm,1\ntwo.dcm,0\n');
    const byFile = loadDicomTree(dir, { labels: join(dir, 'by-file.csv') });
    expect(byFile.samples.map((s) => [s.id, s.patientId, s.targets[0]])).toEqual([
      ['series/one.dcm', 'PAT-A', 1],
      ['series/two.dcm', 'PAT-B', 0],
    ]);
    writeFileSync(join(dir, 'by-tag.csv'), 'PatientID,nodule\nPAT-B,1\n');
    const byTag = loadDicomTree(dir, { labels: join(dir, 'by-tag.csv'), key: 'PatientID' });
    expect(byTag.samples.map((s) => [s.id, s.targets[0]])).toEqual([['series/two.dcm', 1]]);
    expect(byTag.skipped).toEqual([
      { path: join(dir, 'series/one.dcm'), reason: `PatientID 'PAT-A' not in ${join(dir, 'by-tag.csv')}` },
    ]);
  });
});
