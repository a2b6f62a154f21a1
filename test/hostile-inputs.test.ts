/**
 * Hostile inputs II (docs/reliability.md): results databases, reports, output folders, image headers,
 * checkpoints, special files, names, spec sizes, the pid lock and the skip report, each built here
 * (crafted databases, headers, FIFOs, folders, specs) and met by the CLI in a child process under a
 * 6 GiB address-space cap and a timeout (helpers/capped.ts). Every case: a clean error or a reported
 * skip, peak RSS under 1.5 GB, nothing written outside the folders the command was given, the user's
 * files byte-identical. TXF_MEASURE=<file> appends each case's peak RSS and time to <file> (JSON lines);
 * TXF_ROOT=<checkout> runs another checkout's CLI (how the closing note measured main before the fixes).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';

import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { ResultsDb } from '../src/experiments/db.js';
import { canonicalJson, hashConfig } from '../src/experiments/keys.js';
import { validateSpec } from '../src/experiments/spec.js';
import { capped, dist, PEAK_RSS_LIMIT_KIB, type CappedResult } from './helpers/capped.js';
import { FAKE_RUNNER_SOURCE } from './experiments-helpers.js';
import { quickTrainFlags } from './helpers/quick-train.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'txf-hostile2-'));
  // Default caches (images, phantoms) of every child go here, never to the user's home.
  process.env.TORCHXFER_CACHE = join(root, 'default-cache');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh folder per case: `inside` is what the command is given, the rest is the user's. */
function box(name: string): { dir: string; inside: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'inside'), { recursive: true });
  return { dir, inside: join(dir, 'inside') };
}

/** Every entry under `dir` (not following links) with its content hash, except those under `except`. */
function snapshot(dir: string, except: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (except.some((e) => p === e || p.startsWith(e + '/'))) continue;
      const s = lstatSync(p);
      const rel = relative(dir, p);
      if (s.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else if (s.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (s.isFile())
        out[rel] = s.size > 64 << 20 ? `size ${s.size}` : createHash('sha256').update(readFileSync(p)).digest('hex');
      else out[rel] = 'special';
    }
  };
  walk(dir);
  return out;
}

/** No hang, no signal, no stack trace, under the RSS limit; the case's cost is recorded. */
function bounded(cls: number, what: string, r: CappedResult): void {
  if (process.env.TXF_MEASURE) {
    appendFileSync(
      process.env.TXF_MEASURE,
      JSON.stringify({
        cls,
        what,
        rssMiB: Math.round(r.maxRssKiB / 1024),
        seconds: Number(r.seconds.toFixed(1)),
        status: r.status,
        signal: r.signal,
        hung: r.hung,
      }) + '\n',
    );
  }
  const where = `stdout: ${r.stdout.slice(-400)}\nstderr: ${r.stderr.slice(-1200)}`;
  expect(r.hung, `hung; ${where}`).toBe(false);
  expect(r.signal, `killed by a signal; ${where}`).toBeNull();
  expect(r.stderr, 'a stack trace instead of a message').not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  expect(r.maxRssKiB, `peak RSS ${Math.round(r.maxRssKiB / 1024)} MiB`).toBeLessThan(PEAK_RSS_LIMIT_KIB);
}

function failsCleanly(r: CappedResult, ...why: RegExp[]): void {
  expect(r.status, r.stderr.slice(-1500)).not.toBe(0);
  for (const w of why) expect(r.stderr).toMatch(w);
}

// ---------- results databases ----------

const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const SPEC = validateSpec({
  name: 'study',
  mode: 'grid',
  nGrid: [50],
  seeds: [0],
  targets: [{ name: 't', dataset: 'nih', root: '/nonexistent', label: 'x' }],
  arms: [{ name: 'a', policy: 'onecycle' }],
});

