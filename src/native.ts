/**
 * Loads the native addon once, with an actionable error when it or LibTorch is missing. In order:
 * TORCHXFER_ADDON; an addon built here (build/Release/torchxfer.node: cmake-js or node-gyp); the first
 * prebuilt addon (prebuilds/<platform>-<arch>/) that loads and whose LibTorch is the one the dynamic
 * loader found (src/prebuilds.ts). {@link addonOrigin} says which was loaded. With src/native-types.ts
 * (the types that cross the addon, re-exported here) and src/prebuilds.ts this is the native boundary:
 * it imports nothing else from src/.
 */
import { existsSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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
import {
  listPrebuilds,
  loadedLibtorch,
  prebuildMismatch,
  prebuildTag,
  runtimeLibc,
  type LoadedLibtorch,
  type PrebuildMeta,
} from './prebuilds.js';

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
  writeSafetensors(
    path: string,
    tensors: Record<string, NativeTensor>,
    metadata: Record<string, string>,
  ): Promise<void>;
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
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'NativeLoadError';
  }
}

/** Where an addon came from: TORCHXFER_ADDON, a build on this machine, or a prebuilt binary. */
export type AddonKind = 'TORCHXFER_ADDON' | 'built here' | 'prebuilt';

export interface AddonOrigin {
  kind: AddonKind;
  path: string;
  /** For an addon built here: which build made build/Release/torchxfer.node, when it can be told. */
  builtWith?: 'cmake-js' | 'node-gyp';
  /** For a prebuilt addon: its metadata (the LibTorch it was built against, the build machine). */
  prebuild?: PrebuildMeta;
  /** The LibTorch library the dynamic loader mapped (Linux). */
  libtorch?: LoadedLibtorch;
}

/** The addon locations a build on this machine leaves (cmake-js and node-gyp both write the first). */
export function builtHereCandidates(root = packageRoot): string[] {
  return [join(root, 'build', 'Release', 'torchxfer.node'), join(root, 'build', 'torchxfer.node')];
}

/** Candidate addon locations, first that exists wins (before any prebuilt addon). */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, root = packageRoot): string[] {
  if (env.TORCHXFER_ADDON) return [resolve(env.TORCHXFER_ADDON)];
  return builtHereCandidates(root);
}

const BUILD_HINT =
  'Build it with `npm rebuild torchxfer` where the package is installed, or `npm run build:native` in a checkout (needs cmake, g++ and ' +
  'LibTorch: on Debian `sudo apt-get install cmake g++ libtorch-dev libgloo-dev`, or set LIBTORCH=/path/to/libtorch or ' +
  'Torch_DIR=/path/to/share/cmake/Torch). Set TORCHXFER_ADDON to use a build elsewhere.';

/** Explains a failed dlopen in terms of what to install or set. */
export function explainLoadFailure(path: string, cause: unknown, prebuildReasons: string[] = []): string {
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (!existsSync(path)) {
    const prebuilt =
      prebuildReasons.length > 0 ? ` No prebuilt addon fits this machine: ${prebuildReasons.join('; ')}.` : '';
    return `torchxfer's native addon was not found at ${path}.${prebuilt} ${BUILD_HINT}`;
  }
  if (/lib(torch|c10|torch_cpu|torch_cuda)[^ ]*\.so/.test(detail)) {
    return (
      `torchxfer's native addon at ${path} could not find LibTorch (${detail.split('\n')[0]}). Install it ` +
      '(`sudo apt-get install libtorch-dev` on Debian) or add the directory holding libtorch.so to LD_LIBRARY_PATH.'
    );
  }
  return `torchxfer's native addon at ${path} failed to load: ${detail.split('\n')[0]}. Rebuild it with \`npm rebuild torchxfer\` (installed) or \`npm run build:native\` (a checkout).`;
}

export interface LoadOptions {
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve every symbol at load (RTLD_NOW): a LibTorch with another ABI then fails here, not mid-run. */
  bindNow?: boolean;
}

function dlopen(path: string, bindNow: boolean): NativeAddon {
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, path, bindNow ? constants.dlopen.RTLD_NOW : constants.dlopen.RTLD_LAZY);
  return module.exports;
}

