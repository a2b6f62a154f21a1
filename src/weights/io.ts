/**
 * Weight files through the native readers: torch.save (zip and legacy) and safetensors. Nothing in a
 * file is ever executed: the native unpickler knows only the globals a state_dict needs, and reads
 * allow-listed module classes (torch.nn, torchvision.models, torchxrayvision.models) as inert records.
 * Returned tensor maps have no prototype: a tensor named '__proto__' is an entry like any other.
 */
import {
  native,
  type NativeTensor,
  type NativeTensorBytes,
  type WeightsInspection,
  type WeightsRead,
} from '../native.js';
import { OptionError } from '../errors.js';
import { expectString } from '../validate.js';

// What crosses the addon is declared in src/native-types.ts; re-exported here, where users look for it.
export type { ArchitectureMatch, WeightsEntryInfo, WeightsFormat, WeightsInspection, WeightsProvenance, WeightsRead } from '../native.js';

/** Bytes of one tensor as stored. */
export type RawTensorBytes = NativeTensorBytes;

const addon = native;

/**
 * The tensors of a weights file (format recognised by content), keys in file order: a state_dict, a
 * training checkpoint's weights, or a pickled module's state_dict; "module." (DataParallel) stripped.
 */
export function readStateDict(path: string): Promise<Record<string, NativeTensor>> {
  return addon().readStateDict(expectString(path, 'path'));
}

/** As readStateDict, also saying what held the tensors (a state_dict, a checkpoint, a pickled module of class X). */
export function readWeights(path: string): Promise<WeightsRead> {
  return addon().readWeights(expectString(path, 'path'));
}

export function readSafetensors(path: string): Promise<{ tensors: Record<string, NativeTensor>; metadata: Record<string, string> }> {
  return addon().readSafetensors(expectString(path, 'path'));
}

/** Writes a safetensors file atomically (temp file in the same directory, fsync, rename). */
export function writeSafetensors(path: string, tensors: Record<string, NativeTensor>, metadata: Record<string, string> = {}): Promise<void> {
  expectString(path, 'path');
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) throw new OptionError('tensors', 'an object of tensors', tensors);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new OptionError('metadata', 'an object of strings', metadata);
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new OptionError(`metadata['${k}']`, 'a string', v);
  return addon().writeSafetensors(path, tensors, metadata);
}

/**
 * Format, tensor names, dtypes and shapes of a weights file, where it came from, and where DenseNet121's
 * and ResNet50's backbones sit in it. The tensors' data is freed before this returns.
 */
export function inspectWeights(path: string): Promise<WeightsInspection> {
  return addon().inspectWeights(expectString(path, 'path'));
}

/** A copy of a tensor's bytes (any dtype, half and bfloat16 included), row-major, little-endian. */
export function tensorBytes(t: NativeTensor): RawTensorBytes {
  return addon().tensorBytes(t);
}
