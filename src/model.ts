/**
 * DenseNet121 / ResNet50 classifiers with torchvision's parameter names and the protocol's head (docs/protocol.md),
 * three layer
 * groups for freezing, and reported state_dict loading. The heavy work runs in the native addon.
 */
import { closeSync, openSync, readSync } from 'node:fs';

import { OptionError } from './errors.js';
import {
  ARCHS,
  FROZEN_BATCHNORM,
  GREY_MODES,
  native,
  type Arch,
  type FrozenBatchNormPolicy,
  type GreyMode,
  type LayerGroup,
  type LayerGroupIndex,
  type LoadReport,
  type ModelConfig,
  type NativeModel,
  type NativeTensor,
} from './native.js';
import { withFilePrefix } from './weights/load-report.js';
import { expectBoolean, expectDevice, expectInteger, expectNumber, expectOneOf } from './validate.js';

// What crosses the addon is declared in src/native-types.ts; re-exported here, where users look for it.
export {
  ARCHS,
  FROZEN_BATCHNORM,
  GREY_MODES,
  type Arch,
  type FrozenBatchNormPolicy,
  type GreyMode,
  type LayerGroup,
  type LayerGroupIndex,
  type LoadReport,
  type ModelConfig,
  type NativeModel,
} from './native.js';

export interface ModelOptions {
  /** Required unless `weights` is a torchxfer checkpoint (which records it). */
  arch?: Arch;
  /** Outputs of the new Linear head (default 1: binary). */
  numClasses?: number;
  /** 1 (grey) or 3 (default). */
  inChannels?: 1 | 3;
  /** How grey input meets RGB weights: sum the first conv over RGB (default) or replicate the image. */
  greyMode?: GreyMode;
  /** Dropout before the head, in [0, 1) (default 0). */
  dropout?: number;
  /** 'cpu' (default), 'cuda', 'cuda:N' or 'auto'. */
  device?: string;
  channelsLast?: boolean;
  /**
   * A torchvision-named state_dict loaded before moving to the device, or a file or registry name. A
   * torchxfer checkpoint file also gives the options not given (architecture, outputs, input channels, grey
   * mode, dropout) and, when the head and input are its own, its labels and preprocessing (`model.checkpoint`).
   */
  weights?: Record<string, NativeTensor> | string;
  /** With weights: refuse missing/unexpected/mismatched backbone keys (default true). */
  strict?: boolean;
}

function expectGroups(value: unknown, name: string): LayerGroupIndex[] {
  if (!Array.isArray(value)) throw new OptionError(name, 'an array of layer groups (0, 1, 2)', value);
  value.forEach((g, i) => expectInteger(g, `${name}[${i}]`, 0, 2));
  return value as LayerGroupIndex[];
}

function expectWeights(value: unknown, name: string): Record<string, NativeTensor> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new OptionError(name, 'an object of named Tensors', value);
  }
  return value as Record<string, NativeTensor>;
}

/** What a torchxfer checkpoint says about using its model. */
export interface CheckpointInfo {
  path: string;
  /** Output i is the probability (after a sigmoid) of labels[i]. */
  labels: string[];
  /**
   * Input: grey images resized to imageSize x imageSize, centre-cropped to crop, (x / 255 - mean) / std per channel.
   */
  imageSize?: number;
  crop?: number;
  normalisation?: { mean: number[]; std: number[] };
  metadata: Record<string, unknown>;
}

export class Model {
  /** Use loadModel(). `handle` is the native Model other native classes (e.g. a Trainer) accept. */
  constructor(readonly handle: NativeModel) {}

  /** What loading `weights` in loadModel() found (undefined without weights). */
  loadReport?: LoadReport;
  /** Set when the model was loaded from a torchxfer checkpoint. */
  checkpoint?: CheckpointInfo;

  get config(): ModelConfig {
    return this.handle.config;
  }
  get groups(): LayerGroup[] {
    return this.handle.groups;
  }
  get numParameters(): number {
    return this.handle.numParameters;
  }
  get device(): string {
    return this.handle.device;
  }
  get disposed(): boolean {
    return this.handle.disposed;
  }

