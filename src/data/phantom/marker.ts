/**
 * Whether a dataset folder holds torchxfer's SIMULATED phantoms: `data synth` and the built-in sets
 * write phantom.json in their root (the limb layout in MURA-v1.1/ too). Every command that reads a
 * dataset asks this, so phantoms trained as `--format nih` are still recorded as simulated. The file is
 * read as untrusted input: a regular file of bounded size whose fields are checked.
 */
import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import { join } from 'node:path';

/** phantom.json is a few hundred bytes; anything far larger is not ours. */
const MAX_MARKER_BYTES = 64 * 1024;

function readSmallRegularFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_MARKER_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** True when the dataset folder `root` carries torchxfer's phantom marker. */
export function isSimulatedRoot(root: string): boolean {
  const text = readSmallRegularFile(join(root, 'phantom.json'));
  if (text === undefined) return false;
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    return m?.simulated === true && m.generator === 'torchxfer';
  } catch {
    return false;
  }
}
