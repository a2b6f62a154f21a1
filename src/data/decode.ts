/**
 * Image decoding to 8-bit grey: PNG and JPEG (8 or 16 bit) through sharp, DICOM through dcmjs.
 * Every image goes the same way: decode -> grey at its own depth -> map to 0..255 (window) ->
 * resize to `width` keeping aspect -> centre-crop or zero-pad the height to `height`.
 * Errors are DataErrors whose message starts with the file's path.
 */
import { open, readFile, stat } from 'node:fs/promises';

import dcmjs from 'dcmjs';
import sharp from 'sharp';

import { expectInteger, expectNumber } from '../validate.js';
import { OptionError } from '../errors.js';
import { checkDicomLengths } from './dicom-lengths.js';
import { DataError } from './errors.js';

/** How values of more than 8 bits become 0..255. */
export type Window =
  /** PNG/JPEG: the type's full range (0..65535 for 16 bit). DICOM: the file's VOI window, else min-max. */
  | 'auto'
  /** The full range of the stored type (DICOM: BitsStored, through the rescale). */
  | 'full'
  /** The image's own min..max. */
  | 'minmax'
  /** A DICOM-style linear window (PS3.3 C.11.2.1.2) in the image's (rescaled) units. */
  | { center: number; width: number };

export interface DecodeOptions {
  /** Resize to this width keeping the aspect ratio (default 250); 0 keeps the decoded size. */
  width?: number;
  /**
   * Then centre-crop (taller) or zero-pad centred (shorter) the height to this (default 250: the cache
   * geometry; NIH's 1024x1024 becomes 250x250 untouched). 0 keeps the resized height.
   * Cropping was chosen over squashing so anatomy keeps its aspect, as SPEC.md's resize does.
   */
  height?: number;
  window?: Window;
  /** Refuse images of more pixels than this (default 100 million), before decoding them. */
  maxPixels?: number;
}

export interface GreyImage {
  /** height x width, row-major, 0..255. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Bits per sample of the source (8 or 16; DICOM: BitsAllocated). */
  bitDepth: number;
}

export type ImageFormat = 'png' | 'jpeg' | 'dicom';

const DEFAULT_MAX_PIXELS = 100_000_000;

/** Format from the first bytes (never the extension: a text file named .png must fail clearly). */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  if (head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d) return 'dicom';
  return undefined;
}

export function validateDecodeOptions(opts: DecodeOptions = {}): Required<DecodeOptions> {
  const width = opts.width === undefined ? 250 : expectInteger(opts.width, 'width', 0, 65535);
  const height = opts.height === undefined ? 250 : expectInteger(opts.height, 'height', 0, 65535);
  const maxPixels = opts.maxPixels === undefined ? DEFAULT_MAX_PIXELS : expectInteger(opts.maxPixels, 'maxPixels', 1);
  const w = opts.window ?? 'auto';
  if (typeof w === 'object' && w !== null) {
    expectNumber(w.center, 'window.center');
    expectNumber(w.width, 'window.width', 1);
  } else if (w !== 'auto' && w !== 'full' && w !== 'minmax') {
    throw new OptionError('window', "'auto', 'full', 'minmax' or { center, width }", w);
  }
  return { width, height, maxPixels, window: w };
}

