/**
 * A folder per class: <root>/<class>/(sub-folders/)image. Two classes give one binary label (the positive class
 * is named, or guessed when the other is clearly negative: normal, negative, healthy, 0, no...);
 * more give one-vs-rest labels in sorted class order.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { OptionError } from '../../errors.js';
import { DataError } from '../errors.js';
import type { Dataset, Sample } from '../types.js';
import { listImages, relativeId, requireDir } from './common.js';

export interface FolderOptions {
  /** Binary only: the positive class folder. */
  positive?: string;
  /** Regular expression with one group that extracts the patient id from the relative path. */
  patientPattern?: string;
}

const NEGATIVE_NAMES = new Set([
  '0',
  'no',
  'negative',
  'normal',
  'healthy',
  'benign',
  'no_finding',
  'nofinding',
  'control',
]);

export function loadFolder(root: string, opts: FolderOptions = {}): Dataset {
  requireDir(root, 'class-folder directory');
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (classes.length < 2)
    throw new DataError(root, `expected one sub-folder per class (at least 2) but found ${classes.length}`);
  let labels: string[];
  if (classes.length === 2) {
    let positive = opts.positive;
    if (positive !== undefined && !classes.includes(positive))
      throw new OptionError(
        'positive',
        `one of the class folders ${classes.map((c) => `'${c}'`).join(', ')}`,
        positive,
      );
    if (positive === undefined) {
      const negatives = classes.filter((c) => NEGATIVE_NAMES.has(c.toLowerCase()));
      if (negatives.length !== 1)
        throw new DataError(root, `two classes (${classes.join(', ')}): name the positive one (option positive)`);
      positive = classes.find((c) => c !== negatives[0])!;
    }
    labels = [positive];
  } else {
    labels = classes;
  }
  const pattern = opts.patientPattern === undefined ? undefined : compile(opts.patientPattern);
  const samples: Sample[] = [];
  const skipped: Dataset['skipped'] = [];
  for (const cls of classes) {
    for (const path of listImages(join(root, cls))) {
      const id = relativeId(root, path);
      let patientId = id;
      if (pattern) {
        const m = pattern.exec(id);
        if (!m || m[1] === undefined) {
          skipped.push({ path, reason: `patientPattern ${pattern} does not match '${id}'` });
          continue;
        }
        patientId = m[1];
      }
      const targets = labels.length === 1 ? [cls === labels[0] ? 1 : 0] : labels.map((l) => (l === cls ? 1 : 0));
      samples.push({ id, path, patientId, targets });
    }
  }
  return { name: `folder:${root}`, root: resolve(root), labels, samples, skipped };
}

function compile(src: string): RegExp {
  try {
    return new RegExp(src);
  } catch {
    throw new OptionError('patientPattern', 'a regular expression with one capture group', src);
  }
}
