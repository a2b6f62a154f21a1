/**
 * Bad input to the weights entry points (CLI: weights inspect/import/fetch; library: writeSafetensors):
 * each gives a clear error naming the file, option or name, a non-zero exit code, no crash or hang,
 * and never a partial file where a good one was. Needs dist/ (npx tsc -p tsconfig.json).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { native } from '../src/native.js';
import { readSafetensors, writeSafetensors } from '../src/weights/io.js';
import { cli, expectCleanFailure } from './helpers/bad-input.js';
import { helpersDir, PYTHON } from './helpers/python.js';

let dir: string;
let fx: string;
let tmpfs: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'txf-bad-weights-'));
  fx = join(dir, 'fx');
  execFileSync(PYTHON, [join(helpersDir, 'weights_fixtures.py'), 'make', fx]);
  writeFileSync(join(dir, 'empty.pth'), '');
  writeFileSync(join(dir, 'text.pth'), 'these are not the weights you are looking for\n');
  const st = readFileSync(join(fx, 'python.safetensors'));
  writeFileSync(join(dir, 'truncated.safetensors'), st.subarray(0, st.length - 10));
  writeFileSync(join(dir, 'parent-file'), 'a file, not a directory');
  writeFileSync(join(dir, 'bad-manifest.json'), '{"version": 1, "weights": {');
  // A tiny tmpfs is a full disk; mounting needs root (else the disk-full case uses a path under a file).
  const mnt = join(dir, 'tmpfs');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0) tmpfs = mnt;
});

afterAll(() => {
  if (tmpfs) spawnSync('umount', [tmpfs]);
  rmSync(dir, { recursive: true, force: true });
});

describe('weights inspect', () => {
  it.each([
    ['a missing file', 'missing.pth', /cannot open.*No such file/],
    ['a zero-byte file', 'empty.pth', /not a weights file|empty|unrecognised|format/i],
    ['a text file named .pth', 'text.pth', /not a weights file|unrecognised|format/i],
    ['a directory', 'fx', /directory/],
    ['a truncated safetensors file', 'truncated.safetensors', /truncated|outside the file/],
  ])('%s: a clear error naming it', async (_what, file, why) => {
    const path = join(dir, file);
    const r = await cli(['weights', 'inspect', path]);
    expectCleanFailure(r, path, why);
  });

  it.each([
    ['a truncated torch.save zip', 'truncated.pth'],
    ['a truncated legacy torch.save', 'truncated-legacy.pth'],
    ['random bytes', 'random.bin'],
    ['a pickle calling os.system', 'evil.pth'],
    ['a complex-valued tensor', 'complex.pth'],
  ])('%s: a clear error naming it', async (_what, file) => {
    const path = join(fx, file);
    const r = await cli(['weights', 'inspect', path, '--json']);
    expectCleanFailure(r, path);
    expect(existsSync(join(fx, 'pwned'))).toBe(false);
  });

  it.each([['abc'], ['-1'], ['1.5']])('--keys %s: an option error naming --keys', async (value) => {
    const r = await cli(['weights', 'inspect', join(fx, 'zoo.pth'), '--keys', value]);
    expectCleanFailure(r, /keys/);
  });
});

describe('weights import and fetch', () => {
  it('import of a missing file names it', async () => {
    const r = await cli([
      'weights',
      'import',
      join(dir, 'nope.pth'),
      '--name',
      'resnet50-imagenet',
      '--cache-dir',
      join(dir, 'cache'),
    ]);
    expectCleanFailure(r, join(dir, 'nope.pth'));
  });

  it('import under an unknown name names it and lists the known ones', async () => {
    const r = await cli([
      'weights',
      'import',
      join(fx, 'zoo.pth'),
      '--name',
      'no-such-weights',
      '--cache-dir',
      join(dir, 'cache'),
    ]);
    expectCleanFailure(r, 'no-such-weights', /known: .*densenet121-imagenet/);
  });

  it('import of the wrong file: checksum error, nothing left in the cache', async () => {
    const cache = join(dir, 'cache-wrong');
    const r = await cli([
      'weights',
      'import',
      join(fx, 'zoo.pth'),
      '--name',
      'densenet121-imagenet',
      '--cache-dir',
      cache,
    ]);
    expectCleanFailure(r, /checksum mismatch for densenet121-imagenet/);
    expect(existsSync(join(cache, 'weights')) ? readdirSync(join(cache, 'weights')) : []).toEqual([]);
  });

  it('a malformed manifest is named', async () => {
    const manifest = join(dir, 'bad-manifest.json');
    const r = await cli([
      'weights',
      'import',
      join(fx, 'zoo.pth'),
      '--name',
      'x',
      '--manifest',
      manifest,
      '--cache-dir',
      join(dir, 'cache'),
    ]);
    expectCleanFailure(r, manifest);
  });

  it('fetch of an unknown name names it', async () => {
    const r = await cli(['weights', 'fetch', 'no-such-weights', '--cache-dir', join(dir, 'cache')]);
    expectCleanFailure(r, 'no-such-weights');
  });

  it('fetch from an unreachable server: an error naming the weights, no file in place of the weights', async () => {
    const pkg = JSON.parse(readFileSync(join(helpersDir, '..', '..', 'weights', 'manifest.json'), 'utf8'));
    const entry = { ...pkg.weights['densenet121-imagenet'], url: 'http://127.0.0.1:9/densenet121-a639ec97.pth' };
    const manifest = join(dir, 'unreachable.json');
    writeFileSync(manifest, JSON.stringify({ version: 1, weights: { 'densenet121-imagenet': entry } }));
    const cache = join(dir, 'cache-unreachable');
    const r = await cli(['weights', 'fetch', 'densenet121-imagenet', '--manifest', manifest, '--cache-dir', cache], {
      timeoutMs: 90_000,
    });
    expectCleanFailure(r, /densenet121-imagenet|127\.0\.0\.1/);
    expect(existsSync(join(cache, 'weights', entry.fileName))).toBe(false);
  }, 120_000);
});

describe('writeSafetensors never leaves a partial file', () => {
  const tensor = (n: number) => new (native().Tensor)(new Float32Array(n).fill(1.5), [n]);

  it('into a path whose parent is a file: rejected naming the path', async () => {
    const path = join(dir, 'parent-file', 'out.safetensors');
    await expect(writeSafetensors(path, { a: tensor(4) })).rejects.toThrow(path);
  });

  it(`onto a full disk (${'tiny tmpfs, or a file as parent without root'}): the good file stays, no temp file is left`, async () => {
    const where = tmpfs ?? join(dir, 'good');
    mkdirSync(where, { recursive: true });
    const good = join(where, 'model.safetensors');
    await writeSafetensors(good, { a: tensor(16) }, { v: '1' });
    const before = readFileSync(good);
    const target = tmpfs ? good : join(dir, 'parent-file', 'model.safetensors');
    // 1 MiB of floats on a 64 KiB file system: ENOSPC part-way through the write.
    await expect(writeSafetensors(target, { a: tensor(1 << 18) })).rejects.toThrow(/No space left|Not a directory/);
    expect(readFileSync(good).equals(before)).toBe(true);
    expect(readdirSync(where)).toEqual(['model.safetensors']);
    expect((await readSafetensors(good)).metadata).toEqual({ v: '1' });
  });

  it('with a disposed tensor among good ones: rejected, the existing file unchanged', async () => {
    const good = join(dir, 'keep.safetensors');
    await writeSafetensors(good, { a: tensor(3) });
    const before = readFileSync(good);
    const gone = tensor(2);
    gone.dispose();
    await expect((async () => writeSafetensors(good, { a: tensor(3), b: gone }))()).rejects.toThrow(
      /disposed|tensors\['b'\]/,
    );
    expect(readFileSync(good).equals(before)).toBe(true);
  });
});
