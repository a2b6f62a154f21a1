/**
 * Bad input to `torchxfer features` and `torchxfer radiomics`: unreadable images are reported skips
 * naming the file (exit 1 when none could be read), malformed feature JSON and label CSVs name the
 * file and line, options out of range name the option. Never a crash or hang. Needs dist/ (npx tsc).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli, expectCleanFailure, expectReportedSkip } from './helpers/bad-input.js';
import { writePng } from './helpers/data-fixtures.js';

let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'txf-bad-features-'));
  for (let k = 0; k < 8; k++) await writePng(p(`good${k}.png`), k + 1, 40, 32);
  const png = readFileSync(p('good0.png'));
  writeFileSync(p('truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
  writeFileSync(p('text.png'), 'this is a text file with a .png name\n');
  writeFileSync(p('empty.png'), '');
  // A PNG header declaring 100000 x 100000 pixels (10 gigapixels) over a few bytes of data.
  const huge = Buffer.from(png);
  huge.writeUInt32BE(100_000, 16);
  huge.writeUInt32BE(100_000, 20);
  writeFileSync(p('huge.png'), huge);
  const px16 = Buffer.alloc(40 * 32 * 2);
  for (let i = 0; i < 40 * 32; i++) px16.writeUInt16LE((i * 997) % 65536, i * 2);
  await sharp(px16, { raw: { width: 40, height: 32, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(p('sixteen.png'));
  // Features of the good images, for the radiomics cases.
  const r = await cli([
    'features',
    ...Array.from({ length: 8 }, (_, k) => p(`good${k}.png`)),
    '--json',
    '--width',
    '0',
    '--out',
    p('train.json'),
  ]);
  expect(r.status, r.stderr).toBe(0);
  const labels = ['file,a', ...Array.from({ length: 8 }, (_, k) => `good${k}.png,${k % 2}`)].join('\n') + '\n';
  writeFileSync(p('labels.csv'), labels);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('features: bad images are reported skips naming the file', () => {
  it.each([
    ['a truncated PNG', 'truncated.png', /cannot decode|truncat|premature|corrupt/i],
    ['a text file named .png', 'text.png', /not a PNG, JPEG or DICOM image/],
    ['a zero-byte file', 'empty.png', /empty \(0 bytes\)/],
    ['a missing file', 'missing.png', /file not found/],
    ['a header declaring 10 gigapixels', 'huge.png', /over the limit|pixel limit|too large/i],
  ])('%s next to a good image: the good one gets features, the bad one is named', async (_what, bad, why) => {
    const r = await cli(['features', p('good0.png'), p(bad), '--json']);
    expectReportedSkip(r, p(bad), why);
    const out = JSON.parse(r.stdout) as { file: string; features?: object; error?: string }[];
    expect(out.map((o) => [o.file, o.features !== undefined, o.error !== undefined])).toEqual([
      [p('good0.png'), true, false],
      [p(bad), false, true],
    ]);
  });

  it('only bad images: a non-zero exit code', async () => {
    const r = await cli(['features', p('text.png'), p('empty.png')]);
    expectCleanFailure(r, p('text.png'), p('empty.png'));
  });

  it('a 16-bit PNG is read (not a failure)', async () => {
    const r = await cli(['features', p('sixteen.png'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].features['glcm.contrast.d1.a0']).toBeGreaterThan(0);
  });

  it.each([
    [['--width', '-5'], /width/],
    [['--width', 'abc'], /width/],
    [['--height', '70000'], /height/],
  ])('options %j: an error naming the option', async (opts, why) => {
    const r = await cli(['features', p('good0.png'), ...opts]);
    expectCleanFailure(r, why);
  });

  it('--out under a file (not a directory): an error naming the path, nothing written', async () => {
    const out = join(p('good1.png'), 'features.csv');
    const r = await cli(['features', p('good0.png'), '--out', out]);
    expectCleanFailure(r, out);
  });
});

describe('radiomics: malformed features and labels name the file and line', () => {
  const run = (args: string[]) => cli(['radiomics', '--folds', '2', '--search-iters', '1', ...args]);
  const csv = (name: string, text: string) => {
    writeFileSync(p(name), text);
    return p(name);
  };

  it('a missing features file', async () => {
    expectCleanFailure(await run(['--train', p('nope.json'), '--labels', p('labels.csv')]), p('nope.json'));
  });

  it('features that are not JSON', async () => {
    const f = csv('broken.json', '[{"file": "a.png", "features": {');
    expectCleanFailure(await run(['--train', f, '--labels', p('labels.csv')]), f, /JSON/);
  });

  it('features JSON of the wrong shape', async () => {
    const f = csv('object.json', '{"file": "a.png"}');
    expectCleanFailure(await run(['--train', f, '--labels', p('labels.csv')]), f, /array/);
  });

  it('labels without the file column', async () => {
    const f = csv('nofile.csv', 'name,a\ngood0.png,1\n');
    expectCleanFailure(await run(['--train', p('train.json'), '--labels', f]), f, /file/);
  });

  it('labels with only the file column', async () => {
    const f = csv('nolabels.csv', 'file\ngood0.png\n');
    expectCleanFailure(await run(['--train', p('train.json'), '--labels', f]), f, /no label columns/);
  });

  it('a label that is not 0 or 1 names the line and column', async () => {
    const f = csv('badlabel.csv', 'file,a\ngood0.png,1\ngood1.png,maybe\n');
    expectCleanFailure(await run(['--train', p('train.json'), '--labels', f]), f, /line 3/, /'a'/, /maybe/);
  });

  it('an unterminated quote names the line', async () => {
    const f = csv('quote.csv', 'file,a\n"good0.png,1\ngood1.png,0\n');
    expectCleanFailure(await run(['--train', p('train.json'), '--labels', f]), f, /line \d/, /quot/i);
  });

  it('an empty labels file', async () => {
    const f = csv('empty.csv', '');
    expectCleanFailure(await run(['--train', p('train.json'), '--labels', f]), f);
  });

  it('an unknown --label-columns name', async () => {
    expectCleanFailure(
      await run(['--train', p('train.json'), '--labels', p('labels.csv'), '--label-columns', 'zzz']),
      /zzz/,
    );
  });

  it.each([
    [['--folds', '1'], /folds/],
    [['--search-iters', '0'], /search-iters|searchIters/],
    [['--seed', '1.5'], /seed/],
    [['--folds', 'x'], /folds/],
  ])('options %j: an error naming the option', async (opts, why) => {
    const defaults = ['--folds', '2', '--search-iters', '1'].filter((_, k, a) => !opts.includes(a[k - (k % 2)]!));
    expectCleanFailure(
      await cli(['radiomics', '--train', p('train.json'), '--labels', p('labels.csv'), ...defaults, ...opts]),
      why,
    );
  });
});