/** A results database of this torchxfer's schema with the spec above and `runs` (done, with two epochs each). */
function resultsDb(path: string, runs: Record<string, unknown>[]): void {
  new ResultsDb(path).close();
  const db = new Database(path);
  db.prepare('INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, ?, ?)').run(
    SPEC.name,
    canonicalJson(SPEC),
    hashConfig(SPEC),
    '2026-01-01',
  );
  for (const r of runs) {
    const row: Record<string, unknown> = {
      experiment: 'study',
      kind: 'target',
      data_name: 't',
      n: 50,
      seed: 0,
      arm_json: '{"arch":"densenet121"}',
      config_json: '{}',
      status: 'done',
      attempts: 1,
      test_auc: 0.8,
      ...r,
    };
    const cols = Object.keys(row);
    db.prepare(`INSERT INTO runs (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(
      ...Object.values(row),
    );
    for (const e of [1, 2])
      db.prepare(
        'INSERT INTO epochs (run_key, epoch, train_loss, val_loss, val_auc, lr, metrics_json) VALUES (?, ?, 0.5, 0.6, 0.7, 0.001, ?)',
      ).run(row.key, e, JSON.stringify({ epoch: e }));
  }
  db.pragma('journal_mode = DELETE');
  db.close();
}

const runsOf = (path: string) => {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT key, test_auc, status FROM runs ORDER BY key').all();
  const epochs = (db.prepare('SELECT count(*) AS n FROM epochs').get() as { n: number }).n;
  db.close();
  return { rows, epochs };
};

/** A database whose runs table is built by `sql` (the input's own schema), holding one run. */
function craftedDb(path: string, runsTable: string, insert: string): void {
  new ResultsDb(path).close();
  const db = new Database(path);
  db.exec(`DROP TABLE runs; ${runsTable}`);
  db.exec(insert);
  db.pragma('journal_mode = DELETE');
  db.close();
}

const STANDARD = [
  'key',
  'experiment',
  'kind',
  'data_name',
  'n',
  'seed',
  'arm_json',
  'config_json',
  'status',
  'attempts',
  'sample_ids_hash',
  'test_auc',
  'test_auc_tta',
  'per_label_json',
  'val_loss',
  'checkpoint',
  'timings_json',
  'result_json',
  'versions_json',
  'host',
  'pid',
  'started_at',
  'finished_at',
];

describe("1: results merge of someone else's database", () => {
  it('a column name written as SQL never reaches the target: its finished runs and epochs stay as they were', async () => {
    const { dir, inside } = box('merge-injection');
    const target = join(inside, 'mine.db');
    resultsDb(target, [
      { key: hex('a'), test_auc: 0.81 },
      { key: hex('b'), test_auc: 0.82 },
    ]);
    const before = runsOf(target);
    const evil = `error) SELECT ${STANDARD.filter((c) => c !== 'test_auc' && c !== 'test_auc_tta')
      .join(', ')
      .replace('sample_ids_hash', 'sample_ids_hash, 0.999, 0.999')}, NULL FROM main.runs /*`;
    const input = join(dir, 'theirs.db');
    craftedDb(
      input,
      `CREATE TABLE runs (${STANDARD.join(', ')}, "${evil.replace(/"/g, '""')}")`,
      `INSERT INTO runs (key, experiment, kind, data_name, n, seed, arm_json, config_json, status, attempts, test_auc) VALUES ('${hex('c')}', 'study', 'target', 't', 50, 0, '{}', '{}', 'done', 1, 0.7)`,
    );
    const theirs = snapshot(dir, [inside]);
    const r = await capped(['results', 'merge', target, input]);
    bounded(1, 'SQL in a column name', r);
    const after = runsOf(target);
    for (const row of before.rows) expect(after.rows).toContainEqual(row);
    expect(after.epochs).toBe(before.epochs);
    expect((after.rows as { test_auc: number }[]).some((x) => x.test_auc === 0.999)).toBe(false);
    expect(snapshot(dir, [inside])).toEqual(theirs);
  });

  it.each([
    [
      'an unknown schema version',
      (db: Database.Database) => db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run(),
      /schema version "99" is not one this torchxfer reads \(1, 2\)/,
    ],
    [
      'runs as a view',
      (db: Database.Database) =>
        db.exec('ALTER TABLE runs RENAME TO runs_data; CREATE VIEW runs AS SELECT * FROM runs_data'),
      /its runs is a view, not a table/,
    ],
    [
      'a value of the wrong type',
      (db: Database.Database) => db.prepare("UPDATE runs SET n = '<img src=x onerror=alert(1)>'").run(),
      /runs\.n .*Expected a positive integer or null|Expected an integer or null for runs\.n/,
    ],
    [
      'a generated column',
      (db: Database.Database) =>
        db.exec('ALTER TABLE runs ADD COLUMN g TEXT GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL'),
      /generated or hidden column/,
    ],
  ])('%s is refused, naming it; the target is untouched', async (what, tamper, why) => {
    const { dir, inside } = box(`merge-${what.replace(/\W+/g, '-')}`);
    const target = join(inside, 'mine.db');
    resultsDb(target, [{ key: hex('a') }]);
    const input = join(dir, 'theirs.db');
    resultsDb(input, [{ key: hex('c') }]);
    const db = new Database(input);
    tamper(db);
    db.close();
    const mine = snapshot(dir);
    const r = await capped(['results', 'merge', target, input]);
    bounded(1, what, r);
    failsCleanly(r, why, new RegExp(input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    expect(snapshot(dir)).toEqual(mine);
  });
});

describe('2: report and export of a crafted database', () => {
  it('every printed value is escaped, figure files stay in --out, formula cells are neutralised', async () => {
    const { dir, inside } = box('report-escape');
    const db = join(dir, 'theirs.db');
    resultsDb(db, [
      {
        key: hex('x'),
        data_name: '<img src=x onerror=alert(1)>',
        host: '=HYPERLINK("http://evil.example","x")',
        error: '<script>alert(1)</script>',
        arm_json: '{"arch":"<script>alert(2)</script>"}',
        timings_json: '{"<b>t</b>": 1}',
      },
    ]);
    const theirs = snapshot(dir, [inside]);
    const r = await capped(['report', db, '--out', join(inside, 'report'), '--no-png']);
    bounded(2, 'report: markup in values', r);
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(join(inside, 'report', 'report.html'), 'utf8');
    expect(html).not.toMatch(/<img src=x|<script>alert|<b>t<\/b>/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const csv = await capped(['results', 'export', db, '--out', join(inside, 'runs.csv')]);
    bounded(2, 'export: formula cells', csv);
    expect(csv.status, csv.stderr).toBe(0);
    const text = readFileSync(join(inside, 'runs.csv'), 'utf8');
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(text).not.toMatch(/(^|,)"?=HYPERLINK/m);
    expect(snapshot(dir, [inside])).toEqual(theirs);
  });

  it.each([
    ['a run key that is a path', { key: '/../../../.p' }, /runs\.key/],
    [
      'n and seed that are markup',
      { key: hex('y'), n: '<img src=x onerror=alert(1)>', seed: '<script>alert(1)</script>' },
      /runs\.n|runs\.seed/,
    ],
  ])('%s is refused before anything is written', async (what, run, why) => {
    const { dir, inside } = box(`report-${what.replace(/\W+/g, '-')}`);
    const db = join(inside, 'theirs.db');
    resultsDb(db, [{ key: hex('z') }]);
    const d = new Database(db);
    d.pragma('foreign_keys = OFF');
    const cols = Object.keys(run);
    d.prepare(`UPDATE runs SET ${cols.map((c) => `${c} = ?`).join(', ')}`).run(...Object.values(run));
    d.close();
    const outside = snapshot(dir, [join(inside, 'report')]);
    const r = await capped(['report', db, '--out', join(inside, 'report'), '--no-png']);
    bounded(2, what, r);
    failsCleanly(r, why);
    expect(snapshot(dir, [join(inside, 'report')])).toEqual(outside);
    expect(existsSync(join(root, '.p'))).toBe(false);
  });
});

// ---------- images ----------

const QUICK = quickTrainFlags({ 'batch-size': 4, threads: 2 });

/** Two class folders of small PNGs (a folder dataset). */
async function folderDataset(dir: string, perClass = 60): Promise<string> {
  for (const cls of ['neg', 'pos']) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(48 * 48, cls === 'pos' ? 200 - i : 20 + i);
      await sharp(px, { raw: { width: 48, height: 48, channels: 1 } })
        .png()
        .toFile(join(dir, cls, `${i}.png`));
    }
  }
  return dir;
}

