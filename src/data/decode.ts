/**
 * Image decoding to 8-bit grey: PNG and JPEG (8 or 16 bit) through sharp, DICOM in every transfer
 * syntax a radiograph arrives in on a worker thread (dicom-worker-pool.ts; frame 1 of multi-frame
 * files). Every image goes the same way: decode -> grey at its own depth -> map to 0..255 (window) ->
 * resize to `width` keeping aspect -> centre-crop or zero-pad the height to `height`.
 * Errors are DataErrors whose message starts with the file's path.
 */
import { closeSync, readSync } from 'node:fs';

import sharp, { type Metadata } from 'sharp';

import { expectInteger, expectNumber } from '../validate.js';
import { OptionError } from '../errors.js';
import { decodeDicomInWorker } from './dicom-worker-pool.js';
import { DataError } from './errors.js';
import { checkImageBudget, decodeBudget } from './image-budget.js';
import { openRegularFileSync, readRegularFile } from './regular-file.js';
import { applyWindow, type RawGrey, type Window } from './window.js';

export { applyWindow, type Window } from './window.js';

export interface DecodeOptions {
  /** Resize to this width keeping the aspect ratio (default 250); 0 keeps the decoded size. */
  width?: number;
  /**
   * Then centre-crop (taller) or zero-pad centred (shorter) the height to this (default 250: the cache
   * geometry; NIH's 1024x1024 becomes 250x250 untouched). 0 keeps the resized height.
   * Cropping was chosen over squashing so anatomy keeps its aspect, as the protocol's resize does (docs/protocol.md).
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
  /** A multi-frame DICOM's NumberOfFrames: frame 1 was decoded (absent for single images). */
  frames?: number;
}

export type ImageFormat = 'png' | 'jpeg' | 'dicom';

const DEFAULT_MAX_PIXELS = 100_000_000;

/** Format from the first bytes (never the extension: a text file named .png must fail clearly). */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  if (head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d)
    return 'dicom';
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
  const head = readHead(path);
  const format = sniffFormat(head);
  // Never the bytes themselves: a table can name any file, and the skip report is printed.
  if (!format)
    throw new DataError(path, 'not a PNG, JPEG or DICOM image (its first bytes match none of their signatures)');
  if (format === 'dicom') {
    const d = await decodeDicomInWorker(path, opts.window, opts.maxPixels, opts.width);
    const img = await fitGeometry(
      path,
      { data: d.data, width: d.width, height: d.height, bitDepth: d.bitDepth },
      false,
      opts,
    );
    return d.frames > 1 ? { ...img, frames: d.frames } : img;
  }
  const bytes = await readRegularFile(path);
  const meta = await declaredRaster(path, bytes, opts);
  return decodeBudget.with(meta.cost, async () => {
    const raw = await decodeRaster(path, bytes, meta, opts);
    const data = raw.final ? (raw.values as Uint8Array) : applyWindow(raw, opts.window);
    return fitGeometry(
      path,
      { data, width: raw.width, height: raw.height, bitDepth: raw.bitDepth },
      Boolean(raw.final),
      opts,
    );
  });
}

/**
 * Bytes a progressive JPEG's decode holds per pixel: libjpeg keeps every DCT coefficient of the whole
 * image (2 bytes each) and libvips a decoded copy (measured: 10000 x 10000 grey held 660 MB).
 */
const PROGRESSIVE_BYTES_PER_PIXEL = 8;

interface DeclaredRaster {
  width: number;
  height: number;
  sixteen: boolean;
  /** Estimated bytes the decode holds (checkImageBudget). */
  cost: number;
}

/** The header's size and depth, checked against the limits and the decode budget before decoding. */
async function declaredRaster(path: string, bytes: Buffer, opts: Required<DecodeOptions>): Promise<DeclaredRaster> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new DataError(path, `cannot decode image (${(err as Error).message.trim()})`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const sixteen = meta.depth === 'ushort' || meta.depth === 'short';
  const channels = meta.channels ?? 4;
  // Decoded samples, then the grey and 8-bit copies.
  const bytesPerPixel = meta.isProgressive ? PROGRESSIVE_BYTES_PER_PIXEL : channels * (sixteen ? 2 : 1) + 2;
  const cost = checkImageBudget(
    path,
    { width, height, bytesPerPixel, fixedBytes: bytes.length },
    { maxPixels: opts.maxPixels, targetWidth: opts.width },
  );
  return { width, height, sixteen, cost };
}

/**
 * Reads only the first bytes (format sniffing without loading the file), of a regular, non-empty file
 * within the size limit: anything else is a DataError naming the file.
 */
export function readHead(path: string, n = 132): Uint8Array {
  const { fd, size } = openRegularFileSync(path);
  try {
    if (size === 0) throw new DataError(path, 'file is empty (0 bytes)');
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(path, `cannot read (${(err as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

async function decodeRaster(
  path: string,
  bytes: Buffer,
  declared: DeclaredRaster,
  opts: Required<DecodeOptions>,
): Promise<RawGrey> {
  try {
    const { width: w, sixteen } = declared;
    const pipeline = sharp(bytes, { limitInputPixels: opts.maxPixels, failOn: 'truncated' }).removeAlpha();
    if (sixteen) {
      const { data, info } = await pipeline
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const all = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      return {
        values: firstChannel(all, info.channels),
        width: info.width,
        height: info.height,
        bitDepth: 16,
        fullRange: [0, 65535],
        autoMode: 'full',
      };
    }
    if (opts.window === 'auto' || opts.window === 'full') {
      // 8 bits to 8 bits is the identity: let sharp resize in the same pipeline (one decode pass).
      if (opts.width > 0 && opts.width !== w) pipeline.resize({ width: opts.width, kernel: 'lanczos3' });
      const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      const values = firstChannel(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels);
      return {
        values,
        width: info.width,
        height: info.height,
        bitDepth: 8,
        fullRange: [0, 255],
        autoMode: 'full',
        final: true,
      };
    }
    const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    return {
      values: firstChannel(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels),
      width: info.width,
      height: info.height,
      bitDepth: 8,
      fullRange: [0, 255],
      autoMode: 'full',
    };
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

/** Resizes 8-bit grey to the requested width (unless `resized` already), then fits the height. */
async function fitGeometry(
  path: string,
  img: GreyImage,
  resized: boolean,
  opts: Required<DecodeOptions>,
): Promise<GreyImage> {
  let { data, width, height } = img;
  if (!resized && opts.width > 0 && opts.width !== width) {
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
  return { data, width, height, bitDepth: img.bitDepth };
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
