/**
 * Fuzzes the weight readers (torch.save zip and legacy, safetensors), the DICOM decoder, PNG/JPEG decoding,
 * results databases opened read-only and spec loading with seeded mutants of valid files (torch.save,
 * pydicom, sharp, torchxfer's own database and spec): every mutant must resolve or reject
 * with an Error naming the file, in a child process (a segfault or abort is a failure, not our death),
 * within a per-case timeout and a memory bound. Then hostile files crafted to overflow sizes, declare
 * huge storages or nest deeply: regressions for the reader fixes. Needs dist/ (npx tsc) and the addon.
 * Longer runs: node scripts/fuzz.mjs --seconds 600 --seed 7.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain JavaScript shared with scripts/fuzz.mjs
import { fuzzReaders } from '../scripts/fuzz/run.mjs';
import { helpersDir, PYTHON } from './helpers/python.js';

const root = join(helpersDir, '..', '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-fuzz-test-'));
  execFileSync(PYTHON, [join(root, 'scripts', 'fuzz', 'seeds.py'), join(dir, 'seeds')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Failure {
  kind: string;
  index: number;
  seed: number;
  seedFile: string;
  mutation: string;
  detail: string;
}
interface Stats {
  cases: number;
  ok: number;
  err: number;
  failures: Failure[];
  maxRssKiB: number;
  byFormat: Record<string, { ok: number; err: number; maxRiseKiB: number }>;
  peakCases: { index: number; mutation: string; rssKiB: number; riseKiB: number }[];
  shapes: Record<string, number>;
}

// Under scripts/sanitize.sh, ASan's shadow memory and quarantine alone take about 1 GiB, and the
// instrumented readers (and LibTorch's start in each child) run several times slower.
const sanitized = process.env.LD_PRELOAD?.includes('libasan') ?? false;
const maxRssMiB = sanitized ? 4096 : 1024;

describe('reader fuzzing', () => {
  it(
    '4000 mutants of zip/legacy .pth, safetensors and DICOM: each resolves or rejects naming the file, none crash, hang or balloon',
    async () => {
      const stats: Stats = await fuzzReaders({
        seedsDir: join(dir, 'seeds'),
        workDir: join(dir, 'work'),
        seed: 20261125,
        cases: 4000,
        batch: 500,
        jobs: 2,
        caseTimeoutMs: 30_000,
        maxRssMiB,
      });
      const report = stats.failures.map(
        (f) => `${f.kind}: seed ${f.seed} case ${f.index} (${f.seedFile}: ${f.mutation}): ${f.detail}`,
      );
      expect(report).toEqual([]);
      expect(stats.cases).toBe(4000);
      // The mutants exercise both outcomes in every format (a mutator that always breaks the magic tests nothing).
      for (const format of ['zip', 'legacy', 'safetensors', 'dicom']) {
        expect(stats.byFormat[format].ok, format).toBeGreaterThan(5);
        expect(stats.byFormat[format].err, format).toBeGreaterThan(50);
      }
      // The hostile shapes (weights: floods, nesting, aliasing, header floods; DICOM: undefined-length sequences and
      // elements, encapsulated fragments, deflated bodies and bombs) were all tried; what each cost is reported.
      for (const shape of [
        'flood',
        'nested',
        'aliased|tensors over the range',
        'header of \\d+ zeros',
        'undefined-length|length undefined',
        'encapsulated',
        'deflated',
      ])
        expect(stats.shapes[shape], shape).toBeGreaterThan(5);
      // Hostile inputs II: declared image sizes (PNG, JPEG incl. progressive, DICOM), crafted results databases
      // (SQL in column names, views, generated columns, versions, values of the wrong type) and specs.
      for (const shape of ['dicom declares', 'png declares|jpeg (progressive )?declares', 'db: '])
        expect(stats.shapes[shape], shape).toBeGreaterThan(5);
      expect(Object.entries(stats.shapes).find(([k]) => k.startsWith('spec '))?.[1], 'spec shapes').toBeGreaterThan(5);
      for (const format of ['png', 'jpeg', 'db', 'spec'])
        expect(stats.byFormat[format].err, format).toBeGreaterThan(20);
      for (const format of ['png', 'jpeg', 'db']) expect(stats.byFormat[format].ok, format).toBeGreaterThan(0);
      // Peak memory is measured for DICOM cases too: the deflate bombs under the 256 MiB bound raise a child's
      // resident size by tens of MiB, and the watchdog above bounds them like any reader.
      expect(stats.byFormat.dicom.maxRiseKiB).toBeGreaterThan(32 * 1024);
      console.log(
        `fuzz peak resident ${Math.round(stats.maxRssKiB / 1024)} MiB; largest rise by one case: ` +
          Object.entries(stats.byFormat)
            .map(([f, s]) => `${f} +${Math.round(s.maxRiseKiB / 1024)} MiB`)
            .join(', ') +
          '; costliest cases:\n' +
          stats.peakCases
            .slice(0, 5)
            .map(
              (p) =>
                `  +${Math.round(p.riseKiB / 1024)} MiB (${p.rssKiB >> 10} MiB) case ${p.index}: ${p.mutation.slice(0, 120)}`,
            )
            .join('\n'),
      );
    },
    sanitized ? 1_500_000 : 300_000,
  );
});

describe('hostile weight files (regressions)', () => {
  let made: Record<string, string>;
  const outcome = (file: string) => {
    const script = `
      const { readStateDict, tensorBytes } = await import(${JSON.stringify(join(root, 'dist', 'weights', 'io.js'))});
      const { native } = await import(${JSON.stringify(join(root, 'dist', 'native.js'))});
      native().setNumThreads(1);
      try { const sd = await readStateDict(process.argv[1]); for (const t of Object.values(sd)) tensorBytes(t); console.log('resolved'); }
      catch (e) { console.log('rejected: ' + e.message); }`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  };
  beforeAll(() => {
    made = JSON.parse(
      execFileSync(PYTHON, [join(helpersDir, 'crafted_weights.py'), join(dir, 'crafted')], { encoding: 'utf8' }),
    );
  });

  it.each([
    ['deep-chain.pth', /pickle modifies a list after nesting it/],
    ['view-overflow.pth', /size and stride overflow/],
    ['numel-overflow.pth', /tensor size overflows/],
    ['huge-broadcast.pth', /tensor of 1099511627776 elements over a storage of 4/],
    ['huge-storage-legacy.pth', /storage 0 declares 2147483648 elements, more than the file holds/],
    ['huge-storage-zip.pth', /storage 0 holds 16 bytes, fewer than its 4611686018427387904 elements need/],
    ['storage-type.pth', /unsupported storage type collections\.OrderedDict/],
    ['shape-overflow.safetensors', /declares a shape larger than the file's data/],
    ['dim-too-big.safetensors', /a dimension of 'w' is not a non-negative integer/],
  ])('%s is refused with a message naming the file, before allocating', (file, why) => {
    expect(made[file]).toBeDefined();
    const r = outcome(join(dir, 'crafted', file));
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rejected: ${join(dir, 'crafted', file)}`);
    expect(r.stdout).toMatch(why);
  });
});

describe('hostile DICOM files (regressions)', () => {
  const decode = (file: string) => {
    const script = `
      const { decodeGrey } = await import(${JSON.stringify(join(root, 'dist', 'data', 'decode.js'))});
      try { await decodeGrey(process.argv[1]); console.log('resolved'); } catch (e) { console.log('rejected: ' + e.message); }`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  };
  const variant = (name: string, edit: (b: Buffer) => void) => {
    const b = Buffer.from(readFileSync(join(dir, 'seeds', 'small16.dcm')));
    edit(b);
    writeFileSync(join(dir, name), b);
    return join(dir, name);
  };

  // dcmjs trusted these lengths and grew an array until V8 aborted the process (scripts/fuzz.mjs --seed 3).
  it.each([
    [
      'a meta element declaring 2 GiB',
      'meta-length.dcm',
      (b: Buffer) => {
        b.write('UN', 136, 'latin1');
        b.writeUInt32LE(0x7fffffff, 140);
      },
      /\(0002,0000\) at byte 132 declares 2147483647 bytes, past the end/,
    ],
    [
      'a dataset element declaring 64 KiB',
      'patient-length.dcm',
      (b: Buffer) => {
        const at = b.indexOf(Buffer.from([0x10, 0x00, 0x20, 0x00]), 132);
        b.writeUInt16LE(0xffff, at + 6);
      },
      /\(0010,0020\) at byte \d+ declares 65535 bytes, past the end/,
    ],
  ])('%s: refused naming the file and element, no crash', (_what, name, edit, why) => {
    const path = variant(name, edit);
    const r = decode(path);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rejected: ${path}: DICOM element`);
    expect(r.stdout).toMatch(why);
  });
});
