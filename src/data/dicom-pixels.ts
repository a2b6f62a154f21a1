/**
 * DICOM pixels: frame 1 of a guarded file (see dicom-lengths.ts) in any supported transfer syntax,
 * as stored values (BitsStored bits, sign-extended when PixelRepresentation is 1), then the modality
 * rescale and the file's VOI window, ready for windowing to 8 bits. Runs in the decode worker.
 */
import { decodeCodestream, jpegFrameHeader, type CodecName, type DecodedFrame } from './dicom-codecs.js';
import {
  checkDicomLengths,
  EXPLICIT_BE,
  PIXEL_DATA,
  SYNTAX_NAMES,
  type DicomLayout,
  type ElementRef,
} from './dicom-lengths.js';
import { DataError } from './errors.js';
import { checkImageBudget } from './image-budget.js';
import type { RawGrey, VoiLut } from './window.js';

const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', EXPLICIT_BE]);
const RLE = '1.2.840.10008.1.2.5';
const CODECS: Record<string, CodecName> = {
  '1.2.840.10008.1.2.4.50': 'jpeg8',
  '1.2.840.10008.1.2.4.51': 'jpeg8',
  '1.2.840.10008.1.2.4.57': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.70': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.80': 'jpeg-ls',
  '1.2.840.10008.1.2.4.81': 'jpeg-ls',
  '1.2.840.10008.1.2.4.90': 'j2k',
  '1.2.840.10008.1.2.4.91': 'j2k',
  '1.2.840.10008.1.2.4.201': 'htj2k',
  '1.2.840.10008.1.2.4.202': 'htj2k',
  '1.2.840.10008.1.2.4.203': 'htj2k',
};

export type StoredSamples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The narrowest array for `n` samples of `bits` bits (signed or not). */
function samplesOf(bits: number, signed: boolean, n: number): StoredSamples {
  if (bits <= 8) return signed ? new Int8Array(n) : new Uint8Array(n);
  if (bits <= 16) return signed ? new Int16Array(n) : new Uint16Array(n);
  return signed ? new Int32Array(n) : new Uint32Array(n);
}

/**
 * Bytes a decode holds per pixel beyond the file: codec output (and its copy out of WebAssembly), samples, 8-bit
 * output.
 */
function bytesPerPixel(allocated: number, compressed: boolean): number {
  const sample = allocated / 8;
  return (compressed ? 3 : 2) * sample + 1;
}

/** Limits of one decode besides maxPixels: the resize target (checked with the budget) and the budget. */
export interface FrameLimits {
  targetWidth?: number;
  budgetBytes?: number;
}

/** Frame 1 of a DICOM file as stored values, with what the header says about them. */
export interface DicomFrame {
  /** rows x columns, row-major: BitsStored bits of each sample, sign-extended when signed, in the narrowest type. */
  stored: StoredSamples;
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** NumberOfFrames (1 when absent); only frame 1 is decoded. */
  frames: number;
  syntax: string;
  layout: DicomLayout;
}

