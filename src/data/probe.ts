/**
 * A cheap check that an image file is whole, without decoding its pixels: the format from its first
 * bytes, PNG's IHDR and IEND chunks, JPEG's start and end markers, a DICOM header that parses and holds
 * pixel data. `torchxfer data inspect` runs it on every file (`--verify` decodes them all instead).
 */
import { closeSync, readSync } from 'node:fs';

import { readDicomHeader } from './datasets/dicom-tree.js';
import { sniffFormat } from './decode.js';
import { openRegularFileSync } from './regular-file.js';

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, length));
  const n = readSync(fd, buf, 0, buf.length, position);
  return buf.subarray(0, n);
}

/** Why the file cannot be a usable image, or undefined when its header and ends look whole. */
export function probeImage(path: string): string | undefined {
  let fd: number;
  let size: number;
  try {
    ({ fd, size } = openRegularFileSync(path));
  } catch (err) {
    const message = (err as Error).message;
    return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  }
  try {
    if (size === 0) return 'empty file (0 bytes)';
    const head = readAt(fd, 0, 132);
    const format = sniffFormat(head);
    if (!format) return 'not a PNG, JPEG or DICOM file (unknown first bytes)';
    if (format === 'png') {
      if (size < 33 || head.subarray(12, 16).toString('latin1') !== 'IHDR')
        return 'PNG without its IHDR header (truncated or corrupt)';
      if (
        readAt(fd, size - 12, 12)
          .subarray(4, 8)
          .toString('latin1') !== 'IEND'
      )
        return 'PNG truncated (no IEND chunk at the end)';
      return undefined;
    }
    if (format === 'jpeg') {
      const tail = readAt(fd, Math.max(0, size - 2), 2);
      if (tail[0] !== 0xff || tail[1] !== 0xd9) return 'JPEG truncated (no end-of-image marker)';
      return undefined;
    }
    try {
      const header = readDicomHeader(path);
      if (header.Rows === undefined || header.Columns === undefined)
        return 'DICOM without image dimensions (Rows/Columns)';
    } catch (err) {
      return `DICOM header unreadable (${(err as Error).message})`;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
