/** The published on-disk layouts: NIH ChestX-ray14 and MURA-v1.1, plus the simulation labels. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { NIH_FINDINGS } from './labels.js';
import type { ChestRow, MskRow } from './plan.js';

/** Bumped whenever the same seed would draw different images. */
export const PHANTOM_VERSION = 5;
/*
 * 2: the designed demo regime (docs/demo-design.md): Nodule, the target, is 1-3 compact low-contrast
 *    round opacities sized to survive 96 px; Mass draws the same primitive larger and denser; the default
 *    chest set raises the prevalence of both (DEFAULT_PHANTOMS.chest.prevalence).
 * 3: Nodule larger and denser at its severe end (a tiny CNN learned Mass but not the v2 Nodule at N = 400).
 * 4: Nodule larger and denser again (radius 0.036-0.076, contrast 0.18-0.48): no network tried learned v3 Nodule at N =
 * 400.
 */

export const SIMULATED_NOTICE =
  'SIMULATED PHANTOM DATA: synthetic radiograph-like images drawn by torchxfer. Not patient data, not medical images; for testing and demonstration only.';

/** The manifest every phantom folder carries (phantom.json), so readers can label it as simulated. */
export interface PhantomManifest {
  simulated: true;
  generator: 'torchxfer';
  version: number;
  kind: 'chest' | 'msk';
  layout: 'NIH ChestX-ray14' | 'MURA-v1.1';
  seed: number;
  images: number;
  size: number;
  notice: string;
}

const NIH_HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';

/** Data_Entry_2017.csv exactly as NIH publishes it (trailing comma included). */
export function nihCsv(rows: ChestRow[]): string {
  const lines = [NIH_HEADER];
  for (const r of rows) {
    const p = r.plan;
    // NIH joins co-occurring findings in alphabetical order.
    const labels = p.labels.length ? [...p.labels].sort().join('|') : 'No Finding';
    lines.push(
      [
        r.file,
        labels,
        p.followUp,
        p.patient.id,
        p.patient.age,
        p.patient.gender,
        p.view,
        r.width,
        r.height,
        r.spacing,
        r.spacing,
        '',
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

function readme(m: PhantomManifest, extra: string[]): string {
  return [
    SIMULATED_NOTICE,
    '',
    `Layout: ${m.layout} (same files and columns as the published dataset).`,
    `Generator: torchxfer phantom v${m.version}, kind ${m.kind}, seed ${m.seed}, ${m.images} images, ${m.size} px.`,
    'The same version and seed always produce byte-identical files.',
    ...extra,
    '',
  ].join('\n');
}

export async function writeNihMetadata(out: string, rows: ChestRow[], m: PhantomManifest): Promise<void> {
  const list = (split: ChestRow['split']) =>
    rows
      .filter((r) => r.split === split)
      .map((r) => r.file)
      .join('\n') + '\n';
  const counts = NIH_FINDINGS.map((f) => `  ${f}: ${rows.filter((r) => r.plan.labels.includes(f)).length}`);
  await writeFile(join(out, 'train_val_list.txt'), list('train_val'));
  await writeFile(join(out, 'test_list.txt'), list('test'));
  await writeFile(
    join(out, 'README.txt'),
    readme(m, [
      'Findings (images):',
      `  No Finding: ${rows.filter((r) => r.plan.labels.length === 0).length}`,
      ...counts,
    ]),
  );
  await writeFile(join(out, 'phantom.json'), JSON.stringify(m, null, 2) + '\n');
  // Last: a folder with Data_Entry_2017.csv is complete.
  await writeFile(join(out, 'Data_Entry_2017.csv'), nihCsv(rows));
}

export async function writeMuraMetadata(out: string, rows: MskRow[], m: PhantomManifest): Promise<void> {
  const root = join(out, 'MURA-v1.1');
  await mkdir(root, { recursive: true });
  const studiesRead = (split: MskRow['split']) => {
    const seen = new Map<string, number>();
    for (const r of rows) if (r.split === split) seen.set(r.studyPath, r.label);
    return [...seen].map(([p, l]) => `${p},${l}`).join('\n') + '\n';
  };
  const text = readme(m, [
    `Studies: ${new Set(rows.map((r) => r.studyPath)).size}, abnormal: ${new Set(rows.filter((r) => r.label).map((r) => r.studyPath)).size}.`,
  ]);
  await writeFile(join(root, 'README.txt'), text);
  await writeFile(join(out, 'README.txt'), text);
  await writeFile(join(root, 'phantom.json'), JSON.stringify(m, null, 2) + '\n');
  await writeFile(join(out, 'phantom.json'), JSON.stringify(m, null, 2) + '\n');
  for (const split of ['valid', 'train'] as const) {
    await writeFile(join(root, `${split}_labeled_studies.csv`), studiesRead(split));
    await writeFile(
      join(root, `${split}_image_paths.csv`),
      rows
        .filter((r) => r.split === split)
        .map((r) => r.imagePath)
        .join('\n') + '\n',
    );
  }
}
