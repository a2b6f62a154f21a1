/** Small datasets in the publishers' real on-disk layouts, written at test time. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import sharp from 'sharp';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `txf-${prefix}-`));
}

/** A small grey PNG whose pixels depend on `seed` (so rows of a cache can be told apart). */
export async function writePng(path: string, seed: number, width = 24, height = 20): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const px = Buffer.alloc(width * height);
  for (let i = 0; i < px.length; i++) px[i] = (seed * 37 + i * 11) % 256;
  await sharp(px, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(path);
}

export async function writeJpeg(path: string, seed: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const px = Buffer.alloc(32 * 32, (seed * 53) % 256);
  await sharp(px, { raw: { width: 32, height: 32, channels: 1 } })
    .toColourspace('b-w')
    .jpeg()
    .toFile(path);
}

/**
 * NIH ChestX-ray14: Data_Entry_2017.csv as published (its header's unquoted brackets hold commas and
 * it ends with a comma, rows do not), images split across images/ and images_001/images/, and the
 * official lists.
 */
export async function makeNih(
  rows: { id: string; labels: string; patient: string; test?: boolean; noImage?: boolean }[],
): Promise<string> {
  const root = tempDir('nih');
  const header =
    'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';
  const lines = [header];
  for (const [k, r] of rows.entries()) {
    lines.push(`${r.id},${r.labels},${k},${r.patient},58,M,PA,2682,2749,0.143,0.143`);
    if (!r.noImage) await writePng(join(root, k % 2 ? 'images_001/images' : 'images', r.id), k);
  }
  writeFileSync(join(root, 'Data_Entry_2017.csv'), lines.join('\n') + '\n');
  writeFileSync(
    join(root, 'train_val_list.txt'),
    rows
      .filter((r) => !r.test)
      .map((r) => r.id)
      .join('\n') + '\n',
  );
  writeFileSync(
    join(root, 'test_list.txt'),
    rows
      .filter((r) => r.test)
      .map((r) => r.id)
      .join('\n') + '\n',
  );
  return root;
}

export const CHEXPERT_HEADER =
  'Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices';

/** CheXpert-v1.0-small/{train,valid}.csv with Path relative to the parent directory. */
export async function makeChexpert(train: string[], valid: string[]): Promise<string> {
  const parent = tempDir('chexpert');
  const root = join(parent, 'CheXpert-v1.0-small');
  mkdirSync(root);
  for (const [file, rows] of [
    ['train.csv', train],
    ['valid.csv', valid],
  ] as const) {
    writeFileSync(join(root, file), [CHEXPERT_HEADER, ...rows].join('\n') + '\n');
    for (const [k, r] of rows.entries()) {
      const rel = r.split(',')[0];
      await writeJpeg(join(parent, rel), k);
    }
  }
  return root;
}

/** MURA-v1.1 with image path lists and labeled studies (no headers, as published). */
export async function makeMura(
  studies: { split: 'train' | 'valid'; study: string; label: 0 | 1; images: number }[],
): Promise<string> {
  const parent = tempDir('mura');
  const root = join(parent, 'MURA-v1.1');
  mkdirSync(root);
  for (const split of ['train', 'valid'] as const) {
    const mine = studies.filter((s) => s.split === split);
    writeFileSync(
      join(root, `${split}_labeled_studies.csv`),
      mine.map((s) => `MURA-v1.1/${split}/${s.study}/,${s.label}`).join('\n') + '\n',
    );
    const paths: string[] = [];
    for (const s of mine) {
      for (let i = 1; i <= s.images; i++) {
        const rel = `MURA-v1.1/${split}/${s.study}/image${i}.png`;
        paths.push(rel);
        await writePng(join(parent, rel), i);
      }
    }
    writeFileSync(join(root, `${split}_image_paths.csv`), paths.join('\n') + '\n');
  }
  return parent;
}
