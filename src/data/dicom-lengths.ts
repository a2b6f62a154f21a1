/**
 * Checks the declared lengths of a DICOM file's top-level elements against its size, before dcmjs
 * parses it: dcmjs trusts a length past the end of the file and grows an array until V8 aborts the
 * whole process (found by scripts/fuzz.mjs). Elements of undefined length (sequences, encapsulated
 * pixel data) end the check: their items are left to dcmjs, which bounds-checks what it reads there.
 */
import { DataError } from './errors.js';

// Explicit VR: these carry 2 reserved bytes and a 32-bit length; every other VR a 16-bit length.
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const IMPLICIT_LE = '1.2.840.10008.1.2';

export function checkDicomLengths(path: string, bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  let pos = 132;  // 128-byte preamble + "DICM"
  let syntax = IMPLICIT_LE;
  const hex = (n: number) => n.toString(16).padStart(4, '0');
  // One element at `pos`: its tag and where it ends (undefined: an undefined length, stop checking).
  const element = (explicit: boolean): { group: number; elem: number; end?: number; valueAt: number } => {
    if (pos + 8 > size) throw new DataError(path, `DICOM element header at byte ${pos} is cut off by the end of the file`);
    const group = view.getUint16(pos, true);
    const elem = view.getUint16(pos + 2, true);
    let length: number;
    let header: number;
    const vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
    if (explicit && LONG_VRS.has(vr)) {
      if (pos + 12 > size) throw new DataError(path, `DICOM element (${hex(group)},${hex(elem)}) at byte ${pos} is cut off by the end of the file`);
      length = view.getUint32(pos + 8, true);
      header = 12;
    } else if (explicit && /^[A-Z]{2}$/.test(vr)) {
      length = view.getUint16(pos + 6, true);
      header = 8;
    } else {
      length = view.getUint32(pos + 4, true);  // implicit VR (or an item/delimiter tag)
      header = 8;
    }
    if (length === 0xffffffff) return { group, elem, valueAt: pos + header };
    const end = pos + header + length;
    if (end > size) throw new DataError(path, `DICOM element (${hex(group)},${hex(elem)}) at byte ${pos} declares ${length} bytes, past the end of the file (${size} bytes): truncated or corrupt`);
    return { group, elem, end, valueAt: pos + header };
  };
  // File meta group (0002): always explicit VR little endian.
  while (pos + 2 <= size && view.getUint16(pos, true) === 0x0002) {
    const e = element(true);
    if (e.end === undefined) return;
    if (e.elem === 0x0010) syntax = Buffer.from(bytes.subarray(e.valueAt, e.end)).toString('latin1').replace(/[\0 ]+$/, '');
    pos = e.end;
  }
  if (syntax !== IMPLICIT_LE && syntax !== '1.2.840.10008.1.2.1') return;  // other syntaxes are refused later, by name
  while (pos < size) {
    const e = element(syntax !== IMPLICIT_LE);
    if (e.end === undefined) return;
    pos = e.end;
  }
}