/** Reads the values the decoder needs from the guarded layout (byte order and VR as the file has them). */
class Header {
  private readonly view: DataView;
  constructor(private readonly layout: DicomLayout) {
    const b = layout.body;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  ref(tag: number): ElementRef | undefined {
    return this.layout.elements.get(tag);
  }
  /** First value of a US/SS element, or of an IS/DS string. */
  number(tag: number, elements = this.layout.elements): number | undefined {
    const e = elements.get(tag);
    if (!e || e.length === 0) return undefined;
    if (e.vr === 'US' || e.vr === 'SS' || (e.vr === 'UN' && e.length === 2)) {
      if (e.length < 2) return undefined;
      return e.vr === 'SS'
        ? this.view.getInt16(e.offset, this.layout.littleEndian)
        : this.view.getUint16(e.offset, this.layout.littleEndian);
    }
    const n = Number(this.strings(tag, elements)[0]);
    return Number.isFinite(n) ? n : undefined;
  }
  numbers(tag: number, elements = this.layout.elements): number[] {
    return this.strings(tag, elements).map(Number).filter(Number.isFinite);
  }
  /** 16-bit words of a US/SS/OW value (or UN in implicit VR files), in the file's byte order. */
  words(tag: number, elements = this.layout.elements): number[] {
    const e = elements.get(tag);
    if (!e || e.length < 2) return [];
    return Array.from({ length: e.length >> 1 }, (_, i) =>
      this.view.getUint16(e.offset + 2 * i, this.layout.littleEndian),
    );
  }
  firstItem(tag: number): Map<number, ElementRef> | undefined {
    return this.layout.firstItems.get(tag);
  }
  strings(tag: number, elements = this.layout.elements): string[] {
    const e = elements.get(tag);
    if (!e || e.length <= 0) return [];
    const text = Buffer.from(this.layout.body.buffer, this.layout.body.byteOffset + e.offset, e.length).toString(
      'latin1',
    );
    return text
      .replace(/[\0 ]+$/, '')
      .split('\\')
      .map((s) => s.trim());
  }
}

const T = {
  samples: 0x00280002,
  photometric: 0x00280004,
  frames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  allocated: 0x00280100,
  stored: 0x00280101,
  representation: 0x00280103,
  center: 0x00281050,
  width: 0x00281051,
  intercept: 0x00281052,
  slope: 0x00281053,
  modalityLutSequence: 0x00283000,
  voiLutSequence: 0x00283010,
  lutDescriptor: 0x00283002,
  lutData: 0x00283006,
};

/** Guards, then decodes frame 1 to stored values. Throws DataErrors naming the file. */
export async function decodeDicomFrame(
  path: string,
  bytes: Uint8Array,
  maxPixels: number,
  limits: FrameLimits = {},
): Promise<DicomFrame> {
  const layout = checkDicomLengths(path, bytes);
  const h = new Header(layout);
  const syntax = layout.syntax;
  const rows = h.number(T.rows) ?? 0;
  const columns = h.number(T.columns) ?? 0;
  if (!h.ref(PIXEL_DATA)) throw new DataError(path, 'DICOM has no pixel data');
  const samples = h.number(T.samples) ?? 1;
  if (samples !== 1)
    throw new DataError(
      path,
      `DICOM has ${samples} samples per pixel (${h.strings(T.photometric)[0] ?? 'colour'}); only grey (1) is supported`,
    );
  const photometric = (h.strings(T.photometric)[0] || 'MONOCHROME2').toUpperCase();
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')
    throw new DataError(
      path,
      `DICOM photometric interpretation ${photometric} is not supported (MONOCHROME1 or MONOCHROME2)`,
    );
  const allocated = h.number(T.allocated) ?? 16;
  if (allocated !== 8 && allocated !== 16 && allocated !== 32)
    throw new DataError(path, `DICOM BitsAllocated ${allocated} is not supported (8, 16 or 32)`);
  const stored = h.number(T.stored) ?? allocated;
  if (!(stored >= 1 && stored <= allocated))
    throw new DataError(path, `DICOM BitsStored ${stored} is not between 1 and BitsAllocated (${allocated})`);
  const signed = h.number(T.representation) === 1;
  const frames = Math.max(1, Math.floor(h.number(T.frames) ?? 1));
  // Every buffer of the decode is sized from the header: checked before the first is allocated.
  const fixedBytes = bytes.length + (layout.body.buffer === bytes.buffer ? 0 : layout.body.length);
  checkImageBudget(
    path,
    { width: columns, height: rows, bytesPerPixel: bytesPerPixel(allocated, !NATIVE.has(syntax)), fixedBytes },
    { maxPixels, targetWidth: limits.targetWidth ?? 0, budgetBytes: limits.budgetBytes },
  );
  const n = rows * columns;
  let words: ArrayLike<number>;
  try {
    if (NATIVE.has(syntax)) words = nativeFrame(path, layout, h.ref(PIXEL_DATA)!, n, allocated);
    else if (syntax === RLE) words = rleFrame(path, firstFrame(path, layout, frames), rows, columns, allocated);
    else
      words = checkDecoded(
        path,
        await codecFrame(path, syntax, firstFrame(path, layout, frames), rows, columns),
        rows,
        columns,
        allocated,
      );
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(
      path,
      `cannot decode DICOM pixel data (${SYNTAX_NAMES[syntax]}, ${syntax}): ${(err as Error).message}`,
    );
  }
  // Keep only BitsStored bits (sign-extended when signed): bits above may hold overlays.
  const out = samplesOf(stored, signed, n);
  if (stored === 32) {
    for (let i = 0; i < n; i++) out[i] = signed ? words[i]! | 0 : words[i]! >>> 0;
  } else {
    const shift = 32 - stored;
    for (let i = 0; i < n; i++) out[i] = signed ? (words[i]! << shift) >> shift : (words[i]! << shift) >>> shift;
  }
  return {
    stored: out,
    rows,
    columns,
    bitsAllocated: allocated,
    bitsStored: stored,
    signed,
    photometric,
    frames,
    syntax,
    layout,
  };
}

/** Uncompressed frame 1 in the file's byte order. */
function nativeFrame(
  path: string,
  layout: DicomLayout,
  pixels: ElementRef,
  n: number,
  allocated: number,
): ArrayLike<number> {
  const bytesNeeded = (n * allocated) / 8;
  if (pixels.length < bytesNeeded)
    throw new DataError(
      path,
      `DICOM pixel data is truncated (${pixels.length} bytes, ${n} pixels x ${allocated / 8} bytes expected)`,
    );
  const view = new DataView(layout.body.buffer, layout.body.byteOffset + pixels.offset, bytesNeeded);
  const le = layout.littleEndian;
  // Big endian OW swaps bytes in 16-bit words even for 8-bit samples (PS3.5 A.3).
  if (allocated === 8 && !le && pixels.vr === 'OW')
    return Uint8Array.from({ length: n }, (_, i) => view.getUint8(i ^ 1));
  if (allocated === 8) return new Uint8Array(view.buffer, view.byteOffset, n);
  const out = allocated === 16 ? new Uint16Array(n) : new Uint32Array(n);
  if (allocated === 16) for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, le);
  else for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, le);
  return out;
}

