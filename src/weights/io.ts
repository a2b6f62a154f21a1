/**
 * Weight files through the native readers: torch.save (zip and legacy) and safetensors. Nothing in a
 * file is ever executed: the native unpickler knows only the globals a state_dict needs, and reads
 * allow-listed module classes (torch.nn, torchvision.models, torchxrayvision.models) as inert records.
 * Returned tensor maps have no prototype: a tensor named '__proto__' is an entry like any other.
 */
import { native, type NativeTensor, type NativeTensorBytes } from '../native.js';
import { OptionError } from '../errors.js';
import { expectString } from '../validate.js';

export type WeightsFormat = 'torch-zip' | 'torch-legacy' | 'safetensors';

export interface WeightsEntryInfo {
  name: string;
  /** Torch's names: float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool. */
  dtype: string;
  shape: number[];
}

/** What a torch.save file says about where it came from (empty for safetensors). */
export interface WeightsProvenance {
  /** e.g. "torch 0.3 or earlier (legacy format; tensors rebuilt by _rebuild_tensor, ...)". */
  era: string;
  /** Storage types the pickle names: "torch.cuda.FloatStorage" (a GPU save, read onto the CPU), "torch.FloatStorage". */
  storageTypes: string[];
  /** Where the storages were saved: "cuda:0", "cpu" (at most 8). */
  locations: string[];
  /** A training checkpoint's entries besides the weights: "epoch", "best_loss", "optimizer" (not loaded). */
  checkpointKeys: string[];
  /** "module." when DataParallel's prefix was stripped from the tensor names, else "". */
  strippedPrefix: string;
}

/** Where an architecture's backbone sits in a file's names (every shape checked). */
export interface ArchitectureMatch {
  arch: 'densenet121' | 'resnet50';
  /** Every backbone key found under `prefix` with the architecture's shape. */
  complete: boolean;
  /** In the file's names ("module." included): "" when direct, "module.densenet121.", ... */
  prefix: string;
  /** Backbone keys found with their shapes, and how many the architecture has (head and counters excluded). */
  found: number;
  expected: number;
  /** Shape mismatches under the prefix ("name: file [a] vs model [b]", at most 12). */
  mismatched: string[];
  /** Pre-0.4 DenseNet names ("norm.1", "conv.2") were remapped. */
  oldNames: boolean;
  /** The head's Linear in the file, prefix removed ("classifier", "classifier.0"), or "" without one. */
  head: string;
  /** Its weight's shape [outputs, features]. */
  headShape: number[];
  /** How the head was read (a Sequential's Linear, its other members). */
  headNote: string;
  /** File tensors not part of the backbone or head: "name (why)". */
  leftOut: string[];
  /** Every prefix holding a complete backbone: more than one is ambiguous. */
  completePrefixes: string[];
}

export interface WeightsInspection {
  format: WeightsFormat;
  /** Where the tensors were found: "state_dict", "checkpoint, weights under 'model'", "pickled module of class X, read as data". */
  container: string;
  tensors: WeightsEntryInfo[];
  metadata: Record<string, string>;
  provenance: WeightsProvenance;
  /** DenseNet121 and ResNet50 looked for in the file (src/weights/identify.ts says what it is). */
  architectures: ArchitectureMatch[];
}

/** Bytes of one tensor as stored. */
export type RawTensorBytes = NativeTensorBytes;

/** A weights file's tensors and what held them. */
export interface WeightsRead {
  format: WeightsFormat;
  /** As WeightsInspection.container. */
  container: string;
  tensors: Record<string, NativeTensor>;
  provenance: WeightsProvenance;
}

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
