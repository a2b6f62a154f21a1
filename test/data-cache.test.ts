// The preprocessing cache: decode once, reuse, rebuild on source change or corruption, atomic
// writes, skipped files listed, batches equal to decoding, positioned reads equal to in-memory ones.
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { openCache } from '../src/data/cache.js';
import { decodeGrey } from '../src/data/decode.js';
import type { Dataset } from '../src/data/types.js';
import { tempDir, writePng } from './helpers/data-fixtures.js';

async function fixture(): Promise<{ ds: Dataset; dir: string }> {
  const dir = tempDir('cache');
  const samples = [];
  for (let i = 0; i < 6; i++) {
    const path = join(dir, 'img', `${i}.png`);
    await writePng(path, i, 40 + i, 30);
    samples.push({ id: `${i}.png`, path, patientId: `p${i}`, targets: [i % 2] });
  }
  writeFileSync(samples[2].path, 'not an image');
  samples.push({ id: 'gone.png', path: join(dir, 'img', 'gone.png'), patientId: 'p9', targets: [0] });
  const ds: Dataset = {
    name: 'toy',
    labels: ['x'],
    samples,
    skipped: [{ path: join(dir, 'img', 'dropped.png'), reason: 'file not found' }],
  };
  return { ds, dir };
}

const geometry = { width: 20, height: 16 };