  /** Eval-mode logits [n, numClasses] (row-major) for normalised input [n, c, h, w]; no gradients. */
  predict(input: Float32Array, shape: [number, number, number, number]): Promise<Float32Array> {
    if (!(input instanceof Float32Array)) throw new OptionError('input', 'a Float32Array', input);
    if (!Array.isArray(shape) || shape.length !== 4) throw new OptionError('shape', 'an array [n, c, h, w]', shape);
    const [n, c, h, w] = shape;
    expectInteger(n, 'shape[0]', 1);
    const channels = this.config.inChannels;
    if (c !== channels) throw new OptionError('shape[1]', `${channels} (the model's inChannels)`, c);
    expectInteger(h, 'shape[2]', 32);
    expectInteger(w, 'shape[3]', 32);
    if (n * c * h * w !== input.length)
      throw new OptionError('shape', `dimensions whose product is ${input.length}`, `[${shape.join(', ')}]`);
    return this.handle.predict(input, shape);
  }

  freeze(groups: number[]): void {
    this.handle.freeze(expectGroups(groups, 'groups'));
  }
  unfreeze(groups: number[]): void {
    this.handle.unfreeze(expectGroups(groups, 'groups'));
  }
  setFrozenBatchNorm(policy: FrozenBatchNormPolicy): void {
    this.handle.setFrozenBatchNorm(expectOneOf(policy, 'frozenBatchNorm', FROZEN_BATCHNORM));
  }
  /** Train mode (honouring the frozen-BatchNorm policy) or eval mode. */
  setTraining(on: boolean): void {
    this.handle.setTraining(expectBoolean(on, 'training'));
  }

  /** A snapshot of parameters and buffers (CPU copies) under torchvision's names. */
  stateDict(): Record<string, NativeTensor> {
    return this.handle.stateDict();
  }
  loadStateDict(tensors: Record<string, NativeTensor>, options: { strict?: boolean } = {}): LoadReport {
    const strict = options.strict === undefined ? true : expectBoolean(options.strict, 'strict');
    return this.handle.loadStateDict(expectWeights(tensors, 'tensors'), { strict });
  }

  to(device: string, channelsLast = false): Promise<void> {
    return this.handle.to(expectDevice(device), expectBoolean(channelsLast, 'channelsLast'));
  }

  /** Raghu et al. "moments": every (conv) weight tensor becomes N(its mean, its std) noise. */
  reinitMoments(which: 'all' | 'conv', seed: number): void {
    this.handle.reinitMoments(
      expectOneOf(which, 'which', ['all', 'conv'] as const),
      expectInteger(seed, 'seed', 0, Number.MAX_SAFE_INTEGER),
    );
  }

