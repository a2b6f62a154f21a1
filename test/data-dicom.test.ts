// DICOM in every transfer syntax a radiograph arrives in, against pydicom run here (GDCM for JPEG
// lossless/extended and JPEG-LS; Pillow's OpenJPEG for HTJ2K, which pydicom 2.3 cannot read): stored
// values of frame 1 (lossless: equal; lossy: within the stated tolerance of the reference decoder),
// then the 8-bit grey against the rule written in test/helpers/dicom_reference.py. Files: pydicom's
// own test files, files GDCM converts here, HTJ2K codestreams encoded here with OpenJPH, and the real
// DICOMs of the shared data folder (skipped, saying so, where it is absent).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { decodeGrey } from '../src/data/decode.js';
import { decodeDicomFrame } from '../src/data/dicom-pixels.js';
import { helpersDir, PYTHON, python } from './helpers/python.js';
import { realDataRoot, realDataSkipReason } from './helpers/realdata.js';

const dir = mkdtempSync(join(tmpdir(), 'txf-dicom-'));
const pydicomFiles = python<string>(
  'import os, pydicom, json; print(json.dumps(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")))',
);
const pyd = (name: string) => join(pydicomFiles, name);

interface Case {
  file: string;
  syntax: string;
  /** Largest |ours - reference| of a stored value (0: lossless, bit-exact). */
  tolerance: number;
  /** Largest difference of the 8-bit grey (0 for lossless). */
  greyTolerance: number;
  why?: string;
}

const lossless = (file: string, syntax: string): Case => ({ file, syntax, tolerance: 0, greyTolerance: 0 });
const generated = (name: string) => join(dir, name);

const cases: Case[] = [
  lossless(pyd('MR_small_implicit.dcm'), 'Implicit VR Little Endian'),
  lossless(pyd('CT_small.dcm'), 'Explicit VR Little Endian'),
  lossless(pyd('MR_small_bigendian.dcm'), 'Explicit VR Big Endian'),
  lossless(pyd('MR_small_expb.dcm'), 'Explicit VR Big Endian'),
  lossless(pyd('image_dfl.dcm'), 'Deflated Explicit VR Little Endian'),
  lossless(pyd('MR_small_RLE.dcm'), 'RLE Lossless'),
  lossless(pyd('rtdose_rle.dcm'), 'RLE Lossless (32-bit, 15 frames)'),
  lossless(pyd('rtdose_expb.dcm'), 'Explicit VR Big Endian (32-bit, 15 frames)'),
  lossless(pyd('MR_small_jp2klossless.dcm'), 'JPEG 2000 Lossless'),
  lossless(pyd('J2K_pixelrep_mismatch.dcm'), 'JPEG 2000 Lossless (signedness differs from the header)'),
  lossless(pyd('MR_small_jpeg_ls_lossless.dcm'), 'JPEG-LS Lossless'),
  lossless(generated('jpeg_lossless_p14.dcm'), 'JPEG Lossless, Process 14'),
  lossless(generated('jpeg_lossless_sv1.dcm'), 'JPEG Lossless, SV1'),
  lossless(generated('htj2k_lossless.dcm'), 'HTJ2K Lossless'),
  lossless(generated('voi_lut.dcm'), 'Explicit VR Little Endian with a VOI LUT'),
  lossless(generated('voi_lut_implicit.dcm'), 'Implicit VR Little Endian with a VOI LUT'),
  lossless(generated('modality_lut.dcm'), 'Explicit VR Little Endian with a Modality LUT'),
  // Lossy: the same codec library as the reference (CharLS, OpenJPEG) decodes identically; libjpeg-turbo
  // and GDCM's libjpeg agree exactly for 8 bits; 12-bit JPEG is within 1 (see dicom-codecs.ts); OpenJPH
  // and OpenJPEG differ by rounding in the irreversible wavelet.
  { file: generated('jpegls_near3.dcm'), syntax: 'JPEG-LS Near-Lossless (NEAR=3)', tolerance: 0, greyTolerance: 0 },
  { file: pyd('JPEG2000.dcm'), syntax: 'JPEG 2000', tolerance: 0, greyTolerance: 0 },
  { file: pyd('693_J2KI.dcm'), syntax: 'JPEG 2000 (irreversible)', tolerance: 0, greyTolerance: 0 },
  { file: generated('jpeg_baseline8.dcm'), syntax: 'JPEG Baseline 8-bit', tolerance: 0, greyTolerance: 0 },
  { file: pyd('JPGExtended.dcm'), syntax: 'JPEG Extended 12-bit', tolerance: 1, greyTolerance: 2 },
  { file: pyd('JPEG-lossy.dcm'), syntax: 'JPEG Extended 12-bit', tolerance: 1, greyTolerance: 2 },
  { file: generated('htj2k_lossy.dcm'), syntax: 'HTJ2K (irreversible)', tolerance: 1, greyTolerance: 1 },
];

