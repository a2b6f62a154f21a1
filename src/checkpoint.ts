/**
 * Checkpoints: a safetensors file whose __metadata__ holds one JSON string, "torchxfer", describing the
 * model (architecture, labels, preprocessing, groups, training config, metrics, versions) and a sha256
 * of the tensor bytes, verified on load. Written atomically.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

import { OptionError } from './errors.js';
import type { NativeTensor } from './native.js';
import { runtimeInfo } from './runtime.js';
import { expectString } from './validate.js';
import { version } from './version.js';
import { readSafetensors, tensorBytes, writeSafetensors } from './weights/io.js';
import type { Preprocessing } from './weights/manifest.js';

export const CHECKPOINT_FORMAT = 'torchxfer-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointMetadata {
  architecture?: string;
  labels?: string[];
  preprocessing?: Preprocessing;
  /** How 1-channel input met 3-channel weights (SPEC): 'sum' or 'replicate'. */
  greyMode?: 'sum' | 'replicate';
  /** The registry name or file the training started from. */
  sourceWeights?: string;
  groups?: unknown;
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface StoredCheckpointMetadata extends CheckpointMetadata {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  versions: { torchxfer: string; torch: string; node: string };
  tensorsSha256: string;
  createdAt: string;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** The file is readable but no torchxfer checkpoint (other safetensors, not safetensors): plain weights, maybe. */
export class NotACheckpointError extends CheckpointError {
  constructor(message: string) {
    super(message);
    this.name = 'NotACheckpointError';
  }
}

/** sha256 over the tensors in name order: name, dtype and shape, then the raw bytes of each. */
export function tensorsDigest(tensors: Record<string, NativeTensor>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const raw = tensorBytes(tensors[name]!);
    hash.update(`${name}\0${raw.dtype}\0${raw.shape.join(',')}\0`);
    hash.update(raw.bytes);
  }
  return hash.digest('hex');
}

export async function saveCheckpoint(
  path: string,
  tensors: Record<string, NativeTensor>,
  metadata: CheckpointMetadata = {},
): Promise<StoredCheckpointMetadata> {
  expectString(path, 'path');
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors))
    throw new OptionError('tensors', 'an object of tensors', tensors);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new OptionError('metadata', 'an object', metadata);
  const stored: StoredCheckpointMetadata = {
    ...metadata,
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    versions: { torchxfer: version, torch: runtimeInfo().torchVersion, node: process.version },
    tensorsSha256: tensorsDigest(tensors),
    createdAt: new Date().toISOString(),
  };
  await writeSafetensors(path, tensors, { torchxfer: JSON.stringify(stored) });
  return stored;
}

function describeFileKind(path: string): string {
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, 4, 0);
  } catch {
    return 'unreadable';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.readUInt32LE(0) === 0x04034b50) return 'a zip archive (a torch.save .pth?)';
  if (head[0] === 0x80) return 'a pickle (a legacy torch.save file?)';
  return 'not safetensors';
}

export async function loadCheckpoint(
  path: string,
): Promise<{ tensors: Record<string, NativeTensor>; metadata: StoredCheckpointMetadata }> {
  expectString(path, 'path');
  let file: Awaited<ReturnType<typeof readSafetensors>>;
  try {
    file = await readSafetensors(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/not a safetensors file/.test(msg))
      throw new NotACheckpointError(`${path}: not a torchxfer checkpoint (${describeFileKind(path)})`);
    throw new CheckpointError(msg.startsWith(path) ? msg : `${path}: ${msg}`);
  }
  // A file that is read but refused frees its tensors: nothing read is left to the garbage collector.
  try {
    return { tensors: file.tensors, metadata: checkedMetadata(path, file) };
  } catch (err) {
    for (const t of Object.values(file.tensors)) t.dispose();
    throw err;
  }
}

/** The checkpoint description of a safetensors file read whole, its checksum verified; throws CheckpointError. */
function checkedMetadata(path: string, file: Awaited<ReturnType<typeof readSafetensors>>): StoredCheckpointMetadata {
  const json = file.metadata.torchxfer;
  if (json === undefined)
    throw new NotACheckpointError(
      `${path}: a safetensors file but not a torchxfer checkpoint (no "torchxfer" metadata); read it with readSafetensors`,
    );
  let meta: StoredCheckpointMetadata;
  try {
    meta = JSON.parse(json) as StoredCheckpointMetadata;
  } catch {
    throw new CheckpointError(`${path}: the checkpoint's "torchxfer" metadata is not valid JSON`);
  }
  if (meta.format !== CHECKPOINT_FORMAT || typeof meta.tensorsSha256 !== 'string')
    throw new CheckpointError(`${path}: the "torchxfer" metadata is not a checkpoint description`);
  if (meta.formatVersion > CHECKPOINT_VERSION)
    throw new CheckpointError(
      `${path}: checkpoint format version ${meta.formatVersion} is newer than this torchxfer reads (${CHECKPOINT_VERSION})`,
    );
  const digest = tensorsDigest(file.tensors);
  if (digest !== meta.tensorsSha256)
    throw new CheckpointError(
      `${path}: checksum mismatch (tensors sha256 ${digest}, recorded ${meta.tensorsSha256}): the file is corrupt`,
    );
  return meta;
}
