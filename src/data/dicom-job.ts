/**
 * One DICOM decode, start to end, as the worker runs it: read the file, guard it, decode frame 1,
 * rescale, window to 8 bits. Returns a plain message (no class instances cross the thread boundary).
 */
import { decodeDicomFrame, dicomToRawGrey } from './dicom-pixels.js';
import { DataError } from './errors.js';
import { readRegularFile } from './regular-file.js';
import { applyWindow, type Window } from './window.js';

export interface DicomJob {
  id: number;
  path: string;
  window: Window;
  maxPixels: number;
  /** The resize target's width (0: none): checked with the budget before decoding. */
  targetWidth?: number;
}

export type DicomJobResult =
  | {
      id: number;
      ok: true;
      data: Uint8Array;
      width: number;
      height: number;
      bitDepth: number;
      frames: number;
      syntax: string;
    }
  | { id: number; ok: false; message: string };

export async function runDicomJob(job: DicomJob): Promise<DicomJobResult> {
  try {
    const bytes = await readRegularFile(job.path);
    const frame = await decodeDicomFrame(job.path, bytes, job.maxPixels, { targetWidth: job.targetWidth ?? 0 });
    const raw = dicomToRawGrey(frame);
    const data = applyWindow(raw, job.window);
    return {
      id: job.id,
      ok: true,
      data,
      width: raw.width,
      height: raw.height,
      bitDepth: raw.bitDepth,
      frames: frame.frames,
      syntax: frame.syntax,
    };
  } catch (err) {
    // Anything else (a codec's own error) is still this file's fault: reported, never fatal.
    const message =
      err instanceof DataError
        ? err.message
        : `${job.path}: DICOM decoding failed (${(err as Error)?.message ?? String(err)})`;
    return { id: job.id, ok: false, message };
  }
}