const REAL_CASES: Case[] = [
  {
    file: '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
    syntax: 'JPEG Baseline 8-bit (SIIM chest CR)',
    tolerance: 0,
    greyTolerance: 0,
  },
  lossless('RG3_J2KR.dcm', 'JPEG 2000 Lossless (CR, MONOCHROME1, 10 of 16 bits)'),
  lossless('CT_small.dcm', 'Explicit VR Little Endian'),
  lossless('MR_small_RLE.dcm', 'RLE Lossless'),
  { file: 'JPEG2000.dcm', syntax: 'JPEG 2000 (NM)', tolerance: 0, greyTolerance: 0 },
];
const realRoot = realDataRoot();
/** None without the real-data folder; with it, every listed file (a missing one fails its test). */
const real: Case[] = realRoot ? REAL_CASES.map((c) => ({ ...c, file: join(realRoot, 'dicom', c.file) })) : [];

/** HTJ2K codestreams of a smooth 12-bit image, encoded with OpenJPH (lossless and irreversible). */
async function encodeHtj2k(): Promise<object[]> {
  const require = createRequire(import.meta.url);
  const module = await (
    require('@cornerstonejs/codec-openjph/wasmjs') as (o: object) => Promise<Record<string, new () => HtEncoder>>
  )({ print: () => {}, printErr: () => {} });
  const [w, h] = [80, 96];
  const px = Uint16Array.from(
    { length: w * h },
    (_, i) => 2048 + Math.round(1500 * Math.sin((i % w) / 9) * Math.cos(Math.floor(i / w) / 13)) + (i % 7),
  );
  return [
    ['htj2k_lossless', '1.2.840.10008.1.2.4.201', true],
    ['htj2k_lossy', '1.2.840.10008.1.2.4.203', false],
  ].map(([name, syntax, reversible]) => {
    const e = new module.HTJ2KEncoder!();
    e.getDecodedBuffer({
      width: w,
      height: h,
      bitsPerSample: 12,
      componentCount: 1,
      isSigned: false,
      isUsingColorTransform: false,
    }).set(new Uint8Array(px.buffer));
    if (!reversible) e.setQuality(false, 0.002);
    e.encode();
    const codestream = join(dir, `${name}.j2c`);
    writeFileSync(codestream, e.getEncodedBuffer());
    e.delete();
    return { path: join(dir, `${name}.dcm`), codestream, syntax, rows: h, cols: w, bits: 16, stored: 12 };
  });
}
interface HtEncoder {
  getDecodedBuffer(info: object): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  setQuality(reversible: boolean, step: number): void;
  encode(): void;
  delete(): void;
}

type Reference = Record<string, { rows: number; cols: number; syntax: string; index: number; error?: string }>;
let reference: Reference;

beforeAll(async () => {
  python('dicom_reference.py', ['make', dir], JSON.stringify(await encodeHtj2k()));
  reference = python<Reference>('dicom_reference.py', ['reference', dir, ...[...cases, ...real].map((c) => c.file)]);
}, 300_000);

