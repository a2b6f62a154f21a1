/**
 * The preprocessing cache: every image of a dataset decoded once per (dataset, geometry, preprocessing
 * version) into `<key>.u8` (uint8 rows of height x width) plus `<key>.json` (row ids, sources with size
 * and mtime, geometry, skipped files with reasons, a sha256 of the pixels).
 * The cache grows: opening it for samples it already holds (same files, same size and mtime) reuses it
 * as is, even for a subset (one experiment's splits); new or changed samples trigger a rebuild that
 * copies every still-valid row and decodes only the rest. Builds write temp files and rename them
 * (pixels first, index last) so an interrupted build never leaves a cache that opens. Unreadable
 * images are skipped and listed, never fatal: their rows stay zero and are marked null in `ids`.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';

import { OptionError } from '../errors.js';
import { Progress } from '../progress.js';
import { expectInteger, expectString } from '../validate.js';
import { decodeGrey, validateDecodeOptions, type Window } from './decode.js';
import { DataError } from './errors.js';
import type { Dataset, ImageGeometry, Sample } from './types.js';
import { isAlive } from '../lockfile.js';

/** Bump when decoding changes what pixels come out, so old caches are rebuilt. */
export const PREPROCESS_VERSION = '2'; // 2: compressed DICOM decoded (was skipped)
const INDEX_FORMAT = 1;

export interface CacheOptions {
  /** Directory holding cache files (created when missing). */
  dir: string;
  geometry?: ImageGeometry;
  window?: Window;
  /** Preprocessing version (default PREPROCESS_VERSION). */
  version?: string;
  /** Images decoded at once (default: available cores). */
  concurrency?: number;
  /** Verify the pixels' sha256 on open (default true). */
  verify?: boolean;
  /** Pixel files up to this many bytes are read into memory on open (default 512 MiB). */
  inMemoryBytes?: number;
  maxPixels?: number;
  /** Progress output; null silences it (default stderr). */
  progress?: NodeJS.WritableStream | null;
}

interface SourceStamp {
  id: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface CacheIndex {
  format: number;
  dataset: string;
  version: string;
  geometry: ImageGeometry;
  window: Window;
  /** Row i holds sample ids[i]; null where the image was skipped. */
  ids: (string | null)[];
  sources: SourceStamp[];
  skipped: { id: string; path: string; reason: string }[];
  sha256: string;
  bytes: number;
  createdAt: string;
}

export class ImageCache {
  private readonly rowById = new Map<string, number>();
  private fd: number | undefined;
  private memory: Uint8Array | undefined;
  readonly frameBytes: number;
  /** Rows copied from the previous build instead of decoded (0 unless rebuilt after a change). */
  reused = 0;

  private readonly requested: Dataset;

  constructor(
    readonly binPath: string,
    readonly index: CacheIndex,
    /** True when this open decoded images (false: reused as is). */
    readonly built: boolean,
    inMemoryBytes: number,
    /** The dataset this cache was opened for (skipped files and the report are about its samples). */
    requested?: Dataset,
  ) {
    index.ids.forEach((id, i) => id !== null && this.rowById.set(id, i));
    this.requested = requested ?? { name: index.dataset, labels: [], samples: index.sources.map((s) => ({ id: s.id, path: s.path, patientId: '', targets: [] })), skipped: [] };
    this.frameBytes = index.geometry.width * index.geometry.height;
    if (index.bytes <= inMemoryBytes) this.memory = new Uint8Array(readFileSync(binPath));
    else this.fd = openSync(binPath, 'r');
  }

  get geometry(): ImageGeometry {
    return this.index.geometry;
  }

  /** Rows (stored or not). */
  get length(): number {
    return this.index.ids.length;
  }

  /** Samples of the requested dataset that have an image in the cache. */
  get stored(): number {
    return this.requested.samples.filter((s) => this.rowById.has(s.id)).length;
  }

  /** Files of the requested dataset that have no image: dropped by its reader (id '') or undecodable. */
  get skipped(): CacheIndex['skipped'] {
    const ids = new Set(this.requested.samples.map((s) => s.id));
    return [...this.requested.skipped.map((s) => ({ id: '', path: s.path, reason: s.reason })), ...this.index.skipped.filter((s) => ids.has(s.id))];
  }

  /** Row of a sample id; undefined when the sample was skipped or is not in this cache. */
  rowOf(id: string): number | undefined {
    return this.rowById.get(id);
  }

  /** Rows of samples, in order; an error naming the first sample with no row. */
  rowsOf(samples: Sample[]): number[] {
    return samples.map((s) => {
      const r = this.rowById.get(s.id);
      if (r === undefined) throw new DataError(s.path, `sample '${s.id}' has no image in the cache (skipped, or not in dataset ${this.requested.name})`);
      return r;
    });
  }

