/**
 * Values of any depth to 8-bit grey: the windows (file VOI, full range, min-max, a linear
 * center/width as in DICOM PS3.3 C.11.2.1.2) and MONOCHROME1 inversion. Shared by the decoders
 * (the DICOM worker applies it before sending 8 bits back).
 */
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

/** Grey pixels at source depth before windowing. */
export interface RawGrey {
  values: ArrayLike<number>;
  width: number;
  height: number;
  bitDepth: number;
  /** The range 'full' maps to 0..255. */
  fullRange: [number, number];
  /** A window from the file (DICOM VOI), used by 'auto'. */
  fileWindow?: { center: number; width: number };
  /** A VOI LUT from the file (DICOM VOI LUT Sequence, first item), used by 'auto' before any window. */
  fileLut?: VoiLut;
  /** MONOCHROME1: high values are dark; inverted after windowing. */
  invert?: boolean;
  /** For 'auto' without a file window: 'full' (PNG/JPEG) or 'minmax' (DICOM). */
  autoMode: 'full' | 'minmax';
  /** Already 8-bit at the requested width: only the height fit remains. */
  final?: boolean;
  /**
   * A linear rescale of `values` (DICOM's modality rescale), applied as each value is windowed: the
   * samples stay in their own narrow type instead of a float copy of the whole frame.
   */
  rescale?: { slope: number; intercept: number };
}

/** A VOI LUT (PS3.3 C.11.2.1.1): values from `first` on index `entries`; outputs have `bits` bits. */
export interface VoiLut {
  first: number;
  entries: ArrayLike<number>;
  bits: number;
}

/**
 * Maps source values to 0..255 by the chosen window (DICOM PS3.3 C.11.2.1.2 for center/width); 'auto'
 * prefers the file's VOI LUT (as pydicom's apply_voi_lut does), then its window.
 */
export function applyWindow(
  img: Pick<RawGrey, 'values' | 'fullRange' | 'fileWindow' | 'fileLut' | 'invert' | 'autoMode' | 'rescale'>,
  window: Window,
): Uint8Array {
  const { values } = img;
  const { slope, intercept } = img.rescale ?? { slope: 1, intercept: 0 };
  const n = values.length;
  const out = new Uint8Array(n);
  if (window === 'auto' && img.fileLut) {
    const { first, entries, bits } = img.fileLut;
    const last = entries.length - 1;
    const scale = 255 / (2 ** bits - 1);
    for (let i = 0; i < n; i++) {
      // Below the first mapped value: entry 0; past the table: its last entry.
      const k = Math.min(last, Math.max(0, Math.trunc(values[i]! * slope + intercept - first)));
      const y = Math.min(255, Math.round(entries[k]! * scale));
      out[i] = img.invert ? 255 - y : y;
    }
    return out;
  }
  let mode: Window = window === 'auto' ? (img.fileWindow ?? img.autoMode) : window;
  if (mode === 'full' && img.fullRange[0] === 0 && img.fullRange[1] === 255 && !img.invert && !img.rescale) {
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
      const v = values[i] * slope + intercept;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mode = 'minmax';
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] * slope + intercept;
    let y = v <= lo ? 0 : v > hi ? 255 : Math.round((v - lo) * scale);
    if (img.invert) y = 255 - y;
    out[i] = y;
  }
  return out;
}
