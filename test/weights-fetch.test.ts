// The weight registry and downloads, against a local HTTP server (nothing leaves 127.0.0.1).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native.js';
import { ChecksumError, fetchWeights, importWeights, resolveWeights, weightsCacheDir } from '../src/weights/fetch.js';
import {
  ManifestError,
  assertPreprocessingMatches,
  getWeightsEntry,
  loadManifest,
  validateEntry,
  type WeightsEntry,
} from '../src/weights/manifest.js';

const data = randomBytes(300_000);
const sha = createHash('sha256').update(data).digest('hex');
const requests: { name: string; range?: string }[] = [];
const hits: Record<string, number> = {};
let server: http.Server;
let base: string;
let work: string;

/** Sends the first `n` bytes of a 200 response, then cuts the connection. */
function dropAfter(res: http.ServerResponse, n: number): void {
  res.writeHead(200, { 'content-length': data.length });
  res.write(data.subarray(0, n), () => res.socket?.destroy());
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'torchxfer-fetch-'));
  server = http.createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    requests.push({ name, range: req.headers.range });
    const count = (hits[name] = (hits[name] ?? 0) + 1);
    if (name === 'redirect') {
      res.writeHead(302, { location: '/good' });
      return res.end();
    }
    if (name === 'missing') {
      res.writeHead(404);
      return res.end();
    }
    if ((name === 'flaky' || name === 'norange' || name === 'once') && count === 1) return dropAfter(res, 100_000);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && name !== 'norange') {
      const start = Number(range[1]);
      res.writeHead(206, {
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        'content-length': data.length - start,
      });
      return res.end(data.subarray(start));
    }
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function entry(name: string, extra: Partial<WeightsEntry> = {}): WeightsEntry {
  return validateEntry(name, {
    architecture: 'densenet121',
    url: `${base}/${extra.url ?? name}`,
    fileName: `${name}.pth`,
    sha256: sha,
    container: 'state_dict',
    outputs: 2,
    labels: ['a', 'b'],
    preprocessing: { channels: 1, valueRange: [-1024, 1024], inputSize: 224, mean: [0], std: [1] },
    ...extra,
    ...(extra.url ? { url: `${base}/${extra.url}` } : {}),
  });
}
const quiet = { progressStream: null } as const;
const cache = () => mkdtempSync(join(work, 'cache-'));
const files = (dir: string) => readdirSync(dir).sort();

