/**
 * Downloading registry weights into the cache: NAME.partial first, resumed with an HTTP Range request
 * after a broken transfer (restarted cleanly when the server ignores ranges), sha256-verified, then
 * renamed into place. A checksum mismatch deletes the download and is an error.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';

import { acquirePidLock } from '../lockfile.js';
import { packageRoot } from '../native.js';
import { Progress } from '../progress.js';
import { expectInteger, expectString } from '../validate.js';
import { getWeightsEntry, loadManifest, type WeightsEntry } from './manifest.js';

export class ChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumError';
  }
}

export interface FetchOptions {
  /** Default: $TORCHXFER_CACHE/weights, else ~/.cache/torchxfer/weights. */
  cacheDir?: string;
  /** A manifest other than the package's (e.g. a test server's). */
  manifestPath?: string;
  /** Called as bytes arrive: (bytes so far, total or undefined). */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Where the progress bar goes; null silences it. Default process.stderr. */
  progressStream?: NodeJS.WritableStream | null;
  /** Attempts after a broken transfer, each resuming where the last stopped. Default 3. */
  retries?: number;
}

export interface FetchResult {
  name: string;
  path: string;
  sha256: string;
  /** false when the manifest publishes no hash for this entry (the computed hash is reported). */
  verified: boolean;
  downloaded: boolean;
}

/** The weights cache directory; refuses a directory inside the package (weights never go in the repo). */
export function weightsCacheDir(cacheDir?: string): string {
  const dir = resolve(cacheDir ?? (process.env.TORCHXFER_CACHE ? join(process.env.TORCHXFER_CACHE, 'weights') : join(homedir(), '.cache', 'torchxfer', 'weights')));
  const rel = relative(packageRoot, dir);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) throw new Error(`refusing to cache weights inside the package (${dir}); choose a cacheDir or TORCHXFER_CACHE elsewhere`);
  return dir;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws ChecksumError when `actual` does not match the entry's sha256 (or its published prefix). */
export function checkDigest(entry: WeightsEntry, actual: string, file: string): boolean {
  if (entry.sha256) {
    if (actual !== entry.sha256) throw new ChecksumError(`checksum mismatch for ${entry.name} (${file}): expected sha256 ${entry.sha256}, got ${actual}`);
    return true;
  }
  if (entry.sha256Prefix) {
    if (!actual.startsWith(entry.sha256Prefix)) throw new ChecksumError(`checksum mismatch for ${entry.name} (${file}): expected a sha256 starting ${entry.sha256Prefix}, got ${actual}`);
    return true;
  }
  return false;
}

function resolveEntry(nameOrEntry: string | WeightsEntry, manifestPath?: string): WeightsEntry {
  if (typeof nameOrEntry === 'string') return getWeightsEntry(expectString(nameOrEntry, 'name'), loadManifest(manifestPath));
  return nameOrEntry;
}

interface Attempt {
  complete: boolean;
  error?: Error;
}

/** One GET (following redirects), appending to `partial` from its current size when the server allows. */
function downloadOnce(url: string, partial: string, entry: WeightsEntry, report: (received: number, total?: number) => void, redirects = 0): Promise<Attempt> {
  const have = existsSync(partial) ? statSync(partial).size : 0;
  return new Promise((resolvePromise) => {
    const client = url.startsWith('https:') ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'torchxfer' };
    if (have > 0) headers.range = `bytes=${have}-`;
    const req = client.get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return resolvePromise({ complete: false, error: new Error(`${entry.name}: too many redirects from ${entry.url}`) });
        resolvePromise(downloadOnce(new URL(res.headers.location, url).toString(), partial, entry, report, redirects + 1));
        return;
      }
      let start = 0;
      if (status === 206) {
        const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        start = m ? Number(m[1]) : -1;
        if (start !== have) {
          res.resume();
          unlinkSync(partial);  // a range we did not ask for: start over next attempt
          return resolvePromise({ complete: false, error: new Error(`${entry.name}: server answered an unexpected range`) });
        }
      } else if (status === 416 && have > 0) {
        res.resume();
        unlinkSync(partial);
        return resolvePromise({ complete: false, error: new Error(`${entry.name}: server refused to resume; restarting`) });
      } else if (status !== 200) {
        res.resume();
        return resolvePromise({ complete: true, error: new Error(`${entry.name}: HTTP ${status} from ${url}`) });
      }
      // 200 after a Range request means the server ignores ranges: restart the file cleanly.
      const length = Number(res.headers['content-length']);
      const total = Number.isFinite(length) ? start + length : undefined;
      let received = start;
      const out = createWriteStream(partial, { flags: status === 206 ? 'a' : 'w' });
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        report(received, total);
      });
      let failed: Error | undefined;
      res.on('aborted', () => { failed = new Error(`${entry.name}: connection dropped after ${received} bytes`); });
      res.on('error', (err) => { failed ??= new Error(`${entry.name}: connection dropped after ${received} bytes (${err.message})`); });
      res.pipe(out);
      out.on('error', (err) => resolvePromise({ complete: true, error: new Error(`${entry.name}: cannot write ${partial}: ${err.message}`) }));
      out.on('close', () => {
        if (!failed && total !== undefined && received < total) failed = new Error(`${entry.name}: connection closed after ${received} of ${total} bytes`);
        resolvePromise(failed ? { complete: false, error: failed } : { complete: true });
      });
      res.on('close', () => { if (!res.complete && !failed) failed = new Error(`${entry.name}: connection dropped after ${received} bytes`); out.end(); });
    });
    req.on('error', (err) => resolvePromise({ complete: false, error: new Error(`${entry.name}: ${err.message}`) }));
  });
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}