function referenceOf(file: string): { stored: Float64Array; grey: Uint8Array; rows: number; cols: number } {
  const r = reference[file]!;
  expect(r.error, `pydicom could not read ${file}`).toBeUndefined();
  const f64 = readFileSync(join(dir, `ref-${r.index}.f64`));
  return {
    stored: new Float64Array(f64.buffer.slice(f64.byteOffset, f64.byteOffset + f64.byteLength)),
    grey: new Uint8Array(readFileSync(join(dir, `ref-${r.index}.u8`))),
    rows: r.rows,
    cols: r.cols,
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function checkParity(c: Case): Promise<void> {
  const ref = referenceOf(c.file);
  const frame = await decodeDicomFrame(c.file, readFileSync(c.file), 1e8);
  expect([frame.rows, frame.columns]).toEqual([ref.rows, ref.cols]);
  expect(frame.stored.length).toBe(ref.stored.length);
  expect(maxDiff(frame.stored, ref.stored), 'stored values').toBeLessThanOrEqual(c.tolerance);
  const grey = await decodeGrey(c.file, { width: 0, height: 0 });
  expect([grey.width, grey.height]).toEqual([ref.cols, ref.rows]);
  expect(maxDiff(grey.data, ref.grey), '8-bit grey').toBeLessThanOrEqual(c.greyTolerance);
}

describe('every transfer syntax matches pydicom', () => {
  for (const c of cases) it(`${c.syntax}: ${basename(c.file)}`, () => checkParity(c));
});

// Skipped only where the real-data folder is absent (realDataSkipReason); a file missing from it fails.
describe.skipIf(!realRoot)(`real DICOMs match pydicom${realRoot ? '' : ` (${realDataSkipReason})`}`, () => {
  for (const c of realRoot ? real : REAL_CASES) it(`${c.syntax}: ${basename(c.file)}`, () => checkParity(c));
});

describe('frames, colour, and what cannot be decoded', () => {
  it('a multi-frame file gives frame 1 and says how many frames it holds', async () => {
    const img = await decodeGrey(pyd('rtdose_rle.dcm'), { width: 0, height: 0 });
    expect(img.frames).toBe(15);
    const single = await decodeGrey(pyd('rtdose_rle_1frame.dcm'), { width: 0, height: 0 });
    expect(single.frames).toBeUndefined();
    expect(Array.from(single.data)).toEqual(Array.from(img.data));
  });

  it.each([
    ['SC_rgb_jpeg_dcmtk.dcm', /3 samples per pixel \(YBR_FULL\); only grey \(1\) is supported/],
    ['rtplan.dcm', /DICOM has no pixel data/],
    ['liver_1frame.dcm', /BitsAllocated 1 is not supported/],
    ['MR_truncated.dcm', /\(7FE0,0010\) at byte \d+ declares 8192 bytes, past the end of the file/],
    // A codestream whose SIZ marker is overwritten: refused before OpenJPEG sees it.
    [
      'JPEG2000-embedded-sequence-delimiter.dcm',
      /DICOM says 256 x 1024 but the compressed frame declares \d+ x \d+: corrupt/,
    ],
  ])('%s is refused naming the file and the reason', async (name, why) => {
    await expect(decodeGrey(pyd(name))).rejects.toThrow(new RegExp(`^${pyd(name).replace(/[.+]/g, '\\$&')}: `));
    await expect(decodeGrey(pyd(name))).rejects.toThrow(why);
  });
});

describe('torchxfer data inspect on a DICOM tree of mixed transfer syntaxes', () => {
  it('decodes every file (on the worker, through dist/) and skips none', () => {
    const tree = join(dir, 'tree');
    const files = [...cases, ...real].map((c, i) => ({
      from: c.file,
      to: join(tree, `s${i % 3}`, `${i}-${basename(c.file)}`),
    }));
    for (const f of files) {
      mkdirSync(join(f.to, '..'), { recursive: true });
      copyFileSync(f.from, f.to);
    }
    writeFileSync(
      join(dir, 'labels.csv'),
      ['file,finding', ...files.map((f, i) => `${basename(f.to)},${i % 2}`)].join('\n'),
    );
    const cli = join(helpersDir, '..', '..', 'bin', 'torchxfer.js');
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'data',
        'inspect',
        '--data',
        tree,
        '--format',
        'dicom',
        '--labels',
        join(dir, 'labels.csv'),
        '--verify',
        '--json',
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { images: number; skipped: unknown[]; checked: string };
    expect(info.skipped).toEqual([]);
    expect(info.images).toBe(files.length);
    expect(info.checked).toBe('decoded');
  }, 300_000);
});

// The reference Python itself: the test is only as good as the files it could read.
it('pydicom read every reference file', () => {
  const unread = Object.entries(reference)
    .filter(([, r]) => r.error)
    .map(([f, r]) => `${f}: ${r.error}`);
  expect(unread, `${PYTHON} with pydicom and python3-gdcm`).toEqual([]);
});