/** A colour JPEG (4:4:4) of 16 x 16 whose frame header (SOFn) is patched to declare width x height. */
async function declaredJpeg(width: number, height: number, progressive: boolean): Promise<Buffer> {
  const rgb = Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) & 255));
  const b = await sharp(rgb, { raw: { width: 16, height: 16, channels: 3 } })
    .jpeg({ progressive, chromaSubsampling: '4:4:4' })
    .toBuffer();
  for (let i = 2; i < b.length - 9; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
      b.writeUInt16BE(height, i + 5);
      b.writeUInt16BE(width, i + 7);
      return b;
    }
  }
  throw new Error('no SOF marker');
}

const chunk = (type: string, data: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
};

/** A whole 8-bit grey PNG of width x height, all zero (a few KB for millions of pixels). */
function zeroPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const idat = deflateSync(Buffer.alloc((width + 1) * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// DICOM (explicit VR little endian elements)
const u16 = (v: number) => Buffer.from([v & 0xff, v >> 8]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const tag = (g: number, e: number) => Buffer.concat([u16(g), u16(e)]);
function el(g: number, e: number, vr: string, value: Buffer | string): Buffer {
  let v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (v.length % 2) v = Buffer.concat([v, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  return ['OB', 'OW'].includes(vr)
    ? Buffer.concat([tag(g, e), Buffer.from(vr), u16(0), u32(v.length), v])
    : Buffer.concat([tag(g, e), Buffer.from(vr), u16(v.length), v]);
}
const meta = (syntax: string) =>
  Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), el(0x0002, 0x0010, 'UI', syntax)]);
const image = (rows: number, columns: number, bits: number) =>
  Buffer.concat([
    el(0x0028, 0x0002, 'US', u16(1)),
    el(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
    el(0x0028, 0x0010, 'US', u16(rows)),
    el(0x0028, 0x0011, 'US', u16(columns)),
    el(0x0028, 0x0100, 'US', u16(bits)),
    el(0x0028, 0x0101, 'US', u16(bits)),
  ]);

/** Deflated explicit VR: 10000 x 10000 x 16 bits of zeros, 200 MB inflated from ~200 KB. */
function deflatedDicom(): Buffer {
  const header = Buffer.concat([image(10000, 10000, 16), tag(0x7fe0, 0x0010), Buffer.from('OW'), u16(0), u32(2e8)]);
  const body = Buffer.alloc(header.length + 2e8);
  header.copy(body);
  return Buffer.concat([meta('1.2.840.10008.1.2.1.99'), deflateRawSync(body, { level: 9 })]);
}

/** JPEG lossless (process 14) declaring 10000 x 10000 x 16 bits, in about 1.4 KB. */
function losslessDicom(): Buffer {
  const sof = Buffer.from([0xff, 0xc3, 0, 11, 16, 0x27, 0x10, 0x27, 0x10, 1, 1, 0x11, 0]);
  const counts = Buffer.alloc(16);
  counts[0] = 1;
  const dht = Buffer.concat([Buffer.from([0xff, 0xc4, 0, 20, 0x00]), counts, Buffer.from([0])]);
  const sos = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0x00, 1, 0, 0]);
  const stream = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    sof,
    dht,
    sos,
    Buffer.alloc(1200),
    Buffer.from([0xff, 0xd9]),
  ]);
  const item = (b: Buffer) => Buffer.concat([tag(0xfffe, 0xe000), u32(b.length), b]);
  const pixels = Buffer.concat([
    tag(0x7fe0, 0x0010),
    Buffer.from('OB'),
    u16(0),
    u32(0xffffffff),
    item(Buffer.alloc(0)),
    item(stream),
    tag(0xfffe, 0xe0dd),
    u32(0),
  ]);
  return Buffer.concat([meta('1.2.840.10008.1.2.4.70'), image(10000, 10000, 16), pixels]);
}

