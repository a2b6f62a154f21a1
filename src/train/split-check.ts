/**
 * The patient split as the user chose it (`split`: official, random, by-image) and, for a binary task,
 * a check that every split has both classes: when one does not, the error names the patients and
 * positives of each split and what to try, instead of only the split that failed.
 */
import type { PatientSplit } from '../data/sampling.js';
import { DataError } from '../data/errors.js';
import type { Dataset, Sample } from '../data/types.js';
import type { TrainConfig } from './config.js';

type SplitMode = TrainConfig['split'];

/** The mode the patient splitter takes: by-image is a random split once every image is its own patient. */
export function patientSplitMode(mode: SplitMode): 'official' | 'random' {
  return mode === 'by-image' ? 'random' : mode;
}

/** by-image: every image its own patient (data without patient ids); other modes: the dataset as read. */
export function withSplitPatients(ds: Dataset, mode: SplitMode): Dataset {
  if (mode !== 'by-image') return ds;
  return { ...ds, samples: ds.samples.map((s) => ({ ...s, patientId: s.id })) };
}

export const BY_IMAGE_WARNING =
  "split by image: one patient's images may be in training and test alike, so the test AUC may be optimistic " +
  '(for data without patient ids; --patient-column names them)';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

interface SplitCounts {
  name: string;
  patients: number;
  images: number;
  positive: number;
  negative: number;
}

function counts(name: string, samples: Sample[], j: number): SplitCounts {
  const known = samples.filter((s) => !Number.isNaN(s.targets[j]));
  const positive = known.filter((s) => s.targets[j]! > 0).length;
  return {
    name,
    patients: new Set(samples.map((s) => s.patientId)).size,
    images: samples.length,
    positive,
    negative: known.length - positive,
  };
}

/** What to try when a split lacks a class, most likely first. */
function remedies(ds: Dataset, mode: SplitMode, all: SplitCounts[]): string[] {
  const patients = new Set(ds.samples.map((s) => s.patientId)).size;
  const positives = all.reduce((a, c) => a + c.positive, 0);
  const out: string[] = [];
  if (mode === 'official')
    out.push("--split random (a seeded 70/10/20 split by patient instead of the dataset's test list)");
  if (patients < 30 && mode !== 'by-image') {
    out.push(
      `more patients (${patients} split 70/10/20 leave about ${Math.max(1, Math.round(patients * 0.1))} for validation)`,
    );
    out.push(
      "--split by-image if the images are independent enough (one patient's images may then cross splits; warned)",
    );
  } else if (positives < 30) out.push(`more positive images (${positives} in all), or a label with more positives`);
  out.push('another --seed (another draw of the split)');
  if (mode !== 'by-image') out.push('--patient-column if the labels CSV names the patients (they decide the split)');
  return out;
}

/**
 * Throws, before any sampling, when a split of a binary task on `label` has no positive or no
 * negative image; the message gives every split's patients and classes, and what to try.
 */
export function requireBothClassesPerSplit(ds: Dataset, split: PatientSplit, label: string, mode: SplitMode): void {
  const j = ds.labels.indexOf(label);
  if (j < 0) return; // an unknown label is reported where the task is checked
  const all = [counts('training', split.train, j), counts('validation', split.val, j), counts('test', split.test, j)];
  const bad = all.filter((c) => c.positive === 0 || c.negative === 0);
  if (bad.length === 0) return;
  const by =
    mode === 'by-image' ? 'by image' : mode === 'official' ? "by the dataset's test list and patient" : 'by patient';
  const per = all
    .map(
      (c) =>
        `${c.name} ${plural(c.patients, 'patient')}, ${plural(c.images, 'image')} (${c.positive} positive, ${c.negative} negative)`,
    )
    .join('; ');
  const which = bad
    .map((c) => `the ${c.name} split has ${c.positive === 0 ? 'no positive' : 'no negative'}`)
    .join(' and ');
  throw new DataError(
    ds.name,
    `${which} image for ${label}. Split ${by}: ${per}. Try: ${remedies(ds, mode, all).join('; ')}.`,
  );
}
