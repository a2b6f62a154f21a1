/**
 * Bad input to `torchxfer data inspect | cache | synth`: malformed CSVs name file, line and column;
 * unreadable images are reported skips naming the file; options out of range name the option; a
 * refused output folder is left as it was. Never a crash or hang. Needs dist/ (npx tsc).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli, expectCleanFailure, expectReportedSkip } from './helpers/bad-input.js';
import { writePng } from './helpers/data-fixtures.js';

let dir: string;
const p = (name: string) => join(dir, name);
const table = (name: string, text: string) => {
  writeFileSync(p(name), text);
  return p(name);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'txf-bad-data-'));
  for (let k = 0; k < 4; k++) await writePng(p(`img${k}.png`), k + 1, 30, 30);
  const png = readFileSync(p('img0.png'));
  writeFileSync(p('truncated.png'), png.subarray(0, 40));
  writeFileSync(p('text.png'), 'not an image\n');
  writeFileSync(p('empty.png'), '');
  writeFileSync(p('a-file'), 'a file, not a directory');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('data inspect: malformed tables name the file, line and column', () => {
  const inspect = (csv: string, ...extra: string[]) =>
    cli(['data', 'inspect', '--data', csv, '--format', 'csv', ...extra]);

  it('a missing CSV', async () => {
    expectCleanFailure(await inspect(p('nope.csv')), p('nope.csv'));
  });

  it('an empty CSV', async () => {
    const f = table('empty.csv', '');
    expectCleanFailure(await inspect(f), f);
  });

  it('no path column', async () => {
    const f = table('nopath.csv', 'file,a\nimg0.png,1\n');
    expectCleanFailure(await inspect(f), f, /path/);
  });

  it('a --path-column that does not exist', async () => {
    const f = table('ok.csv', 'path,a\nimg0.png,1\nimg1.png,0\n');
    expectCleanFailure(await inspect(f, '--path-column', 'image'), f, /image/);
  });

  it('an unterminated quote', async () => {
    const f = table('quote.csv', 'path,a\nimg0.png,1\n"img1.png,0\n');
    expectCleanFailure(await inspect(f), f, /line 3/, /quot/i);
  });

  it('a row with too many fields', async () => {
    const f = table('wide.csv', 'path,a\nimg0.png,1\nimg1.png,0,7\n');
    expectCleanFailure(await inspect(f), f, /line 3/);
  });

  it('a label that is not 0/1 names the line and column', async () => {
    const f = table('label.csv', 'path,a\nimg0.png,1\nimg1.png,sometimes\n');
    expectCleanFailure(await inspect(f), f, /line 3/, /'a'|column/, /sometimes/);
  });

  it('rows whose images are missing are reported skips', async () => {
    const f = table('missing.csv', 'path,a\nimg0.png,1\nimg1.png,0\nghost.png,1\n');
    const r = await inspect(f);
    expectReportedSkip(r);
    expect(r.stdout).toContain(`${p('ghost.png')}: file not found`);
  });

  it('a missing dataset folder (nih layout)', async () => {
    expectCleanFailure(await cli(['data', 'inspect', '--data', p('no-such-dir'), '--format', 'nih']), p('no-such-dir'));
  });

  it('an unknown --format', async () => {
    expectCleanFailure(await cli(['data', 'inspect', '--data', p('ok.csv'), '--format', 'png']), /format/);
  });
});

describe('data cache: unreadable images are reported skips', () => {
  it('truncated, text and empty images are named and skipped; the good ones are cached', async () => {
    const f = table('mixed.csv', 'path,a\nimg0.png,1\nimg1.png,0\ntruncated.png,1\ntext.png,0\nempty.png,1\n');
    const r = await cli([
      'data',
      'cache',
      '--data',
      f,
      '--format',
      'csv',
      '--cache-dir',
      p('cache'),
      '--image-size',
      '32',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.signal).toBeNull();
    const all = r.stdout + r.stderr;
    for (const bad of ['truncated.png', 'text.png', 'empty.png']) expect(all).toContain(p(bad));
  });

  it.each([
    [['--image-size', '-1'], /for --image-size but received '-1'/],
    [['--image-size', 'tall'], /for --image-size but received 'tall'/],
    [['--concurrency', '0'], /for --concurrency but received '0'/],
  ])('options %j: an error naming the option', async (opts, why) => {
    const f = table('ok2.csv', 'path,a\nimg0.png,1\nimg1.png,0\n');
    expectCleanFailure(
      await cli(['data', 'cache', '--data', f, '--format', 'csv', '--cache-dir', p('cache2'), ...opts]),
      why,
    );
  });

  it('a cache folder under a file: an error naming it', async () => {
    const f = table('ok3.csv', 'path,a\nimg0.png,1\nimg1.png,0\n');
    const cache = join(p('a-file'), 'cache');
    expectCleanFailure(await cli(['data', 'cache', '--data', f, '--format', 'csv', '--cache-dir', cache]), p('a-file'));
  });
});

describe('data synth: bad options name the option and write nothing', () => {
  it.each([
    [['--count', '0'], /for --count but received '0'/],
    [['--count', '2.5'], /for --count but received '2.5'/],
    [['--seed', 'x'], /seed/],
    [['--size', '10'], /size/],
    [['--size', '5000'], /size/],
    [['--prevalence-boost', '0.9'], /prevalence/],
    [['--threads', '-2'], /threads/],
  ])('%j', async (opts, why) => {
    const out = p(`synth-${opts.join('')}`);
    const base = ['data', 'synth', '--kind', 'chest', '--out', out];
    const args = [
      ...base,
      ...(opts.includes('--count') ? [] : ['--count', '2']),
      ...(opts.includes('--seed') ? [] : ['--seed', '1']),
      ...opts,
    ];
    expectCleanFailure(await cli(args), why);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('an output folder that is not empty is refused and left as it was', async () => {
    const out = p('full');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    expectCleanFailure(await cli(['data', 'synth', '--kind', 'msk', '--out', out, '--count', '2', '--seed', '1']), out);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('an output folder under a file: an error naming it', async () => {
    const out = join(p('a-file'), 'synth');
    expectCleanFailure(
      await cli(['data', 'synth', '--kind', 'chest', '--out', out, '--count', '2', '--seed', '1']),
      p('a-file'),
    );
  });
});
