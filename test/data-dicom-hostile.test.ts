/**
 * Hostile DICOM files, built here byte by byte (never committed blobs): each must be refused with a
 * message naming the file and the limit or the lie, in a child process that exits cleanly (no abort,
 * no V8 heap exhaustion) under 1.5 GB peak RSS. The child decodes through dist/ as users do, so the
 * worker thread is the one doing the work. Needs `npm run build:ts` (pretest runs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflateRaw } from 'node:zlib';

import { beforeAll, describe, expect, it } from 'vitest';

import { MAX_DEPTH, MAX_INFLATED_BYTES } from '../src/data/dicom-lengths.js';
import { helpersDir } from './helpers/python.js';

const root = join(helpersDir, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'txf-dicom-hostile-'));
const PEAK_RSS_LIMIT_KIB = 1.5 * 1024 * 1024;

// --- DICOM bytes (explicit VR little endian unless said otherwise) ---
const u16 = (v: number) => Buffer.from([v & 0xff, v >> 8]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const tag = (group: number, element: number) => Buffer.concat([u16(group), u16(element)]);
const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);
function el(group: number, element: number, vr: string, value: Buffer | string, length?: number): Buffer {
  let v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (v.length % 2) v = Buffer.concat([v, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  const len = length ?? v.length;
  return LONG.has(vr)
    ? Buffer.concat([tag(group, element), Buffer.from(vr), u16(0), u32(len), v])
    : Buffer.concat([tag(group, element), Buffer.from(vr), u16(len), v]);
}
const undefinedSq = (group: number, element: number) =>
  Buffer.concat([tag(group, element), Buffer.from('SQ'), u16(0), u32(0xffffffff)]);
const item = (length = 0xffffffff) => Buffer.concat([tag(0xfffe, 0xe000), u32(length)]);
const sequenceEnd = () => Buffer.concat([tag(0xfffe, 0xe0dd), u32(0)]);

function file(syntax: string, ...body: Buffer[]): Buffer {
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), el(0x0002, 0x0010, 'UI', syntax), ...body]);
}
const imageHeader = () =>
  Buffer.concat([
    el(0x0028, 0x0002, 'US', u16(1)),
    el(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
    el(0x0028, 0x0010, 'US', u16(4)),
    el(0x0028, 0x0011, 'US', u16(4)),
    el(0x0028, 0x0100, 'US', u16(8)),
    el(0x0028, 0x0101, 'US', u16(8)),
  ]);
const EXPLICIT = '1.2.840.10008.1.2.1';
const JPEG = '1.2.840.10008.1.2.4.50';

async function deflateZeros(bytes: number): Promise<Buffer> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => z.on('end', resolve));
  const chunk = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length)
    if (!z.write(chunk.subarray(0, Math.min(chunk.length, left)))) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(out);
}

/** Decodes in a child through dist/: its outcome line and its peak RSS. */
function decodeInChild(path: string): {
  out: string;
  maxRssKiB: number;
  status: number | null;
  signal: string | null;
  stderr: string;
} {
  const script = `
    const { decodeGrey } = await import(${JSON.stringify(join(root, 'dist', 'data', 'decode.js'))});
    try { await decodeGrey(process.argv[1]); console.log('resolved'); } catch (e) { console.log('rejected: ' + e.message); }
    console.log('maxrss ' + process.resourceUsage().maxRSS);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return {
    out: r.stdout,
    maxRssKiB: Number(/maxrss (\d+)/.exec(r.stdout)?.[1] ?? Infinity),
    status: r.status,
    signal: r.signal,
    stderr: r.stderr,
  };
}

const hostile: [string, () => Buffer | Promise<Buffer>, RegExp][] = [
  // The old guard stopped at the first undefined length: an empty sequence hid the 4 GB element after it.
  [
    'an empty sequence before a 4 GB element',
    () =>
      file(EXPLICIT, undefinedSq(0x0008, 0x1115), sequenceEnd(), el(0x0010, 0x0010, 'UT', Buffer.alloc(0), 0xfffffff0)),
    /\(0010,0010\) at byte \d+ declares 4294967280 bytes, past the end of the file/,
  ],
  // ...and returned early for compressed syntaxes, although dcmjs then parsed the body anyway.
  [
    'a JPEG file whose body element declares 2 GiB',
    () => file(JPEG, imageHeader(), el(0x0010, 0x0020, 'UN', Buffer.alloc(0), 0x7fffffff)),
    /\(0010,0020\) at byte \d+ declares 2147483647 bytes, past the end of the file/,
  ],
  [
    'an item longer than its sequence',
    () =>
      file(
        EXPLICIT,
        Buffer.concat([tag(0x0008, 0x1115), Buffer.from('SQ'), u16(0), u32(16)]),
        item(1000),
        Buffer.alloc(8),
      ),
    /\(FFFE,E000\) at byte \d+ declares 1000 bytes, past the end of the sequence \(0008,1115\)/,
  ],
  [
    'an undefined-length sequence with no delimiter',
    () => file(EXPLICIT, undefinedSq(0x0008, 0x1115), item(), el(0x0008, 0x0100, 'SH', 'X')),
    /has an undefined length and no delimiter before the end of the file/,
  ],
  [
    'sequences nested 100,000 deep',
    () =>
      file(
        EXPLICIT,
        Buffer.concat(Array.from({ length: 100_000 }, () => Buffer.concat([undefinedSq(0x0008, 0x1115), item()]))),
      ),
    new RegExp(`sequences nest deeper than ${MAX_DEPTH} levels`),
  ],
  [
    'a pixel data fragment declaring 2 GiB',
    () =>
      file(
        JPEG,
        imageHeader(),
        Buffer.concat([tag(0x7fe0, 0x0010), Buffer.from('OB'), u16(0), u32(0xffffffff)]),
        item(0),
        item(0x7ffffffe),
        Buffer.from([0xff, 0xd8]),
      ),
    /\(FFFE,E000\) at byte \d+ declares 2147483646 bytes, past the end of the file/,
  ],
  [
    'a deflated body of 300 MB of zeros (under 1 MB on disk)',
    async () => file('1.2.840.10008.1.2.1.99', await deflateZeros(300 * 2 ** 20)),
    new RegExp(`deflated DICOM body inflates past the limit of ${MAX_INFLATED_BYTES} bytes \\(256 MiB\\)`),
  ],
  // A few bytes of JPEG 2000 header can ask a codec for 60000 x 60000 samples: refused before decoding.
  [
    'a JPEG 2000 frame declaring 60000 x 60000 in a 4 x 4 image',
    () => {
      const siz = Buffer.alloc(42);
      siz.set([0xff, 0x4f, 0xff, 0x51]);
      siz.writeUInt16BE(41, 4);
      siz.writeUInt32BE(60000, 8);
      siz.writeUInt32BE(60000, 12);
      siz.writeUInt16BE(1, 40);
      return file(
        '1.2.840.10008.1.2.4.90',
        imageHeader(),
        Buffer.concat([tag(0x7fe0, 0x0010), Buffer.from('OB'), u16(0), u32(0xffffffff)]),
        item(0),
        item(siz.length),
        siz,
        sequenceEnd(),
      );
    },
    /DICOM says 4 x 4 but the compressed frame declares 60000 x 60000: corrupt/,
  ],
  [
    'an unknown transfer syntax',
    () => file('1.2.3.4.5', imageHeader()),
    /DICOM transfer syntax 1\.2\.3\.4\.5 is unknown: it cannot be checked/,
  ],
  [
    'an explicit VR that is not two letters',
    () =>
      file(
        EXPLICIT,
        imageHeader(),
        Buffer.concat([tag(0x0010, 0x0010), Buffer.from([1, 2]), u16(2), Buffer.from('AB')]),
      ),
    /\(0010,0010\) at byte \d+ has no valid explicit VR/,
  ],
];

describe('hostile DICOM files are refused cleanly, naming the file and the limit', () => {
  const paths: Record<string, string> = {};
  beforeAll(async () => {
    for (const [what, make] of hostile) {
      paths[what] = join(dir, `${what.replace(/[^a-z0-9]+/gi, '-')}.dcm`);
      writeFileSync(paths[what]!, await make());
    }
  }, 120_000);

  it.each(hostile)('%s', (what, _make, why) => {
    const path = paths[what]!;
    const r = decodeInChild(path);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out).toContain(`rejected: ${path}: `);
    expect(r.out).toMatch(why);
    expect(r.maxRssKiB).toBeLessThan(PEAK_RSS_LIMIT_KIB);
  });
});