/** Which build left build/Release/torchxfer.node: node-gyp keeps its own copy under obj.target. */
function builtWith(path: string): AddonOrigin['builtWith'] {
  const gypCopy = join(dirname(path), 'obj.target', 'torchxfer.node');
  if (existsSync(gypCopy) && statSync(gypCopy).size === statSync(path).size) return 'node-gyp';
  return existsSync(join(dirname(dirname(path)), 'CMakeCache.txt')) ? 'cmake-js' : undefined;
}

export interface PrebuiltChoice {
  loaded?: { addon: NativeAddon; origin: AddonOrigin };
  /** Why each prebuild was passed over. */
  reasons: string[];
  /** A prebuild that loaded against another LibTorch: its libraries stay mapped, so no other was tried. */
  misfit?: { path: string; why: string };
}

/** The first prebuild that loads and fits the LibTorch found, or why none did. */
export function loadPrebuiltAddon(root = packageRoot, bindNow = false): PrebuiltChoice {
  const { prebuilds, problems } = listPrebuilds(root);
  const reasons = [...problems];
  const libc = runtimeLibc();
  for (const { path, meta } of prebuilds) {
    const name = relative(root, path);
    if (meta.libc && libc && meta.libc !== libc) {
      reasons.push(`${name} is for ${meta.libc}, this Node runs on ${libc}`);
      continue;
    }
    let addon: NativeAddon;
    try {
      addon = dlopen(path, bindNow);
    } catch (err) {
      // Nothing stays loaded after a failed dlopen: the next prebuild may fit another LibTorch.
      reasons.push(
        `${name} (${prebuildTag(meta.libtorch)}) does not load: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`,
      );
      continue;
    }
    const libtorch = loadedLibtorch();
    const mismatch = prebuildMismatch(meta, libtorch, addon.info().torchVersion);
    if (mismatch)
      return { reasons: [...reasons, `${name} does not fit: ${mismatch}`], misfit: { path, why: mismatch } };
    return { loaded: { addon, origin: { kind: 'prebuilt', path, prebuild: meta, libtorch } }, reasons };
  }
  if (reasons.length === 0) reasons.push(`prebuilds/ has none for ${process.platform}-${process.arch}`);
  return { reasons };
}

/** Loads the addon the order above picks; throws NativeLoadError saying what to do when none loads. */
export function loadAddon(options: LoadOptions = {}): { addon: NativeAddon; origin: AddonOrigin } {
  const root = options.root ?? packageRoot;
  const env = options.env ?? process.env;
  const bindNow = options.bindNow ?? false;
  const builtHere = addonCandidates(env, root);
  const local = builtHere.find((p) => existsSync(p)) ?? (env.TORCHXFER_ADDON ? builtHere[0] : undefined);
  if (local) {
    try {
      const addon = dlopen(local, bindNow);
      const kind = env.TORCHXFER_ADDON ? 'TORCHXFER_ADDON' : 'built here';
      return {
        addon,
        origin: {
          kind,
          path: local,
          builtWith: kind === 'built here' ? builtWith(local) : undefined,
          libtorch: loadedLibtorch(),
        },
      };
    } catch (err) {
      throw new NativeLoadError(explainLoadFailure(local, err), local);
    }
  }
  const { loaded, reasons, misfit } = loadPrebuiltAddon(root, bindNow);
  if (loaded) return loaded;
  if (misfit) {
    const name = relative(root, misfit.path);
    throw new NativeLoadError(
      `torchxfer's prebuilt addon ${name} does not fit this machine: ${misfit.why}. ${BUILD_HINT}`,
      misfit.path,
    );
  }
  throw new NativeLoadError(explainLoadFailure(builtHere[0]!, new Error('not built'), reasons), builtHere[0]!);
}

let cached: { addon: NativeAddon; origin: AddonOrigin } | undefined;

/** The addon, loaded on first use. Throws NativeLoadError with what to do when it cannot be loaded. */
export function native(): NativeAddon {
  cached ??= loadAddon();
  return cached.addon;
}

/** Which addon {@link native} loaded (loading it first), and the LibTorch it runs on. */
export function addonOrigin(): AddonOrigin {
  native();
  return cached!.origin;
}