/** Decodes one image file to 8-bit grey at the requested geometry. */
export async function decodeGrey(path: string, options: DecodeOptions = {}): Promise<GreyImage> {
  const opts = validateDecodeOptions(options);
  const bytes = await readImageFile(path);
  const format = sniffFormat(bytes);
  if (!format) {
    const start = Buffer.from(bytes.subarray(0, 12)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    throw new DataError(path, `not a PNG, JPEG or DICOM image (content starts with '${start}')`);
  }
  const grey = format === 'dicom' ? decodeDicomPixels(path, bytes, opts) : await decodeRaster(path, bytes, opts);
  return fitGeometry(path, grey, opts);
}

async function readImageFile(path: string): Promise<Buffer> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new DataError(path, 'not a file');
    size = s.size;
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`);
  }
  if (size === 0) throw new DataError(path, 'file is empty (0 bytes)');
  try {
    return await readFile(path);
  } catch (err) {
    throw new DataError(path, `cannot read (${(err as Error).message})`);
  }
}

/** Reads only the first bytes (format sniffing without loading the file). */
export async function readHead(path: string, n = 132): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Grey pixels at source depth before windowing. */
interface RawGrey {
  values: ArrayLike<number>;
  width: number;
  height: number;
  bitDepth: number;
  /** The range 'full' maps to 0..255. */
  fullRange: [number, number];
  /** A window from the file (DICOM VOI), used by 'auto'. */
  fileWindow?: { center: number; width: number };
  /** MONOCHROME1: high values are dark; inverted after windowing. */
  invert?: boolean;
  /** For 'auto' without a file window: 'full' (PNG/JPEG) or 'minmax' (DICOM). */
  autoMode: 'full' | 'minmax';
  /** Already 8-bit at the requested width: only the height fit remains. */
  final?: boolean;
}

async function decodeRaster(path: string, bytes: Buffer, opts: Required<DecodeOptions>): Promise<RawGrey> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    checkPixels(path, w, h, opts.maxPixels);
    const sixteen = meta.depth === 'ushort' || meta.depth === 'short';
    const pipeline = sharp(bytes, { limitInputPixels: opts.maxPixels, failOn: 'truncated' }).removeAlpha();
    if (sixteen) {
      const { data, info } = await pipeline.toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const all = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      return { values: firstChannel(all, info.channels), width: info.width, height: info.height, bitDepth: 16, fullRange: [0, 65535], autoMode: 'full' };
    }
    if (opts.window === 'auto' || opts.window === 'full') {
      // 8 bits to 8 bits is the identity: let sharp resize in the same pipeline (one decode pass).
      if (opts.width > 0 && opts.width !== w) pipeline.resize({ width: opts.width, kernel: 'lanczos3' });
      const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      const values = firstChannel(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels);
      return { values, width: info.width, height: info.height, bitDepth: 8, fullRange: [0, 255], autoMode: 'full', final: true };
    }
    const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    return { values: firstChannel(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels), width: info.width, height: info.height, bitDepth: 8, fullRange: [0, 255], autoMode: 'full' };
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(path, `cannot decode image (${(err as Error).message.trim()})`);
  }
}

function firstChannel<T extends Uint8Array | Uint16Array>(data: T, channels: number): T {
  if (channels === 1) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels];
  return out;
}

function checkPixels(path: string, w: number, h: number, maxPixels: number): void {
  if (!(w > 0 && h > 0)) throw new DataError(path, `image has no size (${w} x ${h})`);
  if (w * h > maxPixels) throw new DataError(path, `image is ${w} x ${h} = ${w * h} pixels, over the limit of ${maxPixels} (option maxPixels)`);
}

/** Transfer syntaxes with pixel data dcmjs hands over as plain little-endian arrays. */
const NATIVE_SYNTAXES = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);
const SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Lossy (Near-Lossless)',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000 Image Compression',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

function num(v: unknown): number | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  const n = typeof x === 'string' ? Number(x) : x;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function decodeDicomPixels(path: string, bytes: Buffer, opts: Required<DecodeOptions>): RawGrey {
  let ds: Record<string, unknown>;
  let syntax: string;
  try {
    checkDicomLengths(path, bytes);  // before dcmjs, which trusts lengths past the end of the file
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const dict = dcmjs.data.DicomMessage.readFile(ab);
    syntax = String(dict.meta['00020010']?.Value?.[0] ?? '1.2.840.10008.1.2').replace(/\0/g, '').trim();
    if (!NATIVE_SYNTAXES.has(syntax)) {
      throw new DataError(path, `DICOM transfer syntax ${syntax} (${SYNTAX_NAMES[syntax] ?? 'unknown'}) is not supported: only uncompressed little-endian (1.2.840.10008.1.2, 1.2.840.10008.1.2.1) can be decoded; convert it first (e.g. gdcmconv --raw or dcmdjpeg)`);
    }
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(path, `cannot parse DICOM (${(err as Error).message})`);
  }
  const rows = num(ds.Rows) ?? 0;
  const cols = num(ds.Columns) ?? 0;
  checkPixels(path, cols, rows, opts.maxPixels);
  const samples = num(ds.SamplesPerPixel) ?? 1;
  if (samples !== 1) throw new DataError(path, `DICOM has ${samples} samples per pixel; only grey (1) is supported`);
  const photometric = String(ds.PhotometricInterpretation ?? 'MONOCHROME2').trim();
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') throw new DataError(path, `DICOM photometric interpretation ${photometric} is not supported (MONOCHROME1 or MONOCHROME2)`);
  const allocated = num(ds.BitsAllocated) ?? 16;
  if (allocated !== 8 && allocated !== 16) throw new DataError(path, `DICOM BitsAllocated ${allocated} is not supported (8 or 16)`);
  const stored = num(ds.BitsStored) ?? allocated;
  if (!(stored >= 1 && stored <= allocated)) throw new DataError(path, `DICOM BitsStored ${stored} is not between 1 and BitsAllocated (${allocated})`);
  const signed = num(ds.PixelRepresentation) === 1;
  const pixelData = ds.PixelData as ArrayBuffer[] | ArrayBuffer | undefined;
  const frame = Array.isArray(pixelData) ? pixelData[0] : pixelData;
  if (!frame) throw new DataError(path, 'DICOM has no pixel data');
  const n = rows * cols;
  const bytesNeeded = (n * allocated) / 8;
  if (frame.byteLength < bytesNeeded) throw new DataError(path, `DICOM pixel data is truncated (${frame.byteLength} bytes, ${rows} x ${cols} x ${allocated / 8} expected)`);
  const copy = frame.slice(0, bytesNeeded);
  const raw = allocated === 8 ? (signed ? new Int8Array(copy) : new Uint8Array(copy)) : signed ? new Int16Array(copy) : new Uint16Array(copy);
  const slope = num(ds.RescaleSlope) ?? 1;
  const intercept = num(ds.RescaleIntercept) ?? 0;
  const values = new Float64Array(n);
  const shift = 32 - stored;
  for (let i = 0; i < n; i++) {
    // Keep only BitsStored bits (sign-extended when signed): bits above may hold overlays.
    const v = signed ? (raw[i] << shift) >> shift : (raw[i] << shift) >>> shift;
    values[i] = v * slope + intercept;
  }
  const lo = signed ? -(2 ** (stored - 1)) : 0;
  const hi = signed ? 2 ** (stored - 1) - 1 : 2 ** stored - 1;
  const ends = [lo * slope + intercept, hi * slope + intercept];
  const center = num(ds.WindowCenter);
  const width = num(ds.WindowWidth);
  return {
    values,
    width: cols,
    height: rows,
    bitDepth: allocated,
    fullRange: [Math.min(...ends), Math.max(...ends)],
    fileWindow: center !== undefined && width !== undefined && width >= 1 ? { center, width } : undefined,
    invert: photometric === 'MONOCHROME1',
    autoMode: 'minmax',
  };
}

/** Maps source values to 0..255 by the chosen window (DICOM PS3.3 C.11.2.1.2 for center/width). */
export function applyWindow(img: { values: ArrayLike<number>; fullRange: [number, number]; fileWindow?: { center: number; width: number }; invert?: boolean; autoMode: 'full' | 'minmax' }, window: Window): Uint8Array {
  const { values } = img;
  const n = values.length;
  const out = new Uint8Array(n);
  let mode: Window = window === 'auto' ? (img.fileWindow ?? img.autoMode) : window;
  if (mode === 'full' && img.fullRange[0] === 0 && img.fullRange[1] === 255 && !img.invert) {
    for (let i = 0; i < n; i++) out[i] = values[i];
    return out;
  }
  let lo: number;
  let hi: number;
  if (typeof mode === 'object') {
    const c = mode.center - 0.5;
    const w = mode.width - 1;
    lo = c - w / 2;
    hi = c + w / 2;
  } else if (mode === 'full') {
    [lo, hi] = img.fullRange;
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mode = 'minmax';
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let y = v <= lo ? 0 : v > hi ? 255 : Math.round((v - lo) * scale);
    if (img.invert) y = 255 - y;
    out[i] = y;
  }
  return out;
}

async function fitGeometry(path: string, raw: RawGrey, opts: Required<DecodeOptions>): Promise<GreyImage> {
  let data = raw.final ? (raw.values as Uint8Array) : applyWindow(raw, opts.window);
  let { width, height } = raw;
  if (!raw.final && opts.width > 0 && opts.width !== width) {
    try {
      const r = await sharp(data, { raw: { width, height, channels: 1 }, limitInputPixels: false })
        .resize({ width: opts.width, kernel: 'lanczos3' })
        .toColourspace('b-w')
        .raw()
        .toBuffer({ resolveWithObject: true });
      data = firstChannel(new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength), r.info.channels);
      width = r.info.width;
      height = r.info.height;
    } catch (err) {
      throw new DataError(path, `cannot resize (${(err as Error).message})`);
    }
  }
  if (opts.height > 0 && opts.height !== height) {
    data = cropOrPadHeight(data, width, height, opts.height);
    height = opts.height;
  }
  return { data, width, height, bitDepth: raw.bitDepth };
}

/** Centre-crops (taller) or zero-pads centred (shorter) rows to `target` rows. */
export function cropOrPadHeight(data: Uint8Array, width: number, height: number, target: number): Uint8Array {
  const out = new Uint8Array(width * target);
  if (height >= target) {
    const top = Math.floor((height - target) / 2);
    out.set(data.subarray(top * width, (top + target) * width));
  } else {
    const top = Math.floor((target - height) / 2);
    out.set(data, top * width);
  }
  return out;
}
