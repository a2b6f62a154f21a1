// Decoding to 8-bit grey: PNG/JPEG 8 and 16 bit, DICOM (rescale, VOI window, MONOCHROME1, signed),
// geometry (resize keeping aspect, then centre crop/pad), and clear errors naming the file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { decodeGrey } from '../src/data/decode.js';
import { python } from './helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'txf-decode-'));

function randomBytes(n: number, seed: number, max = 255): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % (max + 1);
  });
}

describe('PNG and JPEG', () => {
  const w = 37;
  const h = 23;
  beforeAll(async () => {
    const v8 = Buffer.from(randomBytes(w * h, 1));
    await sharp(v8, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(join(dir, 'g8.png'));
    const v16 = new Uint16Array(randomBytes(w * h, 2, 65535));
    await sharp(Buffer.from(v16.buffer), { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(join(dir, 'g16.png'));
    await sharp(v8, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('b-w')
      .jpeg({ quality: 95 })
      .toFile(join(dir, 'g8.jpg'));
    const rgb = Buffer.from(randomBytes(w * h * 3, 3));
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(join(dir, 'rgb.png'));
    const code = ['import sys,json,numpy as np', 'from skimage import io', 'out={}']
      .concat(
        refs.map(
          ([name, file, expr]) =>
            `v=io.imread(${JSON.stringify(join(dir, file))}).astype(np.float64)\nassert v.ndim == 2, v.shape\nout[${JSON.stringify(name)}]=(${expr}).astype(int).ravel().tolist()`,
        ),
      )
      .concat(['print(json.dumps(out))'])
      .join('\n');
    expected = python<Record<string, number[]>>(code);
  });

  // scikit-image's reading of each file, with the mapping under test applied in numpy (one Python run).
  const refs: [string, string, string][] = [
    ['g8', 'g8.png', 'v'],
    ['g16full', 'g16.png', 'np.floor(v*255/65535+0.5)'],
    ['g16minmax', 'g16.png', 'np.floor((v-v.min())*(255/(v.max()-v.min()))+0.5)'],
    ['jpeg', 'g8.jpg', 'v'],
  ];
  let expected: Record<string, number[]>;
  const ref = (name: string) => expected[name];

  it('8-bit PNG decodes to the same pixels as scikit-image reads', async () => {
    const img = await decodeGrey(join(dir, 'g8.png'), { width: 0, height: 0 });
    expect([img.width, img.height, img.bitDepth]).toEqual([w, h, 8]);
    expect(Array.from(img.data)).toEqual(ref('g8'));
  });

  it('16-bit PNG maps the full range to 8 bits (and minmax stretches)', async () => {
    const img = await decodeGrey(join(dir, 'g16.png'), { width: 0, height: 0 });
    expect(img.bitDepth).toBe(16);
    expect(Array.from(img.data)).toEqual(ref('g16full'));
    const mm = await decodeGrey(join(dir, 'g16.png'), { width: 0, height: 0, window: 'minmax' });
    expect(Array.from(mm.data)).toEqual(ref('g16minmax'));
  });

  it('JPEG decodes close to scikit-image (decoders may differ by a level)', async () => {
    const img = await decodeGrey(join(dir, 'g8.jpg'), { width: 0, height: 0 });
    const r = ref('jpeg');
    const maxDiff = Math.max(...Array.from(img.data, (v, i) => Math.abs(v - r[i])));
    expect(maxDiff).toBeLessThanOrEqual(2);
  });

  it('colour PNG becomes one grey channel', async () => {
    const img = await decodeGrey(join(dir, 'rgb.png'), { width: 0, height: 0 });
    expect(img.data.length).toBe(w * h);
  });

  it('resizes to width keeping aspect, then pads a short image centred and crops a tall one', async () => {
    await sharp({ create: { width: 500, height: 300, channels: 3, background: { r: 200, g: 200, b: 200 } } })
      .png()
      .toFile(join(dir, 'wide.png'));
    const wide = await decodeGrey(join(dir, 'wide.png'));
    expect([wide.width, wide.height]).toEqual([250, 250]);
    // 500x300 -> 250x150, padded by 50 rows of black above and below.
    expect(wide.data[0]).toBe(0);
    expect(wide.data[49 * 250 + 10]).toBe(0);
    expect(wide.data[50 * 250 + 10]).toBeGreaterThan(150);
    expect(wide.data[199 * 250 + 10]).toBeGreaterThan(150);
    expect(wide.data[200 * 250 + 10]).toBe(0);
    const keep = await decodeGrey(join(dir, 'wide.png'), { height: 0 });
    expect([keep.width, keep.height]).toEqual([250, 150]);
    // Tall: top half black, bottom half white; the centre crop keeps both halves equally.
    const tall = Buffer.alloc(100 * 400);
    tall.fill(255, 100 * 200);
    await sharp(tall, { raw: { width: 100, height: 400, channels: 1 } })
      .png()
      .toFile(join(dir, 'tall.png'));
    const t = await decodeGrey(join(dir, 'tall.png'), { width: 100, height: 100 });
    expect([t.width, t.height]).toEqual([100, 100]);
    expect(t.data[10 * 100 + 50]).toBe(0);
    expect(t.data[90 * 100 + 50]).toBe(255);
  });
});

describe('DICOM', () => {
  const cases = [
    {
      name: 'mono2_u16_voi',
      rows: 6,
      cols: 7,
      bits: 16,
      stored: 12,
      RescaleSlope: 1,
      RescaleIntercept: 0,
      WindowCenter: 2048,
      WindowWidth: 1000,
      range: [0, 4095],
    },
    {
      name: 'mono1_s16_rescale',
      rows: 5,
      cols: 9,
      bits: 16,
      signed: true,
      RescaleSlope: 2,
      RescaleIntercept: -100,
      WindowCenter: 40,
      WindowWidth: 4000,
      photometric: 'MONOCHROME1',
      range: [-2000, 2000],
    },
    { name: 'mono2_u8_minmax', rows: 8, cols: 3, bits: 8, range: [10, 200] },
    {
      name: 's16_stored12_voi',
      rows: 5,
      cols: 6,
      bits: 16,
      signed: true,
      stored: 12,
      WindowCenter: 0,
      WindowWidth: 2000,
      range: [-2048, 2047],
    },
    {
      name: 'mono1_s16_minmax',
      rows: 4,
      cols: 4,
      bits: 16,
      signed: true,
      RescaleSlope: 0.5,
      RescaleIntercept: 10,
      photometric: 'MONOCHROME1',
      range: [-500, 300],
    },
  ];
  let expected: Record<string, number[]>;
  beforeAll(() => {
    expected = python<Record<string, number[]>>(
      'make_dicom.py',
      [dir],
      JSON.stringify([...cases, { name: 'jpeg', rows: 4, cols: 4, bits: 16, syntax: '1.2.840.10008.1.2.4.50' }]),
    );
  });

  for (const c of cases) {
    it(`${c.name} matches pydicom's pixel_array with the standard's arithmetic`, async () => {
      const img = await decodeGrey(join(dir, `${c.name}.dcm`), { width: 0, height: 0 });
      expect([img.width, img.height, img.bitDepth]).toEqual([c.cols, c.rows, c.bits]);
      expect(Array.from(img.data)).toEqual(expected[c.name]);
    });
  }

  it('a compressed frame that is not what its transfer syntax says fails naming the file and the syntax', async () => {
    await expect(decodeGrey(join(dir, 'jpeg.dcm'))).rejects.toThrow(
      /jpeg\.dcm: DICOM JPEG Baseline \(Process 1\) pixel data has no JPEG frame header: corrupt/,
    );
  });
});

describe('bad files give errors naming the file', () => {
  it('missing, empty, text named .png, truncated PNG, too many pixels, bad options', async () => {
    await expect(decodeGrey(join(dir, 'nope.png'))).rejects.toThrow(`${join(dir, 'nope.png')}: file not found`);
    writeFileSync(join(dir, 'empty.png'), '');
    await expect(decodeGrey(join(dir, 'empty.png'))).rejects.toThrow(
      `${join(dir, 'empty.png')}: file is empty (0 bytes)`,
    );
    writeFileSync(join(dir, 'text.png'), 'hello, I am not an image\n');
    await expect(decodeGrey(join(dir, 'text.png'))).rejects.toThrow(
      /text\.png: not a PNG, JPEG or DICOM image \(its first bytes match none of their signatures\)$/,
    );
    const png = await sharp(Buffer.from(randomBytes(64 * 64, 5)), { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'trunc.png'), png.subarray(0, Math.floor(png.length / 2)));
    await expect(decodeGrey(join(dir, 'trunc.png'))).rejects.toThrow(/trunc\.png: cannot decode image/);
    writeFileSync(join(dir, 'big.png'), png);
    await expect(decodeGrey(join(dir, 'big.png'), { maxPixels: 1000 })).rejects.toThrow(
      /big\.png: image is 64 x 64 = 4096 pixels, over the limit of 1000/,
    );
    await expect(decodeGrey(join(dir, 'big.png'), { width: -1 })).rejects.toThrow(
      'Expected an integer between 0 and 65535 for width but received -1',
    );
    await expect(decodeGrey(join(dir, 'big.png'), { window: 'x' as never })).rejects.toThrow(
      /for window but received 'x'/,
    );
  });
});
