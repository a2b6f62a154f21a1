/**
 * Reading files a dataset, a table or a user names: only regular files (a FIFO would block forever, a
 * device like /dev/zero never ends, a socket cannot be read), with the size checked before any byte
 * is read. The file is opened without blocking and checked through the same descriptor it is read
 * from, so a name swapped between the check and the read changes nothing.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

import { DataError } from './errors.js';

/** The largest image file read (DICOM included; a single radiograph is tens of MB): 512 MiB. */
export const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** What a non-regular file is, in words. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openError(path: string, err: unknown): DataError {
  const code = (err as NodeJS.ErrnoException).code;
  return new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`);
}

/** Why `s` (of `path`) may not be read, or undefined when it is a regular file within `maxBytes`. */
function refusal(s: Stats, maxBytes: number): string | undefined {
  if (!s.isFile()) return `not a regular file (${kindOf(s)}): only regular files are read`;
  if (s.size > maxBytes)
    return `file is ${s.size} bytes, over the limit of ${maxBytes} bytes (${Math.round(maxBytes / 2 ** 20)} MiB)`;
  return undefined;
}

/**
 * Opens `path` for reading if it is a regular file of at most `maxBytes`: its descriptor and size.
 * Throws a DataError naming the file otherwise. The caller closes the descriptor.
 */
export function openRegularFileSync(path: string, maxBytes = MAX_IMAGE_FILE_BYTES): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw openError(path, err);
  }
  const s = fstatSync(fd);
  const why = refusal(s, maxBytes);
  if (why) {
    closeSync(fd);
    throw new DataError(path, why);
  }
  return { fd, size: s.size };
}

/** The whole of a regular file of at most `maxBytes` (DataError naming it otherwise). */
export function readRegularFileSync(path: string, maxBytes = MAX_IMAGE_FILE_BYTES): Buffer {
  const { fd, size } = openRegularFileSync(path, maxBytes);
  try {
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === size ? buf : buf.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** readRegularFileSync without blocking the event loop. */
export async function readRegularFile(path: string, maxBytes = MAX_IMAGE_FILE_BYTES): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const s = await fh.stat();
    const why = refusal(s, maxBytes);
    if (why) throw new DataError(path, why);
    const buf = Buffer.allocUnsafe(s.size);
    let at = 0;
    while (at < s.size) {
      const { bytesRead } = await fh.read(buf, at, s.size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === s.size ? buf : buf.subarray(0, at);
  } finally {
    await fh.close();
  }
}
