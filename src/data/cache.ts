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
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
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

/** Image caches opened and not yet closed in this process (leak checks). */
let openCaches = 0;

/** How many ImageCaches are open now: a run releases its cache on every path (tests check it). */
export function openImageCaches(): number {
  return openCaches;
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
    this.requested = requested ?? {
      name: index.dataset,
      labels: [],
      samples: index.sources.map((s) => ({ id: s.id, path: s.path, patientId: '', targets: [] })),
      skipped: [],
    };
    this.frameBytes = index.geometry.width * index.geometry.height;
    if (index.bytes <= inMemoryBytes) this.memory = new Uint8Array(readFileSync(binPath));
    else this.fd = openSync(binPath, 'r');
    openCaches++;
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
    return [
      ...this.requested.skipped.map((s) => ({ id: '', path: s.path, reason: s.reason })),
      ...this.index.skipped.filter((s) => ids.has(s.id)),
    ];
  }

  /** Row of a sample id; undefined when the sample was skipped or is not in this cache. */
  rowOf(id: string): number | undefined {
    return this.rowById.get(id);
  }

  /** Rows of samples, in order; an error naming the first sample with no row. */
  rowsOf(samples: Sample[]): number[] {
    return samples.map((s) => {
      const r = this.rowById.get(s.id);
      if (r === undefined)
        throw new DataError(
          s.path,
          `sample '${s.id}' has no image in the cache (skipped, or not in dataset ${this.requested.name})`,
        );
      return r;
    });
  }

  /** Pixels of the given rows, concatenated (rows x height x width uint8), without re-decoding. */
  readBatch(indices: number[], out?: Uint8Array): Uint8Array {
    const frame = this.frameBytes;
    const need = indices.length * frame;
    if (out !== undefined && out.length < need)
      throw new OptionError('out', `a Uint8Array of at least ${need} bytes`, out);
    const dst = out ?? new Uint8Array(need);
    indices.forEach((row, k) => {
      if (!Number.isInteger(row) || row < 0 || row >= this.length)
        throw new OptionError(`indices[${k}]`, `an integer between 0 and ${this.length - 1}`, row);
      if (this.memory) dst.set(this.memory.subarray(row * frame, (row + 1) * frame), k * frame);
      else readSync(this.fd!, dst, k * frame, frame, row * frame);
    });
    return dst;
  }

  /** Human-readable summary: counts and every skipped file with its reason. */
  report(): string {
    const skipped = this.skipped;
    const lines = [
      `${this.requested.name}: ${this.stored} images cached at ${this.geometry.width}x${this.geometry.height} (${this.binPath}), ${skipped.length} skipped`,
    ];
    for (const s of skipped) lines.push(`  skipped ${s.path}: ${s.reason}`);
    return lines.join('\n');
  }

  close(): void {
    if (this.fd !== undefined || this.memory !== undefined) openCaches--;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.memory = undefined;
  }
}

/** Opens the cache of `ds`, building (or rebuilding) it when missing, stale or corrupt. */
export async function openCache(ds: Dataset, opts: CacheOptions): Promise<ImageCache> {
  const o = resolveOptions(opts);
  mkdirSync(o.dir, { recursive: true });
  const { binPath, indexPath } = cachePaths(ds, o);
  // One build of a cache file at a time in this process (two runs opening one dataset would race on its temp file).
  return withPathLock(binPath, async () => {
    const plan = await planBuild(ds, o, binPath, indexPath);
    if (plan.upToDate) return new ImageCache(binPath, plan.upToDate, false, o.inMemoryBytes, ds);
    removeStaleTemps(o.dir, [binPath, indexPath]);
    const index = await buildCache(ds, o, plan, binPath, indexPath);
    const cache = new ImageCache(binPath, index, true, o.inMemoryBytes, ds);
    cache.reused = plan.reused;
    return cache;
  });
}

interface ResolvedOptions {
  dir: string;
  geometry: ImageGeometry;
  decode: ReturnType<typeof validateDecodeOptions>;
  version: string;
  concurrency: number;
  inMemoryBytes: number;
  verify: boolean;
  progress: NodeJS.WritableStream | null | undefined;
}

function resolveOptions(opts: CacheOptions): ResolvedOptions {
  const dir = expectString(opts.dir, 'dir');
  const geometry = opts.geometry ?? { width: 250, height: 250 };
  const decode = validateDecodeOptions({
    width: geometry.width,
    height: geometry.height,
    window: opts.window,
    maxPixels: opts.maxPixels,
  });
  expectInteger(geometry.width, 'geometry.width', 1, 65535);
  expectInteger(geometry.height, 'geometry.height', 1, 65535);
  return {
    dir,
    geometry: { width: geometry.width, height: geometry.height },
    decode,
    version: opts.version ?? PREPROCESS_VERSION,
    concurrency:
      opts.concurrency === undefined ? availableParallelism() : expectInteger(opts.concurrency, 'concurrency', 1, 256),
    inMemoryBytes:
      opts.inMemoryBytes === undefined ? 512 * 2 ** 20 : expectInteger(opts.inMemoryBytes, 'inMemoryBytes', 0),
    verify: opts.verify !== false,
    progress: opts.progress,
  };
}

/**
 * The cache's file names. Pixels depend only on the files, so datasets read from one root share a
 * cache (NIH and its ChestX-ray13 view, CheXpert under any uncertainty policy); without a root the name keys it.
 */
function cachePaths(ds: Dataset, o: ResolvedOptions): { binPath: string; indexPath: string } {
  const { geometry } = o;
  const source = ds.root ?? ds.name;
  const key = createHash('sha256')
    .update(JSON.stringify([source, geometry.width, geometry.height, o.version, o.decode.window]))
    .digest('hex')
    .slice(0, 12);
  const readable = (ds.root ? basename(ds.root) : ds.name).replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60);
  const stem = join(o.dir, `${readable}-${geometry.width}x${geometry.height}-${key}`);
  return { binPath: `${stem}.u8`, indexPath: `${stem}.json` };
}

