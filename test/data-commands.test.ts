// `data inspect`: label counts, patients, official split sizes and skipped files, text and JSON;
// a malformed table fails with file, line and column. `data cache`: builds, then reuses.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';

import { dataCacheCommand } from '../src/commands/data-cache.js';
import { dataInspectCommand } from '../src/commands/data-inspect.js';
import { makeNih, tempDir } from './helpers/data-fixtures.js';

async function run(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await yargs(argv)
      .command(dataInspectCommand)
      .command(dataCacheCommand)
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

afterEach(() => vi.restoreAllMocks());

describe('data inspect', () => {
  it('prints counts for an NIH layout, as text and JSON', async () => {
    const root = await makeNih([
      { id: 'a.png', labels: 'Hernia', patient: '1' },
      { id: 'b.png', labels: 'Hernia|Mass', patient: '1' },
      { id: 'c.png', labels: 'No Finding', patient: '2', test: true },
      { id: 'd.png', labels: 'Mass', patient: '3', noImage: true },
    ]);
    const text = await run(['inspect', '--data', root, '--format', 'nih']);
    expect(text).toContain('nih: 3 usable images, 2 patients');
    expect(text).toMatch(/Hernia\s+2\s+1\s+0/);
    expect(text).toMatch(/Mass\s+1\s+2\s+0/);
    expect(text).toContain('official split: 2 train_val, 1 test');
    expect(text).toContain('skipped: 1');
    expect(text).toContain(`${join(root, 'images/d.png')}: file not found`);
    const json = JSON.parse(await run(['inspect', '--data', root, '--format', 'nih', '--json']));
    expect(json.images).toBe(3);
    expect(json.labels.find((l: { label: string }) => l.label === 'Hernia')).toEqual({
      label: 'Hernia',
      positive: 2,
      negative: 1,
      unknown: 0,
    });
    expect(json.officialSplits).toEqual({ trainVal: 2, test: 1 });
  });

  it('names empty and truncated images from their headers; --verify decodes every image', async () => {
    const root = await makeNih([
      { id: 'a.png', labels: 'Hernia', patient: '1' },
      { id: 'b.png', labels: 'Mass', patient: '2' },
      { id: 'c.png', labels: 'Mass', patient: '3' },
      { id: 'd.png', labels: 'Hernia', patient: '4' },
      { id: 'e.png', labels: 'Hernia', patient: '5' },
    ]);
    // makeNih puts odd rows under images_001/images.
    const at = (id: string, k: number) => join(root, k % 2 ? 'images_001/images' : 'images', id);
    writeFileSync(at('b.png', 1), '');
    const whole = readFileSync(at('c.png', 2));
    writeFileSync(at('c.png', 2), whole.subarray(0, Math.floor(whole.length / 2)));
    // Whole ends, broken pixels: only decoding finds it.
    const d = Buffer.from(readFileSync(at('d.png', 3)));
    const idat = d.indexOf('IDAT');
    d.fill(0xab, idat + 8, idat + 24);
    writeFileSync(at('d.png', 3), d);
    const headers = JSON.parse(await run(['inspect', '--data', root, '--format', 'nih', '--json']));
    expect(headers.checked).toBe('headers');
    expect(
      Object.fromEntries(headers.skipped.map((s: { path: string; reason: string }) => [s.path, s.reason])),
    ).toEqual({
      [at('b.png', 1)]: 'empty file (0 bytes)',
      [at('c.png', 2)]: 'PNG truncated (no IEND chunk at the end)',
    });
    expect(headers.images).toBe(3);
    const verified = JSON.parse(await run(['inspect', '--data', root, '--format', 'nih', '--json', '--verify']));
    expect(verified.skipped.map((s: { path: string }) => s.path)).toEqual([
      at('b.png', 1),
      at('c.png', 2),
      at('d.png', 3),
    ]);
    expect(verified.skipped[2].reason).toMatch(/^cannot be decoded/);
    expect(verified.images).toBe(2);
  });

  it('a malformed table fails naming file, line and column', async () => {
    const root = await makeNih([{ id: 'a.png', labels: 'Hernia', patient: '1' }]);
    writeFileSync(join(root, 'Data_Entry_2017.csv'), 'Image Index,Finding Labels,Patient ID\na.png,"Hernia,1\n');
    await expect(run(['inspect', '--data', root, '--format', 'nih'])).rejects.toThrow(
      `${join(root, 'Data_Entry_2017.csv')}: line 2, column 2: bad quoting: a quoted field is never closed`,
    );
    await expect(run(['inspect', '--data', root, '--format', 'png'])).rejects.toThrow(
      "Expected one of 'auto', 'nih', 'chexpert', 'mura', 'csv', 'folder', 'dicom' for --format but received 'png'",
    );
  });
});

describe('data cache', () => {
  it('builds the cache once, lists skipped files, then reports it up to date', async () => {
    const root = await makeNih([
      { id: 'a.png', labels: 'Hernia', patient: '1' },
      { id: 'b.png', labels: 'Mass', patient: '2' },
      { id: 'c.png', labels: 'Mass', patient: '3', noImage: true },
    ]);
    const dir = tempDir('cache-cmd');
    const args = ['cache', '--data', root, '--format', 'nih', '--cache-dir', dir, '--image-size', '32'];
    const first = JSON.parse(await run([...args, '--json']));
    expect(first).toMatchObject({ built: true, stored: 2, geometry: { width: 32, height: 32 } });
    expect(first.skipped).toEqual([{ id: '', path: join(root, 'images/c.png'), reason: 'file not found' }]);
    const second = await run(args);
    expect(second).toMatch(/^up to date: nih: 2 images cached at 32x32 .*, 1 skipped/);
    expect(second).toContain(`skipped ${join(root, 'images/c.png')}: file not found`);
    await expect(run([...args.slice(0, -2), '--image-size', '2.5'])).rejects.toThrow(
      'Expected an integer between 32 and 4096 for --image-size but received 2.5',
    );
  });
});