  /** Pixels of the given rows, concatenated (rows x height x width uint8), without re-decoding. */
  readBatch(indices: number[], out?: Uint8Array): Uint8Array {
    const frame = this.frameBytes;
    const need = indices.length * frame;
    if (out !== undefined && out.length < need) throw new OptionError('out', `a Uint8Array of at least ${need} bytes`, out);
    const dst = out ?? new Uint8Array(need);
    indices.forEach((row, k) => {
      if (!Number.isInteger(row) || row < 0 || row >= this.length) throw new OptionError(`indices[${k}]`, `an integer between 0 and ${this.length - 1}`, row);
      if (this.memory) dst.set(this.memory.subarray(row * frame, (row + 1) * frame), k * frame);
      else readSync(this.fd!, dst, k * frame, frame, row * frame);
    });
    return dst;
  }

  /** Human-readable summary: counts and every skipped file with its reason. */
  report(): string {
    const skipped = this.skipped;
    const lines = [`${this.requested.name}: ${this.stored} images cached at ${this.geometry.width}x${this.geometry.height} (${this.binPath}), ${skipped.length} skipped`];
    for (const s of skipped) lines.push(`  skipped ${s.path}: ${s.reason}`);
    return lines.join('\n');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.memory = undefined;
  }
}

/** Opens the cache of `ds`, building (or rebuilding) it when missing, stale or corrupt. */
export async function openCache(ds: Dataset, opts: CacheOptions): Promise<ImageCache> {
  const dir = expectString(opts.dir, 'dir');
  const geometry = opts.geometry ?? { width: 250, height: 250 };
  const decode = validateDecodeOptions({ width: geometry.width, height: geometry.height, window: opts.window, maxPixels: opts.maxPixels });
  expectInteger(geometry.width, 'geometry.width', 1, 65535);
  expectInteger(geometry.height, 'geometry.height', 1, 65535);
  const version = opts.version ?? PREPROCESS_VERSION;
  const concurrency = opts.concurrency === undefined ? availableParallelism() : expectInteger(opts.concurrency, 'concurrency', 1, 256);
  const inMemoryBytes = opts.inMemoryBytes === undefined ? 512 * 2 ** 20 : expectInteger(opts.inMemoryBytes, 'inMemoryBytes', 0);
  mkdirSync(dir, { recursive: true });
  // Pixels depend only on the files, so datasets read from one root share a cache (NIH and its
  // ChestX-ray13 view, CheXpert under any uncertainty policy); without a root the name keys it.
  const source = ds.root ?? ds.name;
  const key = createHash('sha256').update(JSON.stringify([source, geometry.width, geometry.height, version, decode.window])).digest('hex').slice(0, 12);
  const readable = (ds.root ? basename(ds.root) : ds.name).replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60);
  const stem = join(dir, `${readable}-${geometry.width}x${geometry.height}-${key}`);
  const binPath = `${stem}.u8`;
  // One build of a cache file at a time in this process (two runs opening one dataset would race on its temp file).
  return withPathLock(binPath, async () => {
    const indexPath = `${stem}.json`;
    const stamps = ds.samples.map(stampOf);

    // Reuse the cache when it holds every requested sample unchanged; else rebuild it as the union of
    // its still-valid rows (copied, after checking the old pixels' checksum) and the new samples.
    const prior = readIndex(indexPath, binPath);
    const priorRows = new Map<string, { row: number; stamp: SourceStamp }>();
    prior?.sources.forEach((stamp, row) => priorRows.set(stamp.id, { row, stamp }));
    const covered = prior !== undefined && stamps.every((st) => {
      const p = priorRows.get(st.id);
      return p !== undefined && sameStamp(p.stamp, st);
    });
    const intact = prior !== undefined && ((covered && opts.verify === false) || (await sha256File(binPath)) === prior.sha256);
    if (covered && intact) return new ImageCache(binPath, prior, false, inMemoryBytes, ds);
    const reuse = new Map<string, { row: number; stamp: SourceStamp }>();
    const rows = stamps.slice();
    if (prior && intact) {
      for (const [id, p] of priorRows) if (prior.ids[p.row] !== null) reuse.set(id, p);
      // Keep the rows of samples not requested now (other experiments' images) while their files are unchanged.
      const requested = new Set(stamps.map((st) => st.id));
      for (const [id, p] of priorRows) {
        if (requested.has(id)) continue;
        const now = stampOf({ id, path: p.stamp.path, patientId: '', targets: [] });
        if (sameStamp(now, p.stamp)) rows.push(now);
      }
    }
    removeStaleTemps(dir, [binPath, indexPath]);

    const frame = geometry.width * geometry.height;
    const tmpBin = `${binPath}.tmp-${process.pid}`;
    const tmpIndex = `${indexPath}.tmp-${process.pid}`;
    const skipped: CacheIndex['skipped'] = [];
    const ids: (string | null)[] = rows.map((s) => s.id);
    const progress = new Progress({ total: rows.length, label: `cache ${ds.name}`, unit: 'img', stream: opts.progress });
    const fh = await open(tmpBin, 'w');
    const old = reuse.size > 0 ? await open(binPath, 'r') : undefined;
    let reused = 0;
    let multiFrame = 0;
    try {
      await fh.truncate(rows.length * frame);
      let next = 0;
      let failed = false;
      const worker = async () => {
        for (let i = next++; i < rows.length && !failed; i = next++) {
          const s = rows[i];
          try {
            const before = reuse.get(s.id);
            if (old && before && sameStamp(before.stamp, s)) {
              const buf = new Uint8Array(frame);
              await old.read(buf, 0, frame, before.row * frame);
              await fh.write(buf, 0, frame, i * frame);
              reused++;
            } else {
              const img = await decodeGrey(s.path, decode);
              if (img.frames) multiFrame++;
              await fh.write(img.data, 0, frame, i * frame);
            }
          } catch (err) {
            if (!(err instanceof DataError)) {
              failed = true;
              throw err;
            }
            ids[i] = null;
            skipped.push({ id: s.id, path: s.path, reason: err.message.startsWith(`${s.path}: `) ? err.message.slice(s.path.length + 2) : err.message });
          }
          progress.tick(1, { skipped: skipped.length });
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, rows.length)) }, worker));
      await fh.sync();
    } catch (err) {
      await fh.close();
      await old?.close();
      rmSync(tmpBin, { force: true });
      throw err;
    }
    await fh.close();
    await old?.close();
    const notes = [reused ? `${reused} reused from the previous cache` : '', multiFrame ? `${multiFrame} multi-frame DICOM file(s): frame 1 used` : '', skipped.length ? `${skipped.length} image(s) skipped; see the cache report` : ''].filter(Boolean);
    progress.finish(notes.length ? notes.join('; ') : undefined);
    skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
    const index: CacheIndex = {
      format: INDEX_FORMAT,
      dataset: ds.name,
      version,
      geometry: { width: geometry.width, height: geometry.height },
      window: decode.window,
      ids,
      sources: rows,
      skipped,
      sha256: await sha256File(tmpBin),
      bytes: rows.length * frame,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(tmpIndex, JSON.stringify(index));
    renameSync(tmpBin, binPath);
    renameSync(tmpIndex, indexPath);
    hashed.set(hashKey(binPath), index.sha256);
    const cache = new ImageCache(binPath, index, true, inMemoryBytes, ds);
    cache.reused = reused;
    return cache;
  });
}

