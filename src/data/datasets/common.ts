/** Helpers shared by the dataset readers. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { OptionError } from '../../errors.js';
import { DataError } from '../errors.js';
import type { Dataset, Sample } from '../types.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.dcm', '.dicom'];

/** Every image file under `dir` (recursive, sorted), by extension. */
export function listImages(dir: string, extensions = IMAGE_EXTENSIONS): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (extensions.some((x) => e.name.toLowerCase().endsWith(x))) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export function requireDir(path: string, what: string): void {
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new DataError(path, `${what} not found (not a directory)`);
}

export function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new DataError(path, `${what} not found`);
}

/** Keeps samples whose file exists; the others go to `skipped` with reason 'missing'. */
export function dropMissing(samples: Sample[], skipped: Dataset['skipped']): Sample[] {
  return samples.filter((s) => {
    if (existsSync(s.path)) return true;
    skipped.push({ path: s.path, reason: 'file not found' });
    return false;
  });
}

/** The patient column is never read as a label, even when listed among the label columns. */
export function rejectPatientLabel(labels: string[], patientColumn: string | undefined): void {
  if (patientColumn !== undefined && labels.includes(patientColumn)) {
    throw new OptionError(
      'labelColumns',
      `label columns other than the patient column '${patientColumn}'`,
      labels.join(','),
    );
  }
}

/** A dataset without one usable image is an error saying why its files were skipped, never an empty success. */
export function requireSamples(ds: Dataset): void {
  if (ds.samples.length > 0) return;
  const reasons = new Map<string, number>();
  for (const s of ds.skipped) {
    const reason = s.reason.replace(/'[^']*'/g, "'...'");
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const why = [...reasons]
    .slice(0, 3)
    .map(([r, n]) => `${n} x ${r}`)
    .join('; ');
  throw new DataError(
    ds.root ?? ds.name,
    `no usable image${ds.skipped.length ? ` (${ds.skipped.length} file(s) skipped: ${why})` : ' (the labels name no image)'}`,
  );
}

export function relativeId(root: string, path: string): string {
  return relative(root, path).split('\\').join('/');
}

/** Positive/negative counts per label (NaN targets counted apart). */
export function labelCounts(ds: Dataset): { label: string; positive: number; negative: number; unknown: number }[] {
  return ds.labels.map((label, j) => {
    let positive = 0;
    let negative = 0;
    let unknown = 0;
    for (const s of ds.samples) {
      const t = s.targets[j];
      if (Number.isNaN(t)) unknown++;
      else if (t > 0) positive++;
      else negative++;
    }
    return { label, positive, negative, unknown };
  });
}