describe('4: image headers that declare more than they hold', () => {
  const files: [string, string, () => Buffer | Promise<Buffer>, RegExp][] = [
    [
      'a progressive JPEG of under 1 KB declaring 10000 x 10000',
      'progressive.jpg',
      () => declaredJpeg(10000, 10000, true),
      /decoding it would hold about \d+ MiB, over the budget of 512 MiB/,
    ],
    [
      'a 10 KB PNG of 25 x 400000 (upscaled to 250 wide)',
      'strip.png',
      () => zeroPng(25, 400000),
      /aspect ratio of 16000:1, beyond the limit of 20:1/,
    ],
    [
      'a 200 KB deflated DICOM of 100 megapixels',
      'deflated.dcm',
      deflatedDicom,
      /decoding it would hold about \d+ MiB, over the budget of 512 MiB/,
    ],
    [
      'a 1.4 KB JPEG-lossless DICOM of 100 megapixels',
      'lossless.dcm',
      losslessDicom,
      /decoding it would hold about \d+ MiB, over the budget of 512 MiB/,
    ],
  ];

  it.each(files)(
    '%s: a reported skip naming the limit, under the RSS limit',
    async (what, name, make, why) => {
      const { dir, inside } = box(`image-${name}`);
      writeFileSync(join(dir, name), await make());
      writeFileSync(
        join(dir, 'ok.png'),
        await sharp(Buffer.alloc(64 * 64, 99), { raw: { width: 64, height: 64, channels: 1 } })
          .png()
          .toBuffer(),
      );
      writeFileSync(join(dir, 'list.csv'), `path,a\n${name},1\nok.png,0\n`);
      const mine = snapshot(dir, [inside]);
      const r = await capped([
        'data',
        'cache',
        '--data',
        join(dir, 'list.csv'),
        '--format',
        'csv',
        '--cache-dir',
        join(inside, 'cache'),
        '--image-size',
        '250',
        '--json',
      ]);
      bounded(4, what, r);
      expect(r.status, r.stderr).toBe(0);
      const skipped = (JSON.parse(r.stdout) as { skipped: { path: string; reason: string }[] }).skipped;
      expect(skipped.map((s) => s.path)).toEqual([join(dir, name)]);
      expect(skipped[0]!.reason).toMatch(why);
      expect(snapshot(dir, [inside])).toEqual(mine);
    },
    300_000,
  );

  it('50 copies of the progressive JPEG in one cache build: all skipped, memory bounded', async () => {
    const { dir, inside } = box('image-50-copies');
    const bytes = await declaredJpeg(10000, 10000, true);
    const names = Array.from({ length: 50 }, (_, i) => `p${i}.jpg`);
    for (const n of names) writeFileSync(join(dir, n), bytes);
    writeFileSync(
      join(dir, 'ok.png'),
      await sharp(Buffer.alloc(64 * 64, 99), { raw: { width: 64, height: 64, channels: 1 } })
        .png()
        .toBuffer(),
    );
    writeFileSync(join(dir, 'list.csv'), `path,a\nok.png,0\n${names.map((n, i) => `${n},${i % 2}`).join('\n')}\n`);
    const r = await capped(
      [
        'data',
        'cache',
        '--data',
        join(dir, 'list.csv'),
        '--format',
        'csv',
        '--cache-dir',
        join(inside, 'cache'),
        '--image-size',
        '250',
        '--json',
      ],
      { timeoutMs: 300_000 },
    );
    bounded(4, '50 progressive JPEGs at once', r);
    expect(r.status, r.stderr).toBe(0);
    const skipped = (JSON.parse(r.stdout) as { skipped: { reason: string }[] }).skipped;
    expect(skipped).toHaveLength(50);
    for (const s of skipped) expect(s.reason).toMatch(/over the budget of 512 MiB/);
  }, 400_000);
});