const inFlight = new Map<string, Promise<FetchResult>>();

/**
 * Downloads registry weights (by name, or an entry object) into the cache unless already there and
 * verified; returns where they are. Concurrent calls for one file share one download.
 */
export function fetchWeights(nameOrEntry: string | WeightsEntry, opts: FetchOptions = {}): Promise<FetchResult> {
  const entry = resolveEntry(nameOrEntry, opts.manifestPath);
  const retries = opts.retries === undefined ? 3 : expectInteger(opts.retries, 'retries', 0, 100);
  const dir = weightsCacheDir(opts.cacheDir);
  const final = join(dir, entry.fileName);
  const pending = inFlight.get(final);
  if (pending) return pending;
  const run = (async () => {
    mkdirSync(dir, { recursive: true });
    const release = acquirePidLock(`${final}.lock`, (pid) => `${entry.name}: another process (pid ${pid}) is downloading it; wait for it, or delete ${final}.lock if that is wrong`);
    try {
      return await fetchLocked(entry, final, retries, opts);
    } finally {
      release();
    }
  })().finally(() => inFlight.delete(final));
  inFlight.set(final, run);
  return run;
}

async function fetchLocked(entry: WeightsEntry, final: string, retries: number, opts: FetchOptions): Promise<FetchResult> {
  const partial = `${final}.partial`;
  if (existsSync(final)) {
    const digest = await sha256File(final);
    try {
      return { name: entry.name, path: final, sha256: digest, verified: checkDigest(entry, digest, final), downloaded: false };
    } catch (err) {
      if (!(err instanceof ChecksumError)) throw err;
      unlinkSync(final);  // a stale or damaged copy: download again
    }
  }
  let bar: Progress | undefined;
  const report = (received: number, total?: number) => {
    if (total !== undefined && opts.progressStream !== null && !bar) bar = new Progress({ total, label: `fetch ${entry.name}`, unit: 'B', stream: opts.progressStream });
    if (bar) bar.tick(received - bar.completed);
    opts.onProgress?.(received, total);
  };
  let attempt: Attempt = { complete: false };
  for (let i = 0; i <= retries; i++) {
    attempt = await downloadOnce(entry.url, partial, entry, report);
    if (attempt.complete) break;
  }
  if (attempt.error) {
    bar?.finish('failed');
    throw new Error(`${attempt.error.message}${existsSync(partial) ? `; ${partial} is kept and the next fetch resumes it` : ''}`);
  }
  bar?.finish();
  const digest = await sha256File(partial);
  try {
    const verified = checkDigest(entry, digest, partial);
    fsyncFile(partial);
    renameSync(partial, final);
    return { name: entry.name, path: final, sha256: digest, verified, downloaded: true };
  } catch (err) {
    if (existsSync(partial)) unlinkSync(partial);
    throw err;
  }
}

/**
 * Copies a local file into the cache under a registry name after verifying its checksum. Without a
 * name, the entry whose fileName is the file's name is used.
 */
export async function importWeights(file: string, name?: string | WeightsEntry, opts: Pick<FetchOptions, 'cacheDir' | 'manifestPath'> = {}): Promise<FetchResult> {
  const source = resolve(expectString(file, 'file'));
  if (!existsSync(source)) throw new Error(`${source}: no such file`);
  let entry: WeightsEntry;
  if (name === undefined) {
    const found = [...loadManifest(opts.manifestPath).entries.values()].find((e) => e.fileName === basename(source));
    if (!found) throw new Error(`${source}: no registry entry has this file name; give the registry name (--name)`);
    entry = found;
  } else {
    entry = resolveEntry(name, opts.manifestPath);
  }
  const digest = await sha256File(source);
  const verified = checkDigest(entry, digest, source);
  const dir = weightsCacheDir(opts.cacheDir);
  mkdirSync(dir, { recursive: true });
  const final = join(dir, entry.fileName);
  const partial = `${final}.partial`;
  try {
    copyFileSync(source, partial);
    fsyncFile(partial);
    renameSync(partial, final);
  } catch (err) {
    if (existsSync(partial)) unlinkSync(partial);
    throw err;
  }
  return { name: entry.name, path: final, sha256: digest, verified, downloaded: false };
}

/** A local path for `nameOrPath`: an existing file as is, or a registry name fetched into the cache. */
export async function resolveWeights(nameOrPath: string, opts: FetchOptions = {}): Promise<string> {
  expectString(nameOrPath, 'weights');
  if (existsSync(nameOrPath) && statSync(nameOrPath).isFile()) return resolve(nameOrPath);
  const manifest = loadManifest(opts.manifestPath);
  if (!manifest.entries.has(nameOrPath)) {
    throw new Error(`weights '${nameOrPath}' is neither a file nor a registry name (known: ${[...manifest.entries.keys()].join(', ')})`);
  }
  return (await fetchWeights(nameOrPath, opts)).path;
}