describe('image cache', () => {
  it('stores decoded images, skips and lists bad files, reads batches equal to decoding', async () => {
    const { ds, dir } = await fixture();
    const cache = await openCache(ds, { dir: join(dir, 'cache'), geometry, progress: null });
    expect(cache.built).toBe(true);
    expect(cache.length).toBe(7);
    expect(cache.skipped.map((s) => [s.path.split('/').pop(), s.reason])).toEqual([
      ['dropped.png', 'file not found'],
      ['2.png', 'not a PNG, JPEG or DICOM image (its first bytes match none of their signatures)'],
      ['gone.png', 'file not found'],
    ]);
    expect(cache.report()).toMatch(/toy: 5 images cached at 20x16 .*, 3 skipped/);
    expect(cache.rowOf('2.png')).toBeUndefined();
    expect(() => cache.rowsOf([ds.samples[2]])).toThrow("sample '2.png' has no image in the cache");
    const rows = cache.rowsOf([ds.samples[5], ds.samples[0], ds.samples[5]]);
    const batch = cache.readBatch(rows);
    expect(batch.length).toBe(3 * 20 * 16);
    const five = await decodeGrey(ds.samples[5].path, geometry);
    const zero = await decodeGrey(ds.samples[0].path, geometry);
    expect(Array.from(batch.subarray(0, 320))).toEqual(Array.from(five.data));
    expect(Array.from(batch.subarray(320, 640))).toEqual(Array.from(zero.data));
    expect(Array.from(batch.subarray(640))).toEqual(Array.from(five.data));
    expect(() => cache.readBatch([7])).toThrow('Expected an integer between 0 and 6 for indices[0] but received 7');
    cache.close();

    // Positioned reads (file larger than the in-memory limit) give the same bytes, into a given buffer.
    const onDisk = await openCache(ds, { dir: join(dir, 'cache'), geometry, progress: null, inMemoryBytes: 0 });
    expect(onDisk.built).toBe(false);
    const out = new Uint8Array(3 * 320);
    expect(onDisk.readBatch(rows, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(batch));
    onDisk.close();
  });

  it('is reused when sources are unchanged, rebuilt when one changes or the pixels are corrupt', async () => {
    const { ds, dir } = await fixture();
    const cdir = join(dir, 'cache');
    (await openCache(ds, { dir: cdir, geometry, progress: null })).close();
    const again = await openCache(ds, { dir: cdir, geometry, progress: null });
    expect(again.built).toBe(false);
    again.close();

    await writePng(ds.samples[1].path, 99, 41, 30);
    utimesSync(ds.samples[1].path, new Date(), new Date(Date.now() + 5000));
    const rebuilt = await openCache(ds, { dir: cdir, geometry, progress: null });
    expect(rebuilt.built).toBe(true);
    expect(rebuilt.reused).toBe(4); // rows 0, 3, 4, 5 copied; 1 decoded again; 2 and gone still skipped
    expect(Array.from(rebuilt.readBatch([3]))).toEqual(
      Array.from((await decodeGrey(ds.samples[3].path, geometry)).data),
    );
    const one = await decodeGrey(ds.samples[1].path, geometry);
    expect(Array.from(rebuilt.readBatch([1]))).toEqual(Array.from(one.data));
    rebuilt.close();

    const bin = readdirSync(cdir).find((f) => f.endsWith('.u8'))!;
    const bytes = readFileSync(join(cdir, bin));
    bytes[100] ^= 0xff;
    writeFileSync(join(cdir, bin), bytes);
    const repaired = await openCache(ds, { dir: cdir, geometry, progress: null });
    expect(repaired.built).toBe(true);
    expect(repaired.reused).toBe(0); // the corrupt pixels are never copied
    expect(Array.from(repaired.readBatch([0]))).toEqual(
      Array.from((await decodeGrey(ds.samples[0].path, geometry)).data),
    );
    repaired.close();

    // Another geometry is another cache; no temp files are left behind.
    const small = await openCache(ds, { dir: cdir, geometry: { width: 10, height: 10 }, progress: null });
    expect(small.built).toBe(true);
    expect(small.readBatch([0]).length).toBe(100);
    small.close();
    expect(readdirSync(cdir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(cdir).filter((f) => f.endsWith('.json')).length).toBe(2);
  });

  it('grows: a subset reuses the cache as is, a superset decodes only the new images and keeps the old rows', async () => {
    const { ds, dir } = await fixture();
    const cdir = join(dir, 'cache');
    const part = (ids: string[]): Dataset => ({
      ...ds,
      samples: ds.samples.filter((s) => ids.includes(s.id)),
      skipped: [],
    });
    const first = await openCache(part(['0.png', '1.png', '2.png']), { dir: cdir, geometry, progress: null });
    expect(first.built).toBe(true);
    expect(first.skipped.map((s) => s.id)).toEqual(['2.png']);
    first.close();
    const subset = await openCache(part(['1.png']), { dir: cdir, geometry, progress: null });
    expect(subset.built).toBe(false);
    expect(subset.skipped).toEqual([]); // 2.png is not asked for
    expect(subset.report()).toMatch(/toy: 1 images cached/);
    subset.close();
    const other = await openCache(part(['3.png', '4.png']), { dir: cdir, geometry, progress: null });
    expect(other.built).toBe(true);
    expect(other.reused).toBe(2); // 0.png and 1.png carried over, 3.png and 4.png decoded
    expect(other.rowOf('0.png')).toBeDefined();
    other.close();
    const back = await openCache(part(['0.png', '1.png', '3.png']), { dir: cdir, geometry, progress: null });
    expect(back.built).toBe(false);
    const rows = back.rowsOf(part(['0.png', '1.png', '3.png']).samples);
    const expected = await Promise.all(
      ['0.png', '1.png', '3.png'].map((id) => decodeGrey(join(dir, 'img', id), geometry)),
    );
    expect(Array.from(back.readBatch(rows))).toEqual(expected.flatMap((e) => Array.from(e.data)));
    back.close();
  });

  it('datasets read from one root share a cache; another root with the same name does not', async () => {
    const { ds, dir } = await fixture();
    const cdir = join(dir, 'cache');
    const nih: Dataset = { ...ds, name: 'nih', root: join(dir, 'img') };
    (await openCache(nih, { dir: cdir, geometry, progress: null })).close();
    const view = await openCache(
      { ...nih, name: 'nih-without-Emphysema', samples: nih.samples.slice(0, 2), skipped: [] },
      { dir: cdir, geometry, progress: null },
    );
    expect(view.built).toBe(false);
    expect(view.report()).toMatch(/^nih-without-Emphysema: 2 images cached/);
    view.close();
    const other = await openCache({ ...nih, root: join(dir, 'elsewhere') }, { dir: cdir, geometry, progress: null });
    expect(other.built).toBe(true);
    expect(other.reused).toBe(0);
    other.close();
  });

  it('an interrupted build (pixels without index) is never opened as a cache', async () => {
    const { ds, dir } = await fixture();
    const cdir = join(dir, 'cache');
    (await openCache(ds, { dir: cdir, geometry, progress: null })).close();
    const index = readdirSync(cdir).find((f) => f.endsWith('.json'))!;
    const idx = JSON.parse(readFileSync(join(cdir, index), 'utf8'));
    // Index of a build whose pixel file was replaced by a partial one: size check fails -> rebuild.
    const bin = join(cdir, index.replace(/\.json$/, '.u8'));
    writeFileSync(bin, readFileSync(bin).subarray(0, 100));
    // A temp file of a build killed mid-way (its process gone) is cleaned up by the next build.
    const stale = `${bin}.tmp-999999999`;
    writeFileSync(stale, 'partial');
    const c = await openCache(ds, { dir: cdir, geometry, progress: null });
    expect(c.built).toBe(true);
    expect(c.index.sha256).toBe(idx.sha256);
    c.close();
    expect(existsSync(bin)).toBe(true);
    expect(existsSync(stale)).toBe(false);
  });
});