// ---------- output folders and checkpoints ----------

describe("3 and 5: train --out on the user's folder; a checkpoint's metadata", () => {
  let data: string;
  let checkpoint: string;
  beforeAll(async () => {
    data = await folderDataset(join(root, 'train-data'));
  }, 120_000);

  it("a non-empty folder that is not a run is refused, and with --force nothing of the user's is replaced", async () => {
    const { dir, inside } = box('out-folder');
    const out = join(inside, 'project');
    mkdirSync(join(out, 'resume'), { recursive: true });
    writeFileSync(join(out, 'resume', 'notes.txt'), 'my notes\n');
    writeFileSync(join(out, 'metrics.json'), '{"mine": true}\n');
    const mine = snapshot(dir);
    const plain = await capped(
      ['train', '--data', data, '--format', 'folder', '--positive', 'pos', '--out', out, ...QUICK],
      { timeoutMs: 300_000 },
    );
    bounded(3, 'train --out on a folder with resume/ and metrics.json', plain);
    failsCleanly(plain, /is not empty and is not a torchxfer run folder/, /--force/);
    expect(snapshot(dir)).toEqual(mine);
    const forced = await capped(
      ['train', '--data', data, '--format', 'folder', '--positive', 'pos', '--out', out, '--force', ...QUICK],
      { timeoutMs: 300_000 },
    );
    bounded(3, 'the same with --force', forced);
    failsCleanly(forced, /already holds metrics\.json, resume, which torchxfer did not create/);
    expect(snapshot(dir)).toEqual(mine);
  }, 700_000);

  it('--force into a folder of other files: the run is written beside them, which stay byte-identical', async () => {
    const { dir, inside } = box('out-force');
    const out = join(inside, 'project');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'notes.txt'), 'my notes\n');
    const before = snapshot(out);
    const r = await capped(
      [
        'train',
        '--data',
        data,
        '--format',
        'folder',
        '--positive',
        'pos',
        '--out',
        out,
        '--force',
        '--cache-dir',
        join(inside, 'cache'),
        ...QUICK,
      ],
      { timeoutMs: 500_000 },
    );
    bounded(3, "train --force beside the user's files", r);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const after = snapshot(out);
    expect(after['notes.txt']).toBe(before['notes.txt']);
    expect(after['.torchxfer-run']).toBeDefined();
    expect(after.resume).toBeUndefined();
    checkpoint = join(out, 'best.safetensors');
    expect(existsSync(checkpoint)).toBe(true);
    expect(existsSync(join(dir, 'inside', 'project', 'metrics.json'))).toBe(true);
  }, 600_000);

  it('5: an imageSize of 40000 in a checkpoint is refused like the option; eval never writes to its cacheDir', async () => {
    const { dir, inside } = box('checkpoint-meta');
    if (!checkpoint) {
      // Run alone (or the test before failed): train one into a new folder.
      const t = await capped(
        [
          'train',
          '--data',
          data,
          '--format',
          'folder',
          '--positive',
          'pos',
          '--out',
          join(dir, 'run'),
          '--cache-dir',
          join(dir, 'cache'),
          ...QUICK,
        ],
        { timeoutMs: 500_000 },
      );
      expect(t.status, t.stderr.slice(-2000)).toBe(0);
      checkpoint = join(dir, 'run', 'best.safetensors');
    }
    const ck = await loadCheckpoint(checkpoint);
    const training = ck.metadata.training as Record<string, unknown>;
    const { format: _f, formatVersion: _v, versions: _vs, tensorsSha256: _s, createdAt: _c, ...metadata } = ck.metadata;
    const huge = join(dir, 'huge.safetensors');
    await saveCheckpoint(huge, ck.tensors, { ...metadata, training: { ...training, imageSize: 40000, crop: 39000 } });
    const elsewhere = join(dir, 'their-cache');
    const moved = join(dir, 'moved.safetensors');
    await saveCheckpoint(moved, ck.tensors, { ...metadata, training: { ...training, cacheDir: elsewhere } });
    for (const t of Object.values(ck.tensors)) t.dispose();
    const img = join(data, 'pos', '0.png');
    const r = await capped(['predict', '--checkpoint', huge, img, '--device', 'cpu']);
    bounded(5, 'predict with imageSize 40000', r);
    failsCleanly(
      r,
      /huge\.safetensors: the checkpoint's metadata is not usable: training options \(Expected an integer between 32 and 4096 for imageSize but received 40000\)/,
    );
    const e = await capped(['eval', '--checkpoint', moved, '--device', 'cpu', '--json'], {
      env: { TORCHXFER_CACHE: join(inside, 'cache') },
      timeoutMs: 300_000,
    });
    bounded(5, 'eval of a checkpoint naming a cacheDir', e);
    expect(e.status, e.stderr.slice(-2000)).toBe(0);
    expect(existsSync(elsewhere)).toBe(false);
  }, 900_000);
});

