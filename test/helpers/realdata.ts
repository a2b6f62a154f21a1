/**
 * The folder of real third-party files (published dataset metadata, a few real images, DICOMs and
 * weight files) that CI places beside the repository. Tests that use it skip, saying so, where it is
 * absent. TORCHXFER_REALDATA overrides the location (a git worktree elsewhere, a local copy).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the real-data folder, or undefined when it is not on this machine. */
export function realDataRoot(): string | undefined {
  const candidate = process.env.TORCHXFER_REALDATA || join(projectRoot, '..', 'shared', 'realdata');
  return existsSync(candidate) ? resolve(candidate) : undefined;
}

/** Path of one file under the real-data folder, or undefined when the folder or the file is absent. */
export function realDataFile(...parts: string[]): string | undefined {
  const root = realDataRoot();
  if (!root) return undefined;
  const path = join(root, ...parts);
  return existsSync(path) ? path : undefined;
}

/** The reason printed by tests that skip for lack of the folder. */
export const realDataSkipReason =
  'real third-party data not found (set TORCHXFER_REALDATA or place shared/realdata beside the repository): skipped';
