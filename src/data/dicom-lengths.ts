/**
 * The DICOM guard: walks a whole file (file meta, every element, sequence, item and encapsulated
 * fragment, to its delimiters) and checks each declared length against its container before any
 * parser sees the bytes. dcmjs trusts a length past the end of the file and grows an array until V8
 * aborts the whole process; a deflated body could inflate 1000-fold. What cannot be checked (an
 * unknown transfer syntax, an explicit VR that is not two letters, sequences nested past MAX_DEPTH)
 * is refused, naming the file. The walk also records where the top-level elements and the pixel
 * data lie, so the pixel decoder reads values without a second parser.
 */
import { inflateRawSync } from 'node:zlib';

import dcmjs from 'dcmjs';

import { DataError } from './errors.js';

/** Sequences nested deeper than this are refused (real files nest a handful; SR trees a few dozen). */
export const MAX_DEPTH = 64;
/** A deflated body may inflate to at most this (the largest real radiographs are ~50 MB of pixels). */
export const MAX_INFLATED_BYTES = 256 * 2 ** 20;

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** Every transfer syntax the guard can walk (and the decoder can decode): name by UID. */
export const SYNTAX_NAMES: Record<string, string> = {
  [IMPLICIT_LE]: 'Implicit VR Little Endian',
  [EXPLICIT_LE]: 'Explicit VR Little Endian',
  [DEFLATED_LE]: 'Deflated Explicit VR Little Endian',
  [EXPLICIT_BE]: 'Explicit VR Big Endian',
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

// Explicit VR: these carry 2 reserved bytes and a 32-bit length; every other VR a 16-bit length.
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;

/** An element's value: where it lies in `DicomLayout.body`. */
export interface ElementRef {
  /** Explicit VR, or the dictionary's for implicit VR ('UN' when unknown). */
  vr: string;
  offset: number;
  length: number;
}

export interface DicomLayout {
  syntax: string;
  littleEndian: boolean;
  /** The bytes the offsets refer to: the file, or for a deflated file its meta and inflated body. */
  body: Uint8Array;
  /** Top-level elements by tag ((group << 16 | element) >>> 0). */
  elements: Map<number, ElementRef>;
  /** Top-level sequences' first items: their elements by tag. */
  firstItems: Map<number, Map<number, ElementRef>>;
  /** Top-level encapsulated pixel data: the basic offset table and the fragments, in order. */
  fragments?: { offsetTable: ElementRef; fragments: ElementRef[] };
}

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
export const tagName = (tag: number) => `(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`;

/** Dictionary answers by tag: an implicit VR body of 256 MiB holds up to 33 million elements. */
const vrByTag = new Map<number, string>();
const VR_CACHE_SIZE = 1 << 16;

/** The dictionary's VR of a tag (implicit VR files do not say), 'UN' for private or unknown tags. */
function dictionaryVr(tag: number): string {
  if ((tag >>> 16) & 1) return 'UN'; // private (odd group): not in the standard dictionary
  let vr = vrByTag.get(tag);
  if (vr !== undefined) return vr;
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[tagName(tag)];
  vr = entry?.vr && /^[A-Z]{2}$/.test(entry.vr) ? entry.vr : 'UN';
  if (vrByTag.size < VR_CACHE_SIZE) vrByTag.set(tag, vr);
  return vr;
}

/** A container being walked: the dataset, a sequence, an item or encapsulated pixel data. */
interface Frame {
  kind: 'dataset' | 'sequence' | 'item' | 'fragments';
  /** Where it ends; undefined: at its delimiter. */
  end?: number;
  tag: number;
  /** Implicit VR LE inside (a UN sequence of undefined length in an explicit file). */
  implicit: boolean;
  at: number;
}

/**
 * Walks the whole file; throws a DataError naming the file and what is wrong. `maxInflatedBytes`
 * bounds a deflated body (default MAX_INFLATED_BYTES).
 */
export function checkDicomLengths(path: string, bytes: Uint8Array, maxInflatedBytes = MAX_INFLATED_BYTES): DicomLayout {
  const fail = (detail: string): never => {
    throw new DataError(path, detail);
  };
  // File meta group (0002): always explicit VR little endian, elements of defined length.
  const meta = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 132; // 128-byte preamble + "DICM"
  let syntax = IMPLICIT_LE;
  while (pos + 2 <= bytes.length && meta.getUint16(pos, true) === 0x0002) {
    const e = readHeader(bytes, meta, pos, true, true, fail);
    if (e.length === UNDEFINED)
      fail(`DICOM element ${tagName(e.tag)} at byte ${pos} of the file meta has an undefined length`);
    const end = e.valueAt + e.length;
    if (end > bytes.length)
      fail(
        `DICOM element ${tagName(e.tag)} at byte ${pos} declares ${e.length} bytes, past the end of the file (${bytes.length} bytes): truncated or corrupt`,
      );
    if (e.tag === 0x00020010)
      syntax = Buffer.from(bytes.subarray(e.valueAt, end))
        .toString('latin1')
        .replace(/[\0 ]+$/, '')
        .trim();
    pos = end;
  }
  if (!(syntax in SYNTAX_NAMES))
    fail(
      `DICOM transfer syntax ${syntax} is unknown: it cannot be checked or decoded (known: ${Object.keys(SYNTAX_NAMES).join(', ')})`,
    );
  let body = bytes;
  if (syntax === DEFLATED_LE) body = inflateBody(path, bytes, pos, maxInflatedBytes);
  const littleEndian = syntax !== EXPLICIT_BE;
  const layout: DicomLayout = { syntax, littleEndian, body, elements: new Map(), firstItems: new Map() };
  walkDataset(path, layout, pos, syntax !== IMPLICIT_LE && !implicitAfterAll(body, pos, littleEndian), fail);
  return layout;
}

/**
 * Some writers declare explicit VR little endian and write implicit VR: like pydicom, trust the first
 * element's bytes (two capital letters where an explicit VR stands) over the declaration.
 */
function implicitAfterAll(body: Uint8Array, pos: number, littleEndian: boolean): boolean {
  if (!littleEndian || pos + 6 > body.length) return false;
  const vr = String.fromCharCode(body[pos + 4]!, body[pos + 5]!);
  return !/^[A-Z]{2}$/.test(vr);
}

function inflateBody(path: string, bytes: Uint8Array, metaEnd: number, limit: number): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(metaEnd), { maxOutputLength: limit });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new DataError(
        path,
        `deflated DICOM body inflates past the limit of ${limit} bytes (${Math.round(limit / 2 ** 20)} MiB): refused`,
      );
    }
    throw new DataError(path, `deflated DICOM body cannot be inflated (${e.message})`);
  }
  const body = new Uint8Array(metaEnd + inflated.length);
  body.set(bytes.subarray(0, metaEnd));
  body.set(inflated, metaEnd);
  return body;
}