// ---------- special files ----------

describe('6: special files in datasets', () => {
  it('a DICOM tree with a link to /dev/zero, a FIFO and a 1.9 GB sparse file: reported skips, no hang', async () => {
    const { dir, inside } = box('special-dicom');
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    symlinkSync('/dev/zero', join(tree, 'zero.dcm'));
    execFileSync('mkfifo', [join(tree, 'pipe.dcm')]);
    writeFileSync(join(tree, 'sparse.dcm'), '');
    truncateSync(join(tree, 'sparse.dcm'), 1.9e9);
    // One usable image beside them (a tree with none is refused as a whole, naming the three).
    const pixels = Buffer.concat([tag(0x7fe0, 0x0010), Buffer.from('OB'), u16(0), u32(16), Buffer.alloc(16, 7)]);
    writeFileSync(
      join(tree, 'ok.dcm'),
      Buffer.concat([meta('1.2.840.10008.1.2.1'), el(0x0010, 0x0020, 'LO', 'P1'), image(4, 4, 8), pixels]),
    );
    writeFileSync(join(dir, 'labels.csv'), 'file,y\nzero.dcm,1\npipe.dcm,0\nsparse.dcm,1\nok.dcm,0\n');
    const mine = snapshot(dir, [inside]);
    const r = await capped(
      ['data', 'inspect', '--data', tree, '--format', 'dicom', '--labels', join(dir, 'labels.csv'), '--json'],
      { timeoutMs: 60_000 },
    );
    bounded(6, 'DICOM tree: /dev/zero link, FIFO, sparse 1.9 GB', r);
    expect(r.status, r.stderr).toBe(0);
    const skipped = (JSON.parse(r.stdout) as { skipped: { path: string; reason: string }[] }).skipped;
    const reason = (f: string) => skipped.find((s) => s.path === join(tree, f))?.reason;
    expect(reason('zero.dcm')).toMatch(/not a regular file \(a character device\)/);
    expect(reason('pipe.dcm')).toMatch(/not a regular file \(a FIFO \(named pipe\)\)/);
    expect(reason('sparse.dcm')).toMatch(/file is 1900000000 bytes, over the limit of 536870912 bytes/);
    expect(snapshot(dir, [inside])).toEqual(mine);
  });

  it('data inspect of a folder dataset holding a FIFO: a reported skip, no hang', async () => {
    const { dir } = box('special-folder');
    const ds = await folderDataset(join(dir, 'ds'), 3);
    execFileSync('mkfifo', [join(ds, 'pos', 'pipe.png')]);
    const r = await capped(['data', 'inspect', '--data', ds, '--format', 'folder', '--positive', 'pos', '--json'], {
      timeoutMs: 60_000,
    });
    bounded(6, 'folder dataset with a FIFO', r);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pipe\.png[^\n]*\n?[^\n]*not a regular file \(a FIFO/);
  });
});