type PriorRow = { row: number; stamp: SourceStamp };

interface BuildPlan {
  /** The existing index when it holds every requested sample unchanged (nothing to build). */
  upToDate?: CacheIndex;
  /** Rows to write, in order: the requested samples, then still-valid rows of samples not requested now. */
  rows: SourceStamp[];
  /** Rows of the previous build whose pixels can be copied, by sample id. */
  reuse: Map<string, PriorRow>;
  /** Rows copied by the build (set by buildCache). */
  reused: number;
}

/**
 * Reuse the cache when it holds every requested sample unchanged; else rebuild it as the union of
 * its still-valid rows (copied, after checking the old pixels' checksum) and the new samples.
 */
async function planBuild(ds: Dataset, o: ResolvedOptions, binPath: string, indexPath: string): Promise<BuildPlan> {
  const stamps = ds.samples.map(stampOf);
  const prior = readIndex(indexPath, binPath);
  const priorRows = new Map<string, PriorRow>();
  prior?.sources.forEach((stamp, row) => priorRows.set(stamp.id, { row, stamp }));
  const covered =
    prior !== undefined &&
    stamps.every((st) => {
      const p = priorRows.get(st.id);
      return p !== undefined && sameStamp(p.stamp, st);
    });
  const intact = prior !== undefined && ((covered && !o.verify) || (await sha256File(binPath)) === prior.sha256);
  const plan: BuildPlan = { rows: stamps.slice(), reuse: new Map(), reused: 0 };
  if (covered && intact) return { ...plan, upToDate: prior };
  if (prior && intact) {
    for (const [id, p] of priorRows) if (prior.ids[p.row] !== null) plan.reuse.set(id, p);
    // Keep the rows of samples not requested now (other experiments' images) while their files are unchanged.
    const requested = new Set(stamps.map((st) => st.id));
    for (const [id, p] of priorRows) {
      if (requested.has(id)) continue;
      const now = stampOf({ id, path: p.stamp.path, patientId: '', targets: [] });
      if (sameStamp(now, p.stamp)) plan.rows.push(now);
    }
  }
  return plan;
}

/** Writes the pixels to a temp file, then its index, and renames both into place (pixels first, index last). */
async function buildCache(
  ds: Dataset,
  o: ResolvedOptions,
  plan: BuildPlan,
  binPath: string,
  indexPath: string,
): Promise<CacheIndex> {
  const { rows } = plan;
  const frame = o.geometry.width * o.geometry.height;
  const tmpBin = `${binPath}.tmp-${process.pid}`;
  const tmpIndex = `${indexPath}.tmp-${process.pid}`;
  const progress = new Progress({ total: rows.length, label: `cache ${ds.name}`, unit: 'img', stream: o.progress });
  const fh = await open(tmpBin, 'w');
  const old = plan.reuse.size > 0 ? await open(binPath, 'r') : undefined;
  let written: WrittenRows;
  try {
    await fh.truncate(rows.length * frame);
    written = await writeRows(plan, o, { fh, old, frame, progress });
    await fh.sync();
  } catch (err) {
    await fh.close();
    await old?.close();
    rmSync(tmpBin, { force: true });
    throw err;
  }
  await fh.close();
  await old?.close();
  const { ids, skipped, multiFrame } = written;
  const notes = [
    plan.reused ? `${plan.reused} reused from the previous cache` : '',
    multiFrame ? `${multiFrame} multi-frame DICOM file(s): frame 1 used` : '',
    skipped.length ? `${skipped.length} image(s) skipped; see the cache report` : '',
  ].filter(Boolean);
  progress.finish(notes.length ? notes.join('; ') : undefined);
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  const index: CacheIndex = {
    format: INDEX_FORMAT,
    dataset: ds.name,
    version: o.version,
    geometry: o.geometry,
    window: o.decode.window,
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
  return index;
}

interface WrittenRows {
  /** Row i holds ids[i]; null where the image was skipped. */
  ids: (string | null)[];
  skipped: CacheIndex['skipped'];
  multiFrame: number;
}

interface RowSink {
  fh: FileHandle;
  /** The previous build's pixels, when rows can be copied from it. */
  old: FileHandle | undefined;
  frame: number;
  progress: Progress;
}

/**
 * Fills every row, `o.concurrency` at a time: copied from the previous build when its file is
 * unchanged, else decoded. Undecodable images (DataError) are skipped and listed; any other error stops all.
 */
async function writeRows(plan: BuildPlan, o: ResolvedOptions, sink: RowSink): Promise<WrittenRows> {
  const { rows, reuse } = plan;
  const { fh, old, frame, progress } = sink;
  const out: WrittenRows = { ids: rows.map((s) => s.id), skipped: [], multiFrame: 0 };
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
          plan.reused++;
        } else {
          const img = await decodeGrey(s.path, o.decode);
          if (img.frames) out.multiFrame++;
          await fh.write(img.data, 0, frame, i * frame);
        }
      } catch (err) {
        if (!(err instanceof DataError)) {
          failed = true;
          throw err;
        }
        out.ids[i] = null;
        out.skipped.push({
          id: s.id,
          path: s.path,
          reason: err.message.startsWith(`${s.path}: `) ? err.message.slice(s.path.length + 2) : err.message,
        });
      }
      progress.tick(1, { skipped: out.skipped.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, Math.max(1, rows.length)) }, worker));
  return out;
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
    if (index.format !== INDEX_FORMAT || !Array.isArray(index.ids) || index.ids.length !== index.sources.length)
      return undefined;
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
