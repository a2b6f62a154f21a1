// The report's grid of phantom examples: one row per finding (images carrying it, alone where enough
// do), a No Finding row, tiles placed where the rows say, the same pick every time, named bad options.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { phantomExampleGrid } from '../src/data/phantom/examples.js';
import { synthesize } from '../src/data/phantom/synthesize.js';
import { csvRows, tempDir } from './phantom-helpers.js';

let dir: string;
let labels: Map<string, string[]>;

beforeAll(async () => {
  dir = await tempDir('phantom-examples');
  await synthesize({ kind: 'chest', out: join(dir, 'set'), n: 120, seed: 3, size: 64, prevalenceBoost: 0.1, prevalence: { Nodule: 0.4 }, threads: 0 });
  labels = new Map(csvRows(await readFile(join(dir, 'set', 'Data_Entry_2017.csv'), 'utf8')).slice(1).map((r) => [r[0]!, r[1]!.split('|')]));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('phantomExampleGrid', () => {
  it('lays out one row per finding and a No Finding row, each tile the named image', async () => {
    const grid = await phantomExampleGrid({ root: join(dir, 'set'), findings: ['Nodule', 'Cardiomegaly'], perRow: 3, tile: 32 });
    expect(grid.rows.map((r) => r.label)).toEqual(['Nodule', 'Cardiomegaly', 'No Finding']);
    expect([grid.width, grid.height]).toEqual([96, 96]);
    for (const row of grid.rows) {
      expect(row.files).toHaveLength(3);
      for (const f of row.files) {
        const l = labels.get(f)!;
        if (row.label === 'No Finding' || row.alone) expect(l).toEqual([row.label]);
        else expect(l).toContain(row.label);
      }
    }
    const { data, info } = await sharp(grid.png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 96]);
    // The middle tile of row 2 is that row's second image, resized.
    const want = await sharp(join(dir, 'set', 'images', grid.rows[1]!.files[1]!)).greyscale().resize(32, 32, { fit: 'fill' }).extractChannel(0).raw().toBuffer();
    let diff = 0;
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) diff = Math.max(diff, Math.abs(data[(32 + y) * 96 + 32 + x]! - want[y * 32 + x]!));
    expect(diff).toBeLessThanOrEqual(1);

    const again = await phantomExampleGrid({ root: join(dir, 'set'), findings: ['Nodule', 'Cardiomegaly'], perRow: 3, tile: 32 });
    expect(again.rows).toEqual(grid.rows);
    const other = await phantomExampleGrid({ root: join(dir, 'set'), findings: ['Nodule', 'Cardiomegaly'], perRow: 3, tile: 32, seed: 9 });
    expect(other.rows.map((r) => r.files)).not.toEqual(grid.rows.map((r) => r.files));
  });

  it('names bad options and a missing set', async () => {
    await expect(phantomExampleGrid({ root: join(dir, 'set'), findings: ['Nodules' as never] })).rejects.toThrow(/findings\[0\]/);
    await expect(phantomExampleGrid({ root: join(dir, 'set'), findings: [] })).rejects.toThrow(/for findings/);
    await expect(phantomExampleGrid({ root: join(dir, 'set'), findings: ['Nodule'], tile: 4 })).rejects.toThrow(/for tile/);
    await expect(phantomExampleGrid({ root: join(dir, 'nowhere'), findings: ['Nodule'] })).rejects.toThrow(/Data_Entry_2017\.csv/);
  });
});
