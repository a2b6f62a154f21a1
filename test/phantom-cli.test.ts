/** `torchxfer data synth` (compiled CLI, worker threads) and the cached default phantom sets. */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureDefaultPhantoms } from '../src/data/phantom/defaults.js';
import { synthesize } from '../src/data/phantom/synthesize.js';
import { PHANTOM_VERSION } from '../src/data/phantom/writers.js';
import { hashTree, tempDir, walk } from './phantom-helpers.js';

let root: string;
beforeAll(async () => {
  root = await tempDir('phantom-cli');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/torchxfer.js', ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

describe('torchxfer data synth', () => {
  it('writes a labelled simulated set with worker threads, byte-identical to the in-process library call', async () => {
    const out = join(root, 'cli-chest');
    const r = cli(
      'data',
      'synth',
      '--kind',
      'chest',
      '--out',
      out,
      '--count',
      '24',
      '--seed',
      '9',
      '--size',
      '64',
      '--threads',
      '2',
    );
    expect(r.stderr).toContain('SIMULATED PHANTOM DATA');
    expect(r.stderr).toMatch(/synth chest 100% 24\/24/);
    expect(r.stdout).toMatch(/Wrote 24 SIMULATED NIH ChestX-ray14 phantom images/);
    expect(r.status).toBe(0);
    const lib = join(root, 'lib-chest');
    await synthesize({ kind: 'chest', out: lib, n: 24, seed: 9, size: 64, threads: 0 });
    expect(await hashTree(out)).toBe(await hashTree(lib));
  });

  it("--prevalence sets findings' prevalences as the library option does", async () => {
    const out = join(root, 'cli-prevalence');
    const r = cli(
      'data',
      'synth',
      '--kind',
      'chest',
      '--out',
      out,
      '--count',
      '30',
      '--seed',
      '4',
      '--size',
      '64',
      '--prevalence',
      'Nodule=0.6,Hernia=0.5',
    );
    expect(r.status, r.stderr).toBe(0);
    const lib = join(root, 'lib-prevalence');
    await synthesize({
      kind: 'chest',
      out: lib,
      n: 30,
      seed: 4,
      size: 64,
      threads: 0,
      prevalence: { Nodule: 0.6, Hernia: 0.5 },
    });
    expect(await hashTree(out)).toBe(await hashTree(lib));
    const plain = join(root, 'lib-plain');
    await synthesize({ kind: 'chest', out: plain, n: 30, seed: 4, size: 64, threads: 0 });
    expect(await hashTree(plain)).not.toBe(await hashTree(lib));
    const bad = (value: string) =>
      cli(
        'data',
        'synth',
        '--kind',
        'chest',
        '--out',
        join(root, `bad-${value.length}`),
        '--count',
        '3',
        '--seed',
        '1',
        '--prevalence',
        value,
      );
    expect(bad('Nodule').stderr).toMatch(
      /Expected Finding=fraction pairs, comma-separated .* for --prevalence but received 'Nodule'/,
    );
    expect(bad('Nodules=0.3').stderr).toMatch(/'Nodules'/);
    expect(bad('Nodule=0.95').stderr).toMatch(/prevalence\.Nodule/);
  });

  it('rejects bad options with a clear message and exit code', () => {
    const r = cli('data', 'synth', '--kind', 'chest', '--out', join(root, 'bad'), '--count', '-3', '--seed', '1');
    expect(r.stderr).toMatch(/Expected an integer between 1 and 1000000 for --count but received '-3'/);
    expect(r.status).toBe(1);
    const k = cli('data', 'synth', '--kind', 'ct', '--out', join(root, 'bad'), '--count', '3', '--seed', '1');
    expect(k.stderr).toMatch(/Expected one of 'chest', 'msk' for --kind but received 'ct'/);
    expect(k.status).not.toBe(0);
  });
});

describe('ensureDefaultPhantoms', () => {
  it('generates once into the cache, atomically, and then reuses it', async () => {
    const cacheDir = join(root, 'cache');
    // A folder left by a killed generation (its process no longer exists) is cleaned up.
    const stale = join(cacheDir, 'phantoms', `${PHANTOM_VERSION}-77-c6-m5.tmp-999999999-1`);
    await mkdir(stale, { recursive: true });
    const stages = new Set<string>();
    const first = await ensureDefaultPhantoms({
      cacheDir,
      seed: 77,
      images: { chest: 6, msk: 5 },
      onProgress: (s) => stages.add(s),
    });
    expect(first.generated).toBe(true);
    expect([...stages].sort()).toEqual(['chest', 'msk']);
    expect(await walk(first.chest)).toContain('Data_Entry_2017.csv');
    expect(await walk(first.msk)).toContain('train_image_paths.csv');
    expect(await readdir(join(cacheDir, 'phantoms'))).toEqual([`${PHANTOM_VERSION}-77-c6-m5`]);
    const before = (await stat(join(first.chest, 'Data_Entry_2017.csv'))).mtimeMs;
    const again = await ensureDefaultPhantoms({ cacheDir, seed: 77, images: { chest: 6, msk: 5 } });
    expect(again).toEqual({ ...first, generated: false });
    expect((await stat(join(first.chest, 'Data_Entry_2017.csv'))).mtimeMs).toBe(before);
  });

  it('leaves no dataset behind when generation fails part-way', async () => {
    const cacheDir = join(root, 'cache-fail');
    const failing = ensureDefaultPhantoms({
      cacheDir,
      seed: 78,
      images: { chest: 20, msk: 5 },
      onProgress: (stage) => {
        if (stage === 'msk') throw new Error('interrupted');
      },
    });
    await expect(failing).rejects.toThrow('interrupted');
    expect(await readdir(join(cacheDir, 'phantoms'))).toEqual([]);
  });

  it('validates its options', async () => {
    await expect(ensureDefaultPhantoms({ cacheDir: '' })).rejects.toThrow(/Expected a non-empty string for cacheDir/);
    await expect(ensureDefaultPhantoms({ cacheDir: root, images: { chest: 0, msk: 1 } })).rejects.toThrow(
      /for images.chest/,
    );
  });
});