/** The bytes of frame 1 of encapsulated pixel data (PS3.5 A.4). */
function firstFrame(path: string, layout: DicomLayout, frames: number): Uint8Array {
  const enc = layout.fragments;
  if (!enc || enc.fragments.length === 0)
    throw new DataError(
      path,
      `DICOM transfer syntax ${layout.syntax} (${SYNTAX_NAMES[layout.syntax]}) needs encapsulated pixel data, but the pixel data is not encapsulated or holds no fragment`,
    );
  const b = layout.body;
  const frags = enc.fragments;
  let count = frags.length;
  if (frames > 1) {
    const table =
      enc.offsetTable.length >= 8
        ? new DataView(b.buffer, b.byteOffset + enc.offsetTable.offset, enc.offsetTable.length)
        : undefined;
    if (table) {
      // Fragments whose item starts before frame 2's offset (offsets count from the first fragment's item).
      const second = table.getUint32(4, true);
      let at = 0;
      count = 0;
      while (count < frags.length && at < second) at += frags[count++]!.length + 8;
    } else if (frags.length === frames) count = 1;
    else {
      // No table: frame 1 ends with the fragment that ends with an end-of-image marker (JPEG family).
      count = frags.findIndex((f) => endsWithEoi(b, f)) + 1 || frags.length;
    }
  }
  if (count === 1) return b.subarray(frags[0]!.offset, frags[0]!.offset + frags[0]!.length);
  const total = frags.slice(0, count).reduce((s, f) => s + f.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of frags.slice(0, count)) {
    out.set(b.subarray(f.offset, f.offset + f.length), at);
    at += f.length;
  }
  return out;
}

function endsWithEoi(b: Uint8Array, f: ElementRef): boolean {
  let end = f.offset + f.length;
  while (end > f.offset && b[end - 1] === 0) end--; // fragments are padded to even length
  return end - f.offset >= 2 && b[end - 2] === 0xff && b[end - 1] === 0xd9;
}