function stampOf(s: Sample): SourceStamp {
  try {
    const st = statSync(s.path);
    return { id: s.id, path: s.path, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { id: s.id, path: s.path, size: -1, mtimeMs: -1 };
  }
}

/** A previous build's index when it parses and its pixel file has the recorded size; else undefined. */
function readIndex(indexPath: string, binPath: string): CacheIndex | undefined {
  if (!existsSync(indexPath) || !existsSync(binPath)) return undefined;
  try {
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as CacheIndex;
    if (index.format !== INDEX_FORMAT || !Array.isArray(index.ids) || index.ids.length !== index.sources.length) return undefined;
    return statSync(binPath).size === index.bytes ? index : undefined;
  } catch {
    return undefined;
  }
}

function sameStamp(a: SourceStamp, b: SourceStamp): boolean {
  return a.id === b.id && a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Temp files of builds whose process is gone (killed mid-build) are removed. */
function removeStaleTemps(dir: string, finals: string[]): void {
  for (const f of readdirSync(dir)) {
    const full = join(dir, f);
    const m = /\.tmp-(\d+)$/.exec(f);
    if (!m || !finals.some((p) => full.startsWith(`${p}.tmp-`))) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !isAlive(pid)) rmSync(full, { force: true });
  }
}


/** Checksums already computed in this process, by path, size and mtime: an experiment runner opens
 * the same (possibly multi-GB) cache once per run and should hash it once. */
const hashed = new Map<string, string>();

function hashKey(path: string): string {
  const st = statSync(path);
  return `${path}\u0000${st.size}\u0000${st.mtimeMs}\u0000${st.ino}`;
}

async function sha256File(path: string): Promise<string> {
  const known = hashed.get(hashKey(path));
  if (known) return known;
  const hex = await hashStream(path);
  hashed.set(hashKey(path), hex);
  return hex;
}

function hashStream(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 4 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

const pathLocks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call for the same path has settled. */
async function withPathLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = pathLocks.get(path) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(fn);
  pathLocks.set(path, mine);
  try {
    return await mine;
  } finally {
    if (pathLocks.get(path) === mine) pathLocks.delete(path);
  }
}
