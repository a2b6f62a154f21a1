/** synthesize(): writes a phantom dataset (NIH ChestX-ray14 or MURA-v1.1 layout) into a folder. */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { OptionError } from '../../errors.js';
import { expectInteger, expectNumber, expectOneOf, expectString } from '../../validate.js';
import { NIH_FINDINGS, type Finding } from './labels.js';
import { planChest, planMsk } from './plan.js';
import { renderAll } from './pool.js';
import type { RenderTask } from './render.js';
import {
  PHANTOM_VERSION,
  SIMULATED_NOTICE,
  writeMuraMetadata,
  writeNihMetadata,
  type PhantomManifest,
} from './writers.js';

export type PhantomKind = 'chest' | 'msk';

export interface SynthesizeOptions {
  kind: PhantomKind;
  /** Folder to create (or an empty one). */
  out: string;
  /** Number of images. */
  n: number;
  /** Any integer 0..2^32-1; the same seed gives byte-identical files. */
  seed: number;
  /** Image height in pixels (chest images are square; limb films keep their part's aspect). Default 256. */
  size?: number;
  /** Chest only: raise every finding's prevalence to at least this fraction (0..0.5). Default 0: NIH's. */
  prevalenceBoost?: number;
  /** Chest only: set these findings' prevalences outright (each 0..0.9), after the boost. */
  prevalence?: Partial<Record<Finding, number>>;
  /** Worker threads for drawing; 0 draws in this thread. Does not change the output. */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SynthesizeResult {
  kind: PhantomKind;
  out: string;
  /** The folder a dataset reader opens: `out` for chest, `out/MURA-v1.1` for msk. */
  root: string;
  images: number;
  patients: number;
  manifest: PhantomManifest;
}

export const PHANTOM_KINDS: readonly PhantomKind[] = ['chest', 'msk'];

export async function synthesize(options: SynthesizeOptions): Promise<SynthesizeResult> {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an object', options);
  const kind = expectOneOf(options.kind, 'kind', PHANTOM_KINDS);
  const out = expectString(options.out, 'out');
  const n = expectInteger(options.n, 'n', 1, 1_000_000);
  const seed = expectInteger(options.seed, 'seed', 0, 2 ** 32 - 1);
  const size = expectInteger(options.size ?? 256, 'size', 64, 1024);
  const boost = expectNumber(options.prevalenceBoost ?? 0, 'prevalenceBoost', 0, 0.5);
  if (options.prevalenceBoost !== undefined && kind !== 'chest')
    throw new OptionError(
      'prevalenceBoost',
      "undefined with kind 'msk' (it applies to chest findings)",
      options.prevalenceBoost,
    );
  const prevalence = expectPrevalence(options.prevalence, kind);
  const threads = options.threads === undefined ? undefined : expectInteger(options.threads, 'threads', 0, 64);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new OptionError('onProgress', 'a function', options.onProgress);

  await mkdir(out, { recursive: true });
  const existing = await readdir(out);
  if (existing.length > 0)
    throw new Error(
      `Output folder ${out} is not empty (holds ${existing[0]}${existing.length > 1 ? ` and ${existing.length - 1} more` : ''}); give a new or empty folder`,
    );

  const manifest: PhantomManifest = {
    simulated: true,
    generator: 'torchxfer',
    version: PHANTOM_VERSION,
    kind,
    layout: kind === 'chest' ? 'NIH ChestX-ray14' : 'MURA-v1.1',
    seed,
    images: n,
    size,
    notice: SIMULATED_NOTICE,
  };
  const progress = options.onProgress;
  if (kind === 'chest') {
    const rows = planChest(seed, n, boost, prevalence);
    await mkdir(join(out, 'images'));
    const tasks: RenderTask[] = rows.map((r) => ({
      kind: 'chest',
      seed,
      plan: r.plan,
      size,
      path: join(out, 'images', r.file),
    }));
    await renderAll(tasks, { threads, onProgress: progress });
    await writeNihMetadata(out, rows, manifest);
    return { kind, out, root: out, images: n, patients: new Set(rows.map((r) => r.plan.patient.id)).size, manifest };
  }
  const rows = planMsk(seed, n, size);
  for (const dir of new Set(rows.map((r) => r.studyPath))) await mkdir(join(out, dir), { recursive: true });
  const tasks: RenderTask[] = rows.map((r) => ({ kind: 'msk', seed, plan: r.plan, path: join(out, r.imagePath) }));
  await renderAll(tasks, { threads, onProgress: progress });
  await writeMuraMetadata(out, rows, manifest);
  return {
    kind,
    out,
    root: join(out, 'MURA-v1.1'),
    images: n,
    patients: new Set(rows.map((r) => r.patient)).size,
    manifest,
  };
}

function expectPrevalence(value: unknown, kind: PhantomKind): Partial<Record<Finding, number>> {
  if (value === undefined) return {};
  if (kind !== 'chest')
    throw new OptionError('prevalence', "undefined with kind 'msk' (it applies to chest findings)", value);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OptionError('prevalence', 'an object { Finding: fraction }', value);
  const out: Partial<Record<Finding, number>> = {};
  for (const [name, p] of Object.entries(value)) {
    const finding = expectOneOf(name, 'a key of prevalence', NIH_FINDINGS);
    out[finding] = expectNumber(p, `prevalence.${finding}`, 0, 0.9);
  }
  return out;
}