/** Picks the codec (for JPEG by the codestream's own frame header) and decodes. */
async function codecFrame(
  path: string,
  syntax: string,
  codestream: Uint8Array,
  rows: number,
  columns: number,
): Promise<DecodedFrame> {
  let codec = CODECS[syntax]!;
  // The codestream's own header first: a size other than the DICOM header's is refused before any
  // codec allocates for it (a few bytes can declare 60000 x 60000).
  const declared = codec === 'j2k' || codec === 'htj2k' ? j2kSize(codestream) : jpegFrameHeader(codestream);
  const kind = codec === 'j2k' || codec === 'htj2k' ? 'JPEG 2000 image header (SIZ)' : 'JPEG frame header';
  if (!declared) throw new DataError(path, `DICOM ${SYNTAX_NAMES[syntax]} pixel data has no ${kind}: corrupt`);
  if (declared.width !== columns || declared.height !== rows)
    throw new DataError(
      path,
      `DICOM says ${columns} x ${rows} but the compressed frame declares ${declared.width} x ${declared.height}: corrupt`,
    );
  if (declared.components !== 1)
    throw new DataError(path, `the compressed frame has ${declared.components} components; only grey (1) is supported`);
  if (codec === 'jpeg8' || codec === 'jpeg-lossless') {
    const sof = declared as NonNullable<ReturnType<typeof jpegFrameHeader>>;
    if (sof.marker === 0xc3) codec = 'jpeg-lossless';
    else if (sof.precision > 8) codec = 'jpeg12';
    else codec = 'jpeg8';
  }
  return decodeCodestream(codec, codestream);
}

/** Image size and components from a JPEG 2000 codestream's SIZ marker (ISO 15444-1 A.5.1). */
function j2kSize(b: Uint8Array): { width: number; height: number; components: number } | undefined {
  // The codestream starts with SOC + SIZ; a JP2 file wraps it in boxes, so look a little further.
  const limit = Math.min(b.length - 42, 4096);
  for (let i = 0; i <= limit; i++) {
    if (b[i] !== 0xff || b[i + 1] !== 0x4f || b[i + 2] !== 0xff || b[i + 3] !== 0x51) continue;
    const v = new DataView(b.buffer, b.byteOffset + i + 4);
    const [x, y, x0, y0] = [v.getUint32(4), v.getUint32(8), v.getUint32(12), v.getUint32(16)];
    return { width: x - x0, height: y - y0, components: v.getUint16(36) };
  }
  return undefined;
}

function checkDecoded(
  path: string,
  d: DecodedFrame,
  rows: number,
  columns: number,
  allocated: number,
): ArrayLike<number> {
  if (d.width !== columns || d.height !== rows)
    throw new DataError(
      path,
      `DICOM says ${columns} x ${rows} but the compressed frame is ${d.width} x ${d.height}: corrupt`,
    );
  if (d.components !== 1)
    throw new DataError(path, `the compressed frame has ${d.components} components; only grey (1) is supported`);
  if (d.bits > allocated)
    throw new DataError(
      path,
      `the compressed frame has ${d.bits} bits per sample, more than BitsAllocated (${allocated})`,
    );
  if (d.samples.length < rows * columns)
    throw new DataError(
      path,
      `the compressed frame decoded to ${d.samples.length} samples, ${rows * columns} expected`,
    );
  return d.samples;
}

/** RLE Lossless (PS3.5 G): one PackBits segment per byte of each sample, most significant first. */
function rleFrame(
  path: string,
  frame: Uint8Array,
  rows: number,
  columns: number,
  allocated: number,
): ArrayLike<number> {
  const n = rows * columns;
  const bytesPerSample = allocated / 8;
  if (frame.length < 64) throw new DataError(path, 'DICOM RLE frame is shorter than its 64-byte header: corrupt');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== bytesPerSample)
    throw new DataError(
      path,
      `DICOM RLE frame has ${segments} segments, ${bytesPerSample} expected for one ${allocated}-bit sample per pixel`,
    );
  const out = allocated === 8 ? new Uint8Array(n) : allocated === 16 ? new Uint16Array(n) : new Uint32Array(n);
  const plane = new Uint8Array(n);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (!(start >= 64 && start <= end && end <= frame.length))
      throw new DataError(
        path,
        `DICOM RLE segment ${s + 1} has offsets ${start}..${end} outside its ${frame.length}-byte frame: corrupt`,
      );
    unpackBits(frame.subarray(start, end), plane);
    const shift = 8 * (segments - 1 - s);
    for (let i = 0; i < n; i++) out[i] = (out[i]! | (plane[i]! << shift)) >>> 0;
  }
  return out;
}