describe('fetchWeights', () => {
  it('downloads, verifies the sha256, renames into place, and reports progress', async () => {
    const dir = cache();
    const seen: number[] = [];
    const r = await fetchWeights(entry('good'), { cacheDir: dir, ...quiet, onProgress: (n) => seen.push(n) });
    expect(r).toMatchObject({ path: join(dir, 'good.pth'), sha256: sha, verified: true, downloaded: true });
    expect(readFileSync(r.path).equals(data)).toBe(true);
    expect(files(dir)).toEqual(['good.pth']);
    expect(seen.at(-1)).toBe(data.length);
    const again = await fetchWeights(entry('good'), { cacheDir: dir, ...quiet });
    expect(again.downloaded).toBe(false);
  });

  it('resumes a dropped transfer with a Range request', async () => {
    const dir = cache();
    const r = await fetchWeights(entry('flaky'), { cacheDir: dir, ...quiet });
    expect(readFileSync(r.path).equals(data)).toBe(true);
    const ranges = requests.filter((q) => q.name === 'flaky').map((q) => q.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeUndefined();
    expect(Number(/^bytes=(\d+)-$/.exec(ranges[1]!)![1])).toBeGreaterThan(0); // where the dropped transfer stopped
  });

  it('a broken download without retries keeps NAME.partial, and the next fetch resumes it', async () => {
    const dir = cache();
    await expect(fetchWeights(entry('once'), { cacheDir: dir, ...quiet, retries: 0 })).rejects.toThrow(
      /once: connection .*once\.pth\.partial is kept/,
    );
    expect(files(dir)).toEqual(['once.pth.partial']);
    const kept = statSync(join(dir, 'once.pth.partial')).size;
    expect(kept).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'once.pth.partial')).equals(data.subarray(0, kept))).toBe(true);
    const r = await fetchWeights(entry('once'), { cacheDir: dir, ...quiet });
    expect(readFileSync(r.path).equals(data)).toBe(true);
    expect(requests.filter((q) => q.name === 'once').at(-1)!.range).toBe(`bytes=${kept}-`);
    expect(files(dir)).toEqual(['once.pth']);
  });

  it('restarts cleanly when the server ignores ranges', async () => {
    const dir = cache();
    const r = await fetchWeights(entry('norange'), { cacheDir: dir, ...quiet });
    expect(readFileSync(r.path).equals(data)).toBe(true);
    const ranges = requests.filter((q) => q.name === 'norange').map((q) => q.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/); // asked to resume, got the whole file, wrote it from the start
  });

  it('a checksum mismatch is an error that leaves no file', async () => {
    const dir = cache();
    const p = fetchWeights(entry('wrong', { sha256: 'f'.repeat(64), url: 'good' }), { cacheDir: dir, ...quiet });
    await expect(p).rejects.toThrow(ChecksumError);
    await expect(p).rejects.toThrow(/checksum mismatch for wrong .*expected sha256 f{64}, got [0-9a-f]{64}/);
    expect(files(dir)).toEqual([]);
  });

  it('verifies a published prefix, and says when nothing is published', async () => {
    const dir = cache();
    const pre = await fetchWeights(entry('pre', { sha256: undefined, sha256Prefix: sha.slice(0, 8), url: 'good' }), {
      cacheDir: dir,
      ...quiet,
    });
    expect(pre.verified).toBe(true);
    await expect(
      fetchWeights(entry('badpre', { sha256: undefined, sha256Prefix: '00000000', url: 'good' }), {
        cacheDir: dir,
        ...quiet,
      }),
    ).rejects.toThrow(/starting 00000000/);
    const none = await fetchWeights(entry('none', { sha256: null, url: 'good' }), { cacheDir: dir, ...quiet });
    expect(none).toMatchObject({ verified: false, sha256: sha });
  });

  it('concurrent fetches share one download; a live foreign lock refuses, a stale one is taken over', async () => {
    const dir = cache();
    const before = hits.good ?? 0;
    const [a, b] = await Promise.all([
      fetchWeights(entry('good'), { cacheDir: dir, ...quiet }),
      fetchWeights(entry('good'), { cacheDir: dir, ...quiet }),
    ]);
    expect(a).toEqual(b);
    expect(hits.good! - before).toBe(1);
    expect(files(dir)).toEqual(['good.pth']);
    const lock = join(dir, 'locked.pth.lock');
    writeFileSync(lock, String(process.ppid)); // our parent: certainly alive
    await expect(fetchWeights(entry('locked', { url: 'good' }), { cacheDir: dir, ...quiet })).rejects.toThrow(
      /locked: another process \(pid \d+\) is downloading it/,
    );
    writeFileSync(lock, '2147483646'); // no such process
    expect((await fetchWeights(entry('locked', { url: 'good' }), { cacheDir: dir, ...quiet })).verified).toBe(true);
    expect(files(dir)).toEqual(['good.pth', 'locked.pth']);
  });

  it('follows redirects and reports HTTP errors', async () => {
    const dir = cache();
    expect((await fetchWeights(entry('redir', { url: 'redirect' }), { cacheDir: dir, ...quiet })).sha256).toBe(sha);
    await expect(fetchWeights(entry('gone', { url: 'missing' }), { cacheDir: dir, ...quiet })).rejects.toThrow(
      /gone: HTTP 404/,
    );
    expect(files(dir)).toEqual(['redir.pth']);
  });

  it('fetches by name from a manifest file, and resolveWeights passes files through', async () => {
    const dir = cache();
    const manifest = join(work, 'manifest.json');
    const { name: _n, ...raw } = entry('byname', { url: 'good' });
    writeFileSync(manifest, JSON.stringify({ version: 1, weights: { byname: raw } }));
    const path = await resolveWeights('byname', { cacheDir: dir, manifestPath: manifest, ...quiet });
    expect(path).toBe(join(dir, 'byname.pth'));
    expect(await resolveWeights(path, { manifestPath: manifest })).toBe(path);
    await expect(resolveWeights('nothing', { manifestPath: manifest })).rejects.toThrow(
      /'nothing' is neither a file nor a registry name \(known: byname\)/,
    );
  });
});