interface Header {
  tag: number;
  vr: string;
  length: number;
  valueAt: number;
}

function readHeader(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  explicit: boolean,
  le: boolean,
  fail: (d: string) => never,
): Header {
  if (pos + 8 > bytes.length) fail(`DICOM element header at byte ${pos} is cut off by the end of the file`);
  const tag = ((view.getUint16(pos, le) << 16) | view.getUint16(pos + 2, le)) >>> 0;
  // Items and delimiters have no VR in any syntax.
  if (!explicit || tag >>> 16 === 0xfffe) return { tag, vr: '', length: view.getUint32(pos + 4, le), valueAt: pos + 8 };
  const vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
  if (!/^[A-Z]{2}$/.test(vr))
    fail(
      `DICOM element ${tagName(tag)} at byte ${pos} has no valid explicit VR (bytes 0x${bytes[pos + 4]!.toString(16)} 0x${bytes[pos + 5]!.toString(16)}): it cannot be checked`,
    );
  if (!LONG_VRS.has(vr)) return { tag, vr, length: view.getUint16(pos + 6, le), valueAt: pos + 8 };
  if (pos + 12 > bytes.length) fail(`DICOM element ${tagName(tag)} at byte ${pos} is cut off by the end of the file`);
  return { tag, vr, length: view.getUint32(pos + 8, le), valueAt: pos + 12 };
}

/** A container of the walk in words, for errors. */
function where(f: Frame): string {
  return f.kind === 'dataset'
    ? 'the dataset'
    : `the ${f.kind === 'fragments' ? 'encapsulated pixel data' : f.kind} ${tagName(f.tag)} at byte ${f.at}`;
}

function refOf(h: Header, vr: string): ElementRef {
  return { vr, offset: h.valueAt, length: h.length };
}

