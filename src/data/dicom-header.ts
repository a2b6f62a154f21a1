/**
 * A DICOM file's top-level attributes by keyword (PatientID, Rows, SOPInstanceUID...), read from the
 * guard's walk (dicom-lengths.ts) rather than a second parser: numbers for binary numeric VRs and
 * IS/DS, strings (or arrays of them when multi-valued) for text VRs; sequences and bulk data left out.
 */
import dcmjs from 'dcmjs';

import { tagName, type DicomLayout } from './dicom-lengths.js';

const NUMERIC: Record<
  string,
  [number, 'getUint16' | 'getInt16' | 'getUint32' | 'getInt32' | 'getFloat32' | 'getFloat64']
> = {
  US: [2, 'getUint16'],
  SS: [2, 'getInt16'],
  UL: [4, 'getUint32'],
  SL: [4, 'getInt32'],
  FL: [4, 'getFloat32'],
  FD: [8, 'getFloat64'],
};
const TEXT = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

export function dicomHeaderValues(layout: DicomLayout): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  const b = layout.body;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const [tag, e] of layout.elements) {
    const keyword = dcmjs.data.DicomMetaDictionary.dictionary[tagName(tag)]?.name;
    if (!keyword || e.length <= 0) continue;
    let values: unknown[];
    const numeric = NUMERIC[e.vr];
    if (numeric) {
      const [size, get] = numeric;
      values = Array.from({ length: Math.floor(e.length / size) }, (_, i) =>
        view[get](e.offset + i * size, layout.littleEndian),
      );
    } else if (TEXT.has(e.vr)) {
      const text = Buffer.from(b.buffer, b.byteOffset + e.offset, e.length)
        .toString('latin1')
        .replace(/[\0 ]+$/, '');
      values = (e.vr === 'LT' || e.vr === 'ST' || e.vr === 'UT' ? [text] : text.split('\\')).map((s) => s.trim());
      if (e.vr === 'IS' || e.vr === 'DS') values = values.map((s) => (s === '' ? undefined : Number(s)));
    } else continue;
    out[keyword] = values.length === 1 ? values[0] : values;
  }
  return out;
}
