/**
 * What crosses the native addon (native/napi), declared once: the option, result and record types of
 * the runtime, tensors, models, the trainer, weight files and data-parallel groups, and the value lists
 * the addon accepts. src/native.ts loads the addon and types its classes with these; the layers above
 * (model, train, weights, distributed) import them from here or src/native.ts and re-export what is public.
 * Nothing here imports from src/.
 */

// Runtime (native/napi/runtime.cpp) and tensors (tensor.cpp, weights.cpp).
export interface NativeRuntimeInfo {
  torchVersion: string;
  cudaCompiled: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  mkldnn: boolean;
  /** What this build of the addon can do (fixed at build time by the LibTorch and headers found). */
  features: NativeFeatures;
  numThreads: number;
  numInteropThreads: number;
  hardwareThreads: number;
  parallelInfo: string;
}

export interface NativeFeatures {
  /** c10d Gloo: multi-process data-parallel training on CPU (needs the Gloo headers at build time). */
  gloo: boolean;
  /** Built against a LibTorch with CUDA. */
  cuda: boolean;
  /** That LibTorch carries cuDNN. */
  cudnn: boolean;
  /** c10d NCCL: multi-process training on GPUs. */
  nccl: boolean;
}

/** The caching CPU allocator (native/core/cpu_cache.h): blocks of 64 KiB and more are reused. */
export interface NativeCpuCacheStats {
  installed: boolean;
  cachedBytes: number;
  inUseBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

export type TypedArrayLike =
  Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array;

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: string;
  readonly device: string;
  readonly numel: number;
  readonly disposed: boolean;
  dataSync(): TypedArrayLike;
  data(): Promise<TypedArrayLike>;
  to(device: string): Promise<NativeTensor>;
  matmul(other: NativeTensor): Promise<NativeTensor>;
  dispose(): void;
}

/** Bytes of one tensor as stored (native/napi/weights.cpp). */
export interface NativeTensorBytes {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

// Models (native/napi/model.cpp).
export const ARCHS = ['densenet121', 'resnet50'] as const;
export type Arch = (typeof ARCHS)[number];
export const GREY_MODES = ['sum', 'replicate'] as const;
export type GreyMode = (typeof GREY_MODES)[number];
export const FROZEN_BATCHNORM = ['update-stats', 'frozen', 'trainable'] as const;
/** BatchNorm in frozen groups: statistics keep updating (default, the authors), fixed, or affine params train. */
export type FrozenBatchNormPolicy = (typeof FROZEN_BATCHNORM)[number];
export type LayerGroupIndex = 0 | 1 | 2;

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  /** "name: file [a, b] vs model [c, d]" */
  mismatched: string[];
  /** Head keys left at their fresh init because the label count differs. */
  replaced: string[];
  /** A 3-channel first conv was summed over RGB for 1-channel input. */
  firstConvAdapted: boolean;
  /** Of `missing`, the keys outside the head. */
  backboneMissing: number;
  /**
   * Where the backbone was found in the file's names: "" (direct), "module.densenet121." (CheXNet),
   * "model.", "backbone."... (one prefix holding every backbone key with its shape).
   */
  prefix: string;
  /** The file's head Linear ("classifier", "classifier.0" of a Sequential head), "" without one. */
  headFound: string;
  /** Its weight's shape [outputs, features]. */
  headShape: number[];
  /** How the head was read: a Sequential's Linear; its activation (CheXNet's Sigmoid) not applied. */
  headNote: string;
  /** File tensors not offered to the model (outside the prefix, other head members): "name (why)". */
  leftOut: string[];
  /** Pre-0.4 DenseNet names ("norm.1", "conv.2") were remapped. */
  oldNames: boolean;
}

export interface LayerGroup {
  index: LayerGroupIndex;
  prefixes: string[];
  parameterNames: string[];
  /** Parameter elements in the group, and how many of them require gradients. */
  numParameters: number;
  numTrainable: number;
  trainable: boolean;
  /** BatchNorm modules of the group currently in train mode. */
  batchNormTraining: number;
}

export interface ModelConfig {
  arch: Arch;
  numClasses: number;
  inChannels: 1 | 3;
  greyMode: GreyMode;
  dropout: number;
}

// The trainer and augmentation (native/napi/trainer.cpp, augment.cpp).
/** Augmentation of training batches (and of TTA copies); evaluation uses the centre crop. */
export interface AugmentOptions {
  /** Output side in pixels (default 236). */
  crop?: number;
  /** Horizontal flip probability (default 0.5). */
  flipP?: number;
  /** Rotation uniform in +-maxRotation degrees, reflected border (default 10). */
  maxRotation?: number;
  /** Per-channel normalisation on [0,1] pixels (default ImageNet's). One value or one per channel. */
  mean?: number[];
  std?: number[];
}