  /** Frees the native model now (idempotent); later calls throw "Model has been disposed". */
  /**
   * Writes a torchxfer checkpoint (safetensors + JSON metadata, atomic): the weights, the architecture
   * and input channels, and whatever `metadata` adds (labels, preprocessing...).
   */
  async save(path: string, metadata: Record<string, unknown> = {}): Promise<void> {
    const { saveCheckpoint } = await import('./checkpoint.js');
    const tensors = this.stateDict();
    try {
      await saveCheckpoint(path, tensors, {
        architecture: this.config.arch,
        greyMode: this.config.greyMode,
        groups: this.groups.map((g) => ({ index: g.index, prefixes: g.prefixes })),
        model: this.config,
        ...metadata,
      });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  dispose(): void {
    this.handle.dispose();
  }
}

/** Builds a model (torchvision's init unless `weights` are given) and moves it to `device`. */
export async function loadModel(options: ModelOptions): Promise<Model> {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an options object', options);
  const fromCheckpoint = typeof options.weights === 'string' ? await readCheckpointOptions(options.weights) : undefined;
  if (fromCheckpoint) {
    const { tensors, defaults, info } = fromCheckpoint;
    // Other options given win (a new head for other labels, 3-channel input: transfer from the checkpoint).
    if (options.arch !== undefined && defaults.arch !== undefined && options.arch !== defaults.arch) {
      for (const t of Object.values(tensors)) t.dispose();
      throw new OptionError(
        'arch',
        `${JSON.stringify(defaults.arch)} (what the checkpoint ${info.path} was trained with) or nothing`,
        options.arch,
      );
    }
    try {
      const model = await loadModel({ ...defaults, ...options, weights: tensors });
      // Its labels and preprocessing describe this model only if the head and input are the checkpoint's.
      if (
        model.config.numClasses === defaults.numClasses &&
        model.config.inChannels === (defaults.inChannels ?? model.config.inChannels)
      )
        model.checkpoint = info;
      return model;
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }
  const arch = expectOneOf(options.arch, 'arch', ARCHS);
  const numClasses = options.numClasses === undefined ? 1 : expectInteger(options.numClasses, 'numClasses', 1, 100000);
  const inChannels = options.inChannels === undefined ? 3 : options.inChannels;
  if (inChannels !== 1 && inChannels !== 3) throw new OptionError('inChannels', '1 or 3', inChannels);
  const greyMode = options.greyMode === undefined ? 'sum' : expectOneOf(options.greyMode, 'greyMode', GREY_MODES);
  const dropout = options.dropout === undefined ? 0 : expectNumber(options.dropout, 'dropout', 0, 0.999999);
  const device = options.device === undefined ? 'cpu' : expectDevice(options.device);
  const channelsLast = options.channelsLast === undefined ? false : expectBoolean(options.channelsLast, 'channelsLast');
  const strict = options.strict === undefined ? true : expectBoolean(options.strict, 'strict');
  // A string is a weights file (.pth, safetensors, torchxfer checkpoint) or a registry name (fetched into the cache).
  let owned: Record<string, NativeTensor> | undefined;
  let stripped = '';
  if (typeof options.weights === 'string') {
    const { resolveWeights } = await import('./weights/fetch.js');
    const { readWeights } = await import('./weights/io.js');
    const read = await readWeights(await resolveWeights(options.weights));
    owned = read.tensors;
    stripped = read.provenance?.strippedPrefix ?? '';
  }
  const weights = owned ?? (options.weights === undefined ? undefined : expectWeights(options.weights, 'weights'));

  const model = new Model(new (native().Model)({ arch, numClasses, inChannels, greyMode, dropout }));
  try {
    if (weights) model.loadReport = withFilePrefix(model.loadStateDict(weights, { strict }), stripped);
    if (owned) for (const t of Object.values(owned)) t.dispose();
    if (device !== 'cpu' || channelsLast) await model.to(device, channelsLast);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** A torchxfer checkpoint's tensors and the model options it records; undefined for any other weights. */
async function readCheckpointOptions(
  path: string,
): Promise<
  { tensors: Record<string, NativeTensor>; defaults: Partial<ModelOptions>; info: CheckpointInfo } | undefined
> {
  if (!hasTorchxferMetadata(path)) return undefined;
  const { loadCheckpoint } = await import('./checkpoint.js');
  const { tensors, metadata: meta } = await loadCheckpoint(path); // verifies the checksum
  const training = (meta.training ?? {}) as Record<string, unknown>;
  const model = (meta.model ?? {}) as Record<string, unknown>;
  const labels = Array.isArray(meta.labels) ? (meta.labels as string[]) : [];
  const defaults: Partial<ModelOptions> = {
    arch: (meta.architecture ?? model.arch) as Arch | undefined,
    numClasses: labels.length || (model.numClasses as number | undefined),
    inChannels: (training.inChannels ?? model.inChannels) as 1 | 3 | undefined,
    greyMode: (meta.greyMode ?? model.greyMode) as GreyMode | undefined,
    dropout: (training.dropout ?? model.dropout) as number | undefined,
  };
  for (const k of Object.keys(defaults) as (keyof ModelOptions)[]) if (defaults[k] === undefined) delete defaults[k];
  const info: CheckpointInfo = {
    path,
    labels,
    imageSize: training.imageSize as number | undefined,
    crop: training.crop as number | undefined,
    normalisation: meta.normalisation as CheckpointInfo['normalisation'],
    metadata: meta,
  };
  return { tensors, defaults, info };
}

/** Whether `path` is a safetensors file whose header carries torchxfer's metadata (reads the header only). */
function hasTorchxferMetadata(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) return false;
    const n = Number(len.readBigUInt64LE(0));
    if (n < 2 || n > 100_000_000) return false;
    const header = Buffer.alloc(n);
    if (readSync(fd, header, 0, n, 8) !== n) return false;
    const json = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, unknown> };
    return typeof json.__metadata__?.torchxfer === 'string';
  } catch {
    return false; // missing, a registry name, not safetensors: read as plain weights
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
