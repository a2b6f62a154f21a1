/**
 * The built-in default data: a chest and a limb phantom set generated once into the cache. Generation
 * goes to a temporary folder renamed into place at the end, so an interrupted run never leaves half a set.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { OptionError } from '../../errors.js';
import { expectInteger, expectString } from '../../validate.js';
import { synthesize } from './synthesize.js';
import { PHANTOM_DESIGN } from './design.js';
import { PHANTOM_VERSION } from './writers.js';
import { isAlive } from '../../lockfile.js';

/**
 * Sizes of the default sets. Chest: 1500 images (~1000 patients) with every finding at >= 10% prevalence
 * and the demo's target, Cardiomegaly, at 30% (~450 positive images): enough for N = 200 training subsets
 * plus validation and test sets of all positives and as many negatives. 256 px matches the protocol's
 * 250 px input after resizing. MURA-style limbs: 1000 images (~150 patients' worth of studies per part).
 */
export const DEFAULT_PHANTOMS = {
  seed: 2020,
  /** prevalence: the demo's designed target (PHANTOM_DESIGN). */
  chest: { n: 1500, size: 256, prevalenceBoost: 0.1, prevalence: PHANTOM_DESIGN.prevalence },
  msk: { n: 1000, size: 256 },
  /** The binary chest target the default experiment uses: its sign (heart wider than half the chest) is learnable. */
  target: 'Cardiomegaly',
} as const;

export interface DefaultPhantoms {
  /** The cache folder holding both sets. */
  dir: string;
  /** NIH ChestX-ray14 layout root (Data_Entry_2017.csv, images/, train_val_list.txt, test_list.txt). */
  chest: string;
  /** MURA-v1.1 folder (train/, valid/, *_image_paths.csv, *_labeled_studies.csv). */
  msk: string;
  /** True when this call generated the sets, false when they were already cached. */
  generated: boolean;
}

export interface EnsureDefaultOptions {
  /** torchxfer's cache root; default $TORCHXFER_CACHE or ~/.cache/torchxfer. */
  cacheDir?: string;
  seed?: number;
  /** Image counts instead of DEFAULT_PHANTOMS' (quick demos, tests); cached under their own folder. */
  images?: { chest: number; msk: number };
  onProgress?: (stage: 'chest' | 'msk', done: number, total: number) => void;
}

export function defaultCacheDir(): string {
  return process.env.TORCHXFER_CACHE || join(homedir(), '.cache', 'torchxfer');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Where the default sets of this phantom version and seed live (or will, once generated). */
export function defaultPhantomsDir(cache: string, seed: number, images?: { chest: number; msk: number }): string {
  return join(cache, 'phantoms', `${PHANTOM_VERSION}-${seed}${images ? `-c${images.chest}-m${images.msk}` : ''}`);
}

export async function ensureDefaultPhantoms(options: EnsureDefaultOptions = {}): Promise<DefaultPhantoms> {
  const cache = options.cacheDir === undefined ? defaultCacheDir() : expectString(options.cacheDir, 'cacheDir');
  const seed = expectInteger(options.seed ?? DEFAULT_PHANTOMS.seed, 'seed', 0, 2 ** 32 - 1);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new OptionError('onProgress', 'a function', options.onProgress);
  const images = options.images;
  if (images !== undefined) {
    if (typeof images !== 'object' || images === null)
      throw new OptionError('images', 'an object { chest, msk }', images);
    expectInteger(images.chest, 'images.chest', 1, 1_000_000);
    expectInteger(images.msk, 'images.msk', 1, 1_000_000);
  }
  const dir = defaultPhantomsDir(cache, seed, images);
  const paths = (generated: boolean): DefaultPhantoms => ({
    dir,
    chest: join(dir, 'chest'),
    msk: join(dir, 'msk', 'MURA-v1.1'),
    generated,
  });
  if (await exists(dir)) return paths(false);

  await mkdir(dirname(dir), { recursive: true });
  await removeAbandoned(dir);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    const { chest, msk } = DEFAULT_PHANTOMS;
    await synthesize({
      kind: 'chest',
      out: join(tmp, 'chest'),
      seed,
      ...chest,
      n: images?.chest ?? chest.n,
      onProgress: (d, t) => options.onProgress?.('chest', d, t),
    });
    await synthesize({
      kind: 'msk',
      out: join(tmp, 'msk'),
      seed,
      ...msk,
      n: images?.msk ?? msk.n,
      onProgress: (d, t) => options.onProgress?.('msk', d, t),
    });
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process finished first: its complete copy wins.
      if (!(await exists(dir))) throw err;
      await rm(tmp, { recursive: true, force: true });
      return paths(false);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return paths(true);
}

/** Removes temporary folders left by generations that were killed (their process is gone). */
async function removeAbandoned(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.tmp-`;
  for (const name of await readdir(dirname(dir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid))
      await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}
