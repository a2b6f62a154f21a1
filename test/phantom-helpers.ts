/** Shared helpers of the phantom tests: temp folders, file hashing, PNG decoding. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import sharp from 'sharp';

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `torchxfer-${prefix}-`));
}

/** Every file under `root`, relative and sorted. */
export async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** One hash over the names and bytes of every file under `root`. */
export async function hashTree(root: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of await walk(root))
    h.update(f)
      .update('\0')
      .update(await readFile(join(root, f)));
  return h.digest('hex');
}

export async function readGrey(
  path: string,
): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  const meta = await sharp(path).metadata();
  const { data, info } = await sharp(path).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: meta.channels ?? 0,
  };
}

/** Minimal CSV line split (the phantom CSVs hold no quoted fields). */
export function csvRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(','));
}