/** PackBits: a header byte n, then n+1 literal bytes (n < 128) or one byte repeated 257-n times (n > 128). */
function unpackBits(src: Uint8Array, dst: Uint8Array): void {
  dst.fill(0);
  let i = 0;
  let o = 0;
  while (i < src.length && o < dst.length) {
    const h = src[i++]!;
    if (h < 128) {
      const len = Math.min(h + 1, dst.length - o, src.length - i);
      dst.set(src.subarray(i, i + len), o);
      i += h + 1;
      o += len;
    } else if (h > 128) {
      const len = Math.min(257 - h, dst.length - o);
      if (i < src.length) dst.fill(src[i]!, o, o + len);
      i++;
      o += len;
    } else i++; // 128: no operation
  }
}

/** The first item of a LUT sequence (Modality or VOI), when it is well formed (else it is ignored). */
function lutOf(h: Header, sequence: number, signed: boolean): VoiLut | undefined {
  const item = h.firstItem(sequence);
  if (!item) return undefined;
  const d = h.words(T.lutDescriptor, item);
  if (d.length < 3) return undefined;
  const count = d[0] || 65536;
  // The first mapped value is signed when the pixels are (PS3.3 C.11.2.1.1).
  const first = signed ? (d[1]! << 16) >> 16 : d[1]!;
  const bits = d[2]!;
  const data = item.get(T.lutData);
  if (!data || !(bits === 8 || (bits >= 10 && bits <= 16))) return undefined;
  const entries = h.words(T.lutData, item);
  return entries.length >= count ? { first, entries: entries.slice(0, count), bits } : undefined;
}

/** Stored values through the modality LUT or rescale, with the file's VOI LUT or window and the 'full' range. */
export function dicomToRawGrey(f: DicomFrame): RawGrey {
  const h = new Header(f.layout);
  let values: ArrayLike<number> = f.stored;
  let rescale: RawGrey['rescale'];
  const lo = f.signed ? -(2 ** (f.bitsStored - 1)) : 0;
  const hi = f.signed ? 2 ** (f.bitsStored - 1) - 1 : 2 ** f.bitsStored - 1;
  let fullRange: [number, number];
  const modality = lutOf(h, T.modalityLutSequence, f.signed);
  if (modality) {
    // A Modality LUT replaces the rescale (PS3.3 C.11.1): its outputs span 0..2^bits-1.
    const { first, entries } = modality;
    const last = entries.length - 1;
    const mapped = new Uint16Array(f.stored.length);
    for (let i = 0; i < mapped.length; i++)
      mapped[i] = entries[Math.min(last, Math.max(0, Math.trunc(f.stored[i]! - first)))]!;
    values = mapped;
    fullRange = [0, 2 ** modality.bits - 1];
  } else {
    const slope = h.number(T.slope) ?? 1;
    const intercept = h.number(T.intercept) ?? 0;
    if (slope !== 1 || intercept !== 0) rescale = { slope, intercept };
    const ends = [lo * slope + intercept, hi * slope + intercept];
    fullRange = [Math.min(...ends), Math.max(...ends)];
  }
  const center = h.numbers(T.center)[0];
  const width = h.numbers(T.width)[0];
  return {
    values,
    width: f.columns,
    height: f.rows,
    bitDepth: f.bitsAllocated,
    fullRange,
    fileWindow: center !== undefined && width !== undefined && width >= 1 ? { center, width } : undefined,
    fileLut: lutOf(h, T.voiLutSequence, f.signed),
    invert: f.photometric === 'MONOCHROME1',
    autoMode: 'minmax',
    ...(rescale ? { rescale } : {}),
  };
}