describe('importWeights', () => {
  it('copies a verified file into the cache; a mismatch leaves the cache untouched', async () => {
    const dir = cache();
    const src = join(work, 'local.pth');
    writeFileSync(src, data);
    const r = await importWeights(src, entry('imp'), { cacheDir: dir });
    expect(r).toMatchObject({ path: join(dir, 'imp.pth'), verified: true });
    const dir2 = cache();
    writeFileSync(src, randomBytes(10));
    await expect(importWeights(src, entry('imp'), { cacheDir: dir2 })).rejects.toThrow(ChecksumError);
    expect(files(dir2)).toEqual([]);
  });

  it('without a name, finds the entry by file name', async () => {
    const dir = cache();
    const manifest = join(work, 'manifest-import.json');
    const { name: _n, ...raw } = entry('byfile');
    writeFileSync(manifest, JSON.stringify({ version: 1, weights: { byfile: raw } }));
    const src = join(mkdtempSync(join(work, 'src-')), 'byfile.pth');
    writeFileSync(src, data);
    expect((await importWeights(src, undefined, { cacheDir: dir, manifestPath: manifest })).name).toBe('byfile');
    writeFileSync(join(work, 'other.pth'), data);
    await expect(
      importWeights(join(work, 'other.pth'), undefined, { cacheDir: dir, manifestPath: manifest }),
    ).rejects.toThrow(/no registry entry has this file name/);
  });
});

describe('the package manifest', () => {
  it('holds the torchvision and TorchXRayVision sets, each valid', () => {
    const m = loadManifest();
    expect([...m.entries.keys()]).toEqual([
      'densenet121-imagenet',
      'resnet50-imagenet',
      'densenet121-res224-all',
      'densenet121-res224-nih',
      'densenet121-res224-chex',
      'densenet121-res224-mimic_ch',
      'densenet121-res224-pc',
      'densenet121-res224-rsna',
      'resnet50-res512-all',
    ]);
    expect(getWeightsEntry('densenet121-imagenet').sha256Prefix).toBe('a639ec97');
    expect(getWeightsEntry('resnet50-res512-all').preprocessing).toMatchObject({
      channels: 1,
      valueRange: [-1024, 1024],
      inputSize: 512,
    });
    expect(() => getWeightsEntry('nope')).toThrow(/unknown weights 'nope'; known: densenet121-imagenet/);
  });

  it('rejects an invalid entry naming the field', () => {
    const { name: _n, ...raw } = entry('x');
    expect(() => validateEntry('x', { ...raw, labels: ['only one'] })).toThrow(ManifestError);
    expect(() => validateEntry('x', { ...raw, labels: ['only one'] })).toThrow(
      /weights 'x' has an invalid labels \(expected 2 strings/,
    );
    expect(() => validateEntry('x', { ...raw, sha256: 'abc' })).toThrow(/invalid sha256/);
    expect(() => validateEntry('x', { ...raw, preprocessing: { ...raw.preprocessing, std: [0] } })).toThrow(
      /preprocessing\.std/,
    );
  });

  it('a pipeline whose preprocessing differs from the weights is an error listing the differences', () => {
    const imagenet = getWeightsEntry('densenet121-imagenet').preprocessing;
    expect(() => assertPreprocessingMatches(imagenet, { ...imagenet })).not.toThrow();
    const xrv = getWeightsEntry('densenet121-res224-all').preprocessing;
    expect(() => assertPreprocessingMatches(imagenet, xrv, 'densenet121-imagenet')).toThrow(
      /preprocessing does not match densenet121-imagenet: channels 1 \(expected 3\); valueRange \[-1024, 1024\] \(expected \[0, 1\]\); mean \[0\]/,
    );
  });

  it('never caches inside the package; TORCHXFER_CACHE moves the cache', () => {
    expect(() => weightsCacheDir(join(packageRoot, 'weights'))).toThrow(/refusing to cache weights inside the package/);
    const old = process.env.TORCHXFER_CACHE;
    process.env.TORCHXFER_CACHE = work;
    try {
      expect(weightsCacheDir()).toBe(join(work, 'weights'));
    } finally {
      if (old === undefined) delete process.env.TORCHXFER_CACHE;
      else process.env.TORCHXFER_CACHE = old;
    }
  });
});

it('no test wrote into the package', () => {
  expect(existsSync(join(packageRoot, 'weights', 'good.pth'))).toBe(false);
});