/** The walk itself: a loop over an explicit stack of containers (no recursion, however deep). */
function walkDataset(
  path: string,
  layout: DicomLayout,
  start: number,
  explicit: boolean,
  fail: (d: string) => never,
): void {
  const { body, littleEndian: le } = layout;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const size = body.length;
  const stack: Frame[] = [{ kind: 'dataset', end: size, tag: 0, implicit: !explicit, at: start }];
  let pos = start;
  let sequenceDepth = 0;
  // Top-level bookkeeping: the sequence whose first item is being recorded.
  let firstItemOf: number | undefined;
  let firstItem: Map<number, ElementRef> | undefined;
  for (;;) {
    const top = stack[stack.length - 1]!;
    if (top.end !== undefined && pos >= top.end) {
      if (pos > top.end)
        fail(`DICOM ${where(top)} declares ${top.end - top.at} bytes but its contents run to byte ${pos}: corrupt`);
      if (top.kind === 'dataset') return;
      if (top.kind === 'sequence') sequenceDepth--;
      if (top.kind === 'item' && stack.length === 3) firstItemOf = undefined;
      stack.pop();
      continue;
    }
    if (top.end === undefined && pos >= size)
      fail(
        `DICOM ${where(top)} has an undefined length and no delimiter before the end of the file: truncated or corrupt`,
      );
    const h = readHeader(
      body,
      view,
      pos,
      explicit && !top.implicit && top.kind !== 'sequence' && top.kind !== 'fragments',
      le,
      fail,
    );
    const defined = h.length !== UNDEFINED;
    if (defined && h.valueAt + h.length > (top.end ?? size)) {
      const bound =
        top.end === undefined || top.kind === 'dataset'
          ? `past the end of the file (${size} bytes)`
          : `past the end of ${where(top)}`;
      fail(`DICOM element ${tagName(h.tag)} at byte ${pos} declares ${h.length} bytes, ${bound}: truncated or corrupt`);
    }
    if (top.kind === 'sequence' || top.kind === 'fragments') {
      // Only items and the sequence delimiter may stand here.
      if (h.tag === SEQUENCE_END && top.end === undefined) {
        if (top.kind === 'sequence') sequenceDepth--;
        stack.pop();
        pos = h.valueAt;
        continue;
      }
      if (h.tag !== ITEM)
        fail(`DICOM ${where(top)} holds ${tagName(h.tag)} at byte ${pos} where an item was expected: corrupt`);
      if (top.kind === 'fragments') {
        if (!defined) fail(`DICOM pixel data fragment at byte ${pos} has an undefined length: corrupt`);
        if (stack.length === 2) {
          const f = layout.fragments!;
          if (f.offsetTable.length === -1) f.offsetTable = refOf(h, 'OB');
          else f.fragments.push(refOf(h, 'OB'));
        }
        pos = h.valueAt + h.length;
        continue;
      }
      stack.push({
        kind: 'item',
        end: defined ? h.valueAt + h.length : undefined,
        tag: h.tag,
        implicit: top.implicit,
        at: pos,
      });
      if (stack.length === 3 && !layout.firstItems.has(top.tag)) {
        firstItemOf = top.tag;
        firstItem = new Map();
        layout.firstItems.set(top.tag, firstItem);
      }
      pos = h.valueAt;
      continue;
    }
    if (h.tag === ITEM_END && top.kind === 'item' && top.end === undefined) {
      if (stack.length === 3) firstItemOf = undefined;
      stack.pop();
      pos = h.valueAt;
      continue;
    }
    if (h.tag >>> 16 === 0xfffe)
      fail(`DICOM delimiter ${tagName(h.tag)} at byte ${pos} is out of place in ${where(top)}: corrupt`);
    const vr = h.vr || dictionaryVr(h.tag);
    if (stack.length === 1) layout.elements.set(h.tag, refOf(h, vr));
    else if (stack.length === 3 && firstItemOf !== undefined) firstItem!.set(h.tag, refOf(h, vr));
    // Sequences: explicit SQ, implicit VR tags the dictionary calls SQ, and undefined-length UN (PS3.5 6.2.2).
    const encapsulated = !defined && h.tag === PIXEL_DATA;
    const sequence = !encapsulated && (vr === 'SQ' || !defined);
    if (!sequence && !encapsulated) {
      pos = h.valueAt + h.length;
      continue;
    }
    if (encapsulated) {
      if (stack.length === 1)
        layout.fragments = { offsetTable: { vr: 'OB', offset: h.valueAt, length: -1 }, fragments: [] };
      stack.push({ kind: 'fragments', end: undefined, tag: h.tag, implicit: top.implicit, at: pos });
    } else {
      if (++sequenceDepth > MAX_DEPTH)
        fail(`DICOM sequences nest deeper than ${MAX_DEPTH} levels (at ${tagName(h.tag)}, byte ${pos}): refused`);
      // A UN sequence is implicit VR little endian inside, whatever the file's syntax.
      stack.push({
        kind: 'sequence',
        end: defined ? h.valueAt + h.length : undefined,
        tag: h.tag,
        implicit: top.implicit || h.vr === 'UN',
        at: pos,
      });
    }
    pos = h.valueAt;
  }
}
