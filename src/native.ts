/**
 * Loads the native addon (build/Release/torchxfer.node) once, with an actionable error when it or
 * LibTorch is missing. Set TORCHXFER_ADDON to load a different build. With src/native-types.ts (the
 * types that cross the addon, re-exported here) this is the native boundary: it imports nothing else
 * from src/.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type {
  AugmentBatchOptions,
  AugmentDraws,
  AugmentOptions,
  DistributedOptions,
  EvaluateBatch,
  EvaluateResult,
  FrozenBatchNormPolicy,
  LayerGroup,
  LoadReport,
  ModelConfig,
  NativeCpuCacheStats,
  NativeRuntimeInfo,
  NativeTensor,
  NativeTensorBytes,
  StepBatch,
  StepResult,
  TrainerOptions,
  TypedArrayLike,
  WeightsInspection,
  WeightsRead,
} from './native-types.js';

export * from './native-types.js';

/** Package root: two levels above dist/native.js or src/native.ts. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The addon's Model class (native/napi/model.cpp); options arrive validated from src/model.ts. */
export interface NativeModel {
  loadStateDict(tensors: Record<string, NativeTensor>, options: { strict: boolean }): LoadReport;
  stateDict(): Record<string, NativeTensor>;
  predict(data: Float32Array, shape: number[]): Promise<Float32Array>;
  freeze(groups: number[]): void;
  unfreeze(groups: number[]): void;
  setFrozenBatchNorm(policy: FrozenBatchNormPolicy): void;
  setTraining(on: boolean): void;
  to(device: string, channelsLast: boolean): Promise<void>;
  reinitMoments(which: 'all' | 'conv', seed: number): void;
  readonly groups: LayerGroup[];
  readonly numParameters: number;
  readonly config: ModelConfig;
  readonly device: string;
  readonly disposed: boolean;
  dispose(): void;
}

/** The addon's Trainer class (native/napi/trainer.cpp); batches arrive validated from src/train/trainer.ts. */
export interface NativeTrainer {
  step(batch: StepBatch): Promise<StepResult>;
  evaluate(batch: EvaluateBatch): Promise<EvaluateResult>;
  optimizerState(): Promise<Record<string, NativeTensor>>;
  loadOptimizerState(state: Record<string, NativeTensor>): Promise<void>;
  attachDistributed(context: NativeDistributedContext): Promise<void>;
  dispose(): void;
  readonly disposed: boolean;
}

/** The addon's DistributedContext class (native/napi/distributed.cpp). */
export interface NativeDistributedContext {
  join(): Promise<void>;
  barrier(): Promise<void>;
  allreduceSum(values: Float64Array): Promise<Float64Array>;
  broadcast(values: Float64Array, root?: number): Promise<Float64Array>;
  dispose(): void;
  readonly joined: boolean;
}

/**
 * The whole addon surface, one member per export of native/napi (TORCHXFER_EXPORTS). Callers in src/
 * validate their arguments first (sharp-style messages); the addon only converts them.
 */
export interface NativeAddon {
  // runtime.cpp
  info(): NativeRuntimeInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  workerThreads(): Promise<number>;
  cpuCache(): NativeCpuCacheStats;
  releaseCpuCache(): void;
  parseDevice(spec: string): string;
  manualSeed(seed: number): void;
  // tensor.cpp
  Tensor: new (data: TypedArrayLike, shape?: number[]) => NativeTensor;
  /** Tensors, models and trainers held by JS objects right now (not disposed, not yet collected): leak checks. */
  liveTensors(): number;
  liveModels(): number;
  liveTrainers(): number;
  // model.cpp, trainer.cpp, augment.cpp
  Model: new (config: ModelConfig) => NativeModel;
  Trainer: new (model: NativeModel, options: TrainerOptions) => NativeTrainer;
  augmentBatch(images: Uint8Array, shape: number[], options: AugmentBatchOptions, seed: number): Promise<NativeTensor>;
  augmentDraws(n: number, height: number, width: number, options: AugmentOptions, seed: number): AugmentDraws;
  // distributed.cpp
  DistributedContext: new (options: DistributedOptions & { cudaDevice: number }) => NativeDistributedContext;
  distributedAvailable(): { gloo: boolean; nccl: boolean };
  // weights.cpp
  readStateDict(path: string): Promise<Record<string, NativeTensor>>;
  readWeights(path: string): Promise<WeightsRead>;
  readSafetensors(path: string): Promise<{ tensors: Record<string, NativeTensor>; metadata: Record<string, string> }>;
  writeSafetensors(path: string, tensors: Record<string, NativeTensor>, metadata: Record<string, string>): Promise<void>;
  inspectWeights(path: string): Promise<WeightsInspection>;
  tensorBytes(tensor: NativeTensor): NativeTensorBytes;
  // radiomics.cpp
  radiomicFeatures(images: Uint8Array, shape: number[], options: { symmetric: boolean }): Promise<Float64Array>;
  radiomicFeatureNames(): string[];
  // testing.cpp: not part of the library's API
  /** Holds `model`'s lock on a helper thread until release(), as a running step does (tests of "busy"). */
  holdModelLockForTests(model: NativeModel): { release(): void };
}

export class NativeLoadError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'NativeLoadError';
  }
}

/** Candidate addon locations, first that exists wins. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TORCHXFER_ADDON) return [resolve(env.TORCHXFER_ADDON)];
  return [join(packageRoot, 'build', 'Release', 'torchxfer.node'), join(packageRoot, 'build', 'torchxfer.node')];
}

/** Explains a failed dlopen in terms of what to install or set. */
export function explainLoadFailure(path: string, cause: unknown): string {
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (!existsSync(path)) {
    return (
      `torchxfer's native addon was not found at ${path}. Build it with \`npm rebuild torchxfer\` where the package is installed, ` +
      'or `npm run build:native` in a checkout (needs cmake, g++ and LibTorch: on Debian `sudo apt-get install cmake g++ libtorch-dev libgloo-dev`, ' +
      'or set LIBTORCH=/path/to/libtorch or Torch_DIR=/path/to/share/cmake/Torch). Set TORCHXFER_ADDON to use a build elsewhere.'
    );
  }
  if (/lib(torch|c10|torch_cpu|torch_cuda)[^ ]*\.so/.test(detail)) {
    return (
      `torchxfer's native addon at ${path} could not find LibTorch (${detail.split('\n')[0]}). Install it ` +
      '(`sudo apt-get install libtorch-dev` on Debian) or add the directory holding libtorch.so to LD_LIBRARY_PATH.'
    );
  }
  return `torchxfer's native addon at ${path} failed to load: ${detail.split('\n')[0]}. Rebuild it with \`npm rebuild torchxfer\` (installed) or \`npm run build:native\` (a checkout).`;
}

let cached: NativeAddon | undefined;

/** The addon, loaded on first use. Throws NativeLoadError with what to do when it cannot be loaded. */
export function native(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  const path = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
  const require = createRequire(import.meta.url);
  try {
    cached = require(path) as NativeAddon;
  } catch (err) {
    throw new NativeLoadError(explainLoadFailure(path, err), path);
  }
  return cached;
}
