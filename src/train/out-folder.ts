/**
 * A run's output folder (`train --out`) holds the user's files as much as ours: torchxfer writes into
 * a new or empty folder, or one it made itself (marked with RUN_MARKER); a non-empty folder it did not
 * make is refused unless `force`, and even then no file of the names a run writes may already be there.
 * So nothing the user did not create through torchxfer is ever replaced or deleted.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { version } from '../version.js';
import { writeJsonAtomic } from '../fs-atomic.js';

/** The file that marks a folder as a torchxfer run's. */
export const RUN_MARKER = '.torchxfer-run';

/** What a run writes in its folder (besides the marker and its .lock). */
export const RUN_FILES = [
  'best.safetensors',
  'metrics.json',
  'resume',
  'lr-finder.svg',
  'lr-finder.png',
  'schedule.svg',
  'schedule.png',
  'training-curves.svg',
  'training-curves.png',
] as const;

/** Creates or checks `out` for a run, then marks it as torchxfer's. Throws naming the folder and the way out. */
export function prepareOutFolder(out: string, opts: { force?: boolean } = {}): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new Error(`--out ${out} exists and is not a folder`);
  mkdirSync(out, { recursive: true });
  const entries = readdirSync(out);
  const ours = entries.includes(RUN_MARKER) || isEarlierRun(out);
  if (entries.length > 0 && !ours) {
    if (!opts.force) {
      throw new Error(
        `--out ${out} is not empty and is not a torchxfer run folder (it has no ${RUN_MARKER}): choose a new or empty folder, ` +
          'or pass --force to write the run into it beside the files already there',
      );
    }
    const taken = RUN_FILES.filter((f) => entries.includes(f));
    if (taken.length) {
      throw new Error(
        `--out ${out} already holds ${taken.join(', ')}, which torchxfer did not create: even with --force it replaces no file of yours; move them or choose another --out`,
      );
    }
  }
  if (!entries.includes(RUN_MARKER))
    writeJsonAtomic(join(out, RUN_MARKER), { createdBy: 'torchxfer train', version, at: new Date().toISOString() });
}

/** A run folder of a torchxfer older than the marker: its resumable state is there. */
function isEarlierRun(out: string): boolean {
  try {
    return lstatSync(join(out, 'resume', 'state.json')).isFile();
  } catch {
    return false;
  }
}