// ---------- names and spec sizes ----------

/** A CLI entry with the fake runner registered (as the experiments tests do), for the checkout under test. */
function fakeCli(dir: string): string {
  writeFileSync(join(dir, 'fake-runner.mjs'), FAKE_RUNNER_SOURCE);
  const href = (p: string) => JSON.stringify(pathToFileURL(p).href);
  writeFileSync(
    join(dir, 'fake-cli.mjs'),
    `import { main } from ${href(dist('cli.js'))};\nimport { registerArmRunner } from ${href(dist('index.js'))};\nimport fake from ${href(join(dir, 'fake-runner.mjs'))};\nregisterArmRunner(() => fake);\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  return join(dir, 'fake-cli.mjs');
}

const spec = (over: Record<string, unknown>) =>
  JSON.stringify({
    name: 'x',
    mode: 'grid',
    nGrid: [50],
    seeds: [0],
    targets: [{ name: 't', dataset: 'nih', root: '/nonexistent', label: 'x' }],
    arms: [{ name: 'a', epochs: 1 }],
    ...over,
  });

describe('7: experiment names are names, not paths', () => {
  it.each([['../../escaped-pwn'], ['ABSOLUTE']])(
    "name %s is refused; nothing is created outside the database's folder",
    async (name) => {
      const { dir, inside } = box(`names-${name.replace(/\W+/g, '-')}`);
      const value = name === 'ABSOLUTE' ? join(dir, 'abs-pwn') : name;
      // A source task: its checkpoint goes to NAME.checkpoints beside the database.
      const sources = [{ name: 's', dataset: 'nih', root: '/nonexistent', n: 100, train: { epochs: 1 } }];
      writeFileSync(
        join(dir, 'spec.json'),
        spec({ name: value, sources, arms: [{ name: 'a', epochs: 1, source: 's' }] }),
      );
      const cli = fakeCli(dir);
      mkdirSync(join(inside, 'db'));
      const mine = snapshot(dir, [inside]);
      const r = await capped([cli, 'experiment', join(dir, 'spec.json'), '--db', join(inside, 'db', 'x.db')], {
        cli: false,
        cwd: inside,
      });
      bounded(7, `experiment name ${name === 'ABSOLUTE' ? 'absolute' : name}`, r);
      failsCleanly(r, /for (--)?name but received '/);
      expect(snapshot(dir, [inside])).toEqual(mine);
      expect(existsSync(join(root, 'escaped-pwn.runs'))).toBe(false);
    },
  );
});

describe('8: spec sizes are capped, the cap named', () => {
  it.each([
    // Sizes from 2, as train's -n (a size of 1 is refused before any cap).
    [
      'a 3000 x 3000 grid (--plan)',
      { nGrid: Array.from({ length: 3000 }, (_, i) => i + 2), seeds: Array.from({ length: 3000 }, (_, i) => i) },
      /at most 64 entries \(the cap on nGrid\)/,
    ],
    [
      'nGrid: [1e308]',
      { nGrid: [1e308] },
      /Expected an integer between 2 and 10000000 for nGrid\[0\] but received 1e\+308/,
    ],
    [
      '60 sizes x 1000 seeds x 2 arms',
      {
        nGrid: Array.from({ length: 60 }, (_, i) => i + 2),
        seeds: Array.from({ length: 1000 }, (_, i) => i),
        arms: [{ name: 'a' }, { name: 'b', policy: 'regular' }],
      },
      /at most 20000 planned jobs \(the cap on an experiment's size\)/,
    ],
  ])('%s is refused', async (what, over, why) => {
    const { dir, inside } = box(`spec-${what.replace(/\W+/g, '-')}`);
    writeFileSync(join(dir, 'spec.json'), spec(over));
    const r = await capped(['experiment', join(dir, 'spec.json'), '--plan', '--db', join(inside, 'x.db')], {
      timeoutMs: 120_000,
    });
    bounded(8, what, r);
    failsCleanly(r, why);
  });

  it('a database storing a 3000 x 3000 grid: report refuses it, naming the cap', async () => {
    const { dir, inside } = box('spec-stored');
    const db = join(dir, 'theirs.db');
    resultsDb(db, []);
    const big = {
      ...JSON.parse(canonicalJson(SPEC)),
      nGrid: Array.from({ length: 3000 }, (_, i) => i + 1),
      seeds: Array.from({ length: 3000 }, (_, i) => i),
    };
    const d = new Database(db);
    d.prepare('UPDATE experiments SET spec_json = ?').run(JSON.stringify(big));
    d.close();
    const r = await capped(['report', db, '--out', join(inside, 'report'), '--no-png'], { timeoutMs: 120_000 });
    bounded(8, 'report of a stored 3000 x 3000 grid', r);
    failsCleanly(
      r,
      /the stored spec is not a valid experiment spec \(Expected at most 64 entries \(the cap on nGrid\)/,
    );
  });
});

// ---------- the pid lock ----------

describe('9: the pid lock', () => {
  /**
   * Three processes take and release one lock 1500 times each; every 10th holder "dies" holding it (a dead
   * pid written over it), so the others race to take a stale lock over. Whoever holds the lock creates a
   * marker file exclusively: finding it there means two processes held the lock at once.
   */
  const script = (
    lock: string,
    marker: string,
    go: number,
  ) => `import { renameSync, rmSync, writeFileSync } from 'node:fs';
    const { acquirePidLock } = await import(${JSON.stringify(pathToFileURL(dist('lockfile.js')).href)});
    while (Date.now() < ${go}) {}
    let wins = 0, overlaps = 0, errors = 0;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 1500; i++) {
      let release;
      try { release = acquirePidLock(${JSON.stringify(lock)}, () => 'busy'); } catch (e) { if (e.message !== 'busy') { errors++; console.error(e.message); } continue; }
      wins++;
      try { writeFileSync(${JSON.stringify(marker)}, String(process.pid), { flag: 'wx' }); } catch { overlaps++; }
      Atomics.wait(pause, 0, 0, 1);
      rmSync(${JSON.stringify(marker)}, { force: true });
      if (wins % 10 === 0) {
        writeFileSync(${JSON.stringify(lock)} + '.dead-' + process.pid, String(2 ** 22 + 4321));
        renameSync(${JSON.stringify(lock)} + '.dead-' + process.pid, ${JSON.stringify(lock)});
      } else release();
    }
    console.log(JSON.stringify({ wins, overlaps, errors }));`;

  it('three processes taking, releasing and abandoning one lock: never two holders at once', async () => {
    const { inside } = box('lock');
    const go = Date.now() + 2000;
    const outs = await Promise.all(
      Array.from({ length: 3 }, () =>
        capped(['--input-type=module', '-e', script(join(inside, 'x.lock'), join(inside, 'holder'), go)], {
          cli: false,
          timeoutMs: 120_000,
        }),
      ),
    );
    const counts = outs.map((r) => {
      bounded(9, 'a process of the lock race', r);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { wins: number; overlaps: number; errors: number };
    });
    if (process.env.TXF_MEASURE)
      appendFileSync(process.env.TXF_MEASURE, JSON.stringify({ cls: 9, what: 'lock race', counts }) + '\n');
    expect(
      counts.reduce((s, c) => s + c.overlaps, 0),
      JSON.stringify(counts),
    ).toBe(0);
    expect(
      counts.reduce((s, c) => s + c.errors, 0),
      outs
        .map((o) => o.stderr)
        .join('\n')
        .slice(0, 2000),
    ).toBe(0);
    expect(counts.reduce((s, c) => s + c.wins, 0)).toBeGreaterThan(100);
  }, 180_000);
});

// ---------- the skip report ----------

describe("10: the skip report never prints a file's contents", () => {
  it('a table naming a text file: the reason names the file, not its bytes', async () => {
    const { dir, inside } = box('skip-report');
    writeFileSync(join(dir, 'shadow'), 'root:*:20228:0:99999:7:::\n');
    writeFileSync(
      join(dir, 'ok.png'),
      await sharp(Buffer.alloc(64 * 64, 99), { raw: { width: 64, height: 64, channels: 1 } })
        .png()
        .toBuffer(),
    );
    writeFileSync(join(dir, 'list.csv'), 'path,a\nshadow,1\nok.png,0\n');
    for (const args of [
      ['data', 'inspect', '--data', join(dir, 'list.csv'), '--format', 'csv', '--verify'],
      [
        'data',
        'cache',
        '--data',
        join(dir, 'list.csv'),
        '--format',
        'csv',
        '--cache-dir',
        join(inside, 'cache'),
        '--image-size',
        '32',
      ],
    ]) {
      const r = await capped(args);
      bounded(10, `${args[1]}: a table naming a text file`, r);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toContain(join(dir, 'shadow'));
      expect(r.stdout + r.stderr).not.toMatch(/root:|20228/);
    }
  });
});