export interface TrainerOptions extends AugmentOptions {
  optimizer?: 'adam' | 'sgd';
  /** SGD only. */
  nesterov?: boolean;
  /** Decoupled (AdamW-style) weight decay; never applied to biases and BatchNorm parameters. */
  weightDecay?: number;
  /** Adam's beta2 (default 0.999 as PyTorch; fastai uses 0.99). */
  beta2?: number;
  eps?: number;
  /** false: training batches are only centre-cropped (default true). */
  augment?: boolean;
  /** Augmentation of step i is seeded by (seed, i): deterministic on CPU and across resumes. */
  seed?: number;
  device?: string;
  channelsLast?: boolean;
  /** CUDA only. */
  autocast?: 'none' | 'bf16' | 'fp16';
  cudnnBenchmark?: boolean;
  /**
   * Runs each batch as this many contiguous slices with their own BatchNorm batch statistics, gradients
   * summed (default 1): one process then computes what that many data-parallel ranks would.
   */
  batchSlices?: number;
}

export type ImageShape = [number, number, number, number];

export interface StepBatch {
  /** uint8 pixels, [n, channels, height, width]. */
  images: Uint8Array;
  shape: ImageShape;
  /** n x labels, NaN = label unknown (masked). */
  targets: Float32Array;
  /** Learning rate and momentum (SGD momentum / Adam beta1) of each of the 3 layer groups. */
  lrs: number[];
  momenta: number[];
  /** Optimiser step index, from 0 (seeds the augmentation). */
  step: number;
  /** Data-parallel: these images are rows offset..offset+n of a global batch of `total` (its augmentation draws). */
  slice?: { offset: number; total: number };
}

export interface StepResult {
  loss: number;
  /** false: the loss or a gradient was not finite (or every label was masked): weights and statistics unchanged. */
  finite: boolean;
}

export interface EvaluateBatch {
  images: Uint8Array;
  shape: ImageShape;
  targets?: Float32Array;
  /** Augmented copies added to the centre-cropped original, probabilities averaged (default 0). */
  tta?: number;
  seed?: number;
  /** Evaluate only copy k of the TTA set (0 = centre crop). */
  copy?: number;
  output?: 'probabilities' | 'logits';
  /** With tta > 0: also return the centre crop's own probabilities (`plain`, what tta 0 gives), at no extra cost. */
  alsoPlain?: boolean;
}

export interface EvaluateResult {
  /** n x labels. */
  output: Float32Array;
  /** Mean BCE over unmasked targets, when targets were given. */
  loss?: number;
  /** With alsoPlain and tta > 0: copy 0 (the centre crop) alone, and its loss. */
  plain?: Float32Array;
  plainLoss?: number;
}

export interface AugmentBatchOptions extends AugmentOptions {
  /** false: centre crop only (default true). */
  train?: boolean;
  /** Output channels: a 1-channel image is replicated to 3 (default 3). */
  channels?: 1 | 3;
  device?: string;
}

export interface AugmentDraws {
  flip: boolean[];
  angle: number[];
  top: number[];
  left: number[];
}

// Weight files (native/napi/weights.cpp).
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
  /**
   * Storage types the pickle names: "torch.cuda.FloatStorage" (a GPU save, read onto the CPU), "torch.FloatStorage".
   */
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
  /**
   * Where the tensors were found: "state_dict", "checkpoint, weights under 'model'", "pickled module of class X, read
   * as data".
   */
  container: string;
  tensors: WeightsEntryInfo[];
  metadata: Record<string, string>;
  provenance: WeightsProvenance;
  /** DenseNet121 and ResNet50 looked for in the file (src/weights/identify.ts says what it is). */
  architectures: ArchitectureMatch[];
}

/** A weights file's tensors and what held them. */
export interface WeightsRead {
  format: WeightsFormat;
  /** As WeightsInspection.container. */
  container: string;
  tensors: Record<string, NativeTensor>;
  provenance: WeightsProvenance;
}

// Data-parallel groups (native/napi/distributed.cpp).
export interface DistributedOptions {
  rank: number;
  worldSize: number;
  /** Rank 0 listens here (default 127.0.0.1). */
  masterAddr?: string;
  /** Default 29500 (torchrun's). */
  masterPort?: number;
  /** Rendezvous through this file (on a shared filesystem) instead of TCP. */
  fileStore?: string;
  /** 'gloo' (CPU, default) or 'nccl' (CUDA builds with NCCL). */
  backend?: 'gloo' | 'nccl';
  /** Rendezvous and every collective fail with an Error after this long (default 60000). */
  timeoutMs?: number;
  /** This process's index on its machine (LOCAL_RANK): its GPU with NCCL (default 0). */
  localRank?: number;
}
