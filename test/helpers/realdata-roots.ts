/**
 * Dataset roots in the published layouts, built from the real metadata of the real-data folder
 * (gunzipped). No images: planning reads the lists alone. `linkImages` puts one real image behind
 * chosen names (each a symlink to the same file) for tests that read pixels.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { realDataFile } from './realdata.js';

/** The text of a (gzipped) real-data file. */
export function realText(...parts: string[]): string {
  const path = realDataFile(...parts);
  if (!path) throw new Error(`real-data file ${parts.join('/')} not found`);
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** NIH ChestX-ray14: Data_Entry_2017.csv, train_val_list.txt, test_list.txt and an empty images/. */
export function nihRoot(dir: string): string {
  const root = join(dir, 'nih');
  mkdirSync(join(root, 'images'), { recursive: true });
  for (const f of ['Data_Entry_2017.csv', 'train_val_list.txt', 'test_list.txt'])
    writeFileSync(join(root, f), realText('nih', `${f}.gz`));
  return root;
}

/**
 * CheXpert-v1.0-small with train.csv and valid.csv. The validation rows come from the copy in the
 * real-data folder, which another project republished with underscored column names and absolute
 * paths: put back in the original layout (spaces, paths relative to the root's parent).
 */
export function chexpertRoot(dir: string): string {
  const root = join(dir, 'CheXpert-v1.0-small');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'train.csv'), realText('chexpert', 'train.csv.gz'));
  const [header, ...rows] = realText('chexpert', 'valid_modified.csv').split(/\r?\n/).filter(Boolean);
  const valid = [
    header!.replace(/_/g, ' '),
    ...rows.map((r) => r.replace(/^[^,]*\/valid\//, 'CheXpert-v1.0-small/valid/')),
  ];
  writeFileSync(join(root, 'valid.csv'), `${valid.join('\n')}\n`);
  return root;
}

/** MURA-v1.1 with its four CSVs. */
export function muraRoot(dir: string): string {
  const root = join(dir, 'MURA-v1.1');
  mkdirSync(root, { recursive: true });
  for (const f of [
    'train_image_paths.csv',
    'valid_image_paths.csv',
    'train_labeled_studies.csv',
    'valid_labeled_studies.csv',
  ])
    writeFileSync(join(root, f), realText('mura', `${f}.gz`));
  return root;
}

/** Symlinks `paths` (relative to `base`) to one real NIH image; in batches, so the test worker stays responsive. */
export async function linkImages(base: string, paths: string[]): Promise<void> {
  const image = realDataFile('images', '00000001_000.png');
  if (!image) throw new Error('real-data image images/00000001_000.png not found');
  for (const dir of new Set(paths.map((p) => dirname(join(base, p))))) mkdirSync(dir, { recursive: true });
  for (let i = 0; i < paths.length; i += 2000)
    await Promise.all(paths.slice(i, i + 2000).map((p) => symlink(image, join(base, p))));
}
