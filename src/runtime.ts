/** Runtime facts and settings: LibTorch version, CUDA, threads. */
import { native, type NativeRuntimeInfo } from './native.js';
import { expectInteger } from './validate.js';

export type RuntimeInfo = NativeRuntimeInfo;

export function runtimeInfo(): RuntimeInfo {
  return native().info();
}

/** Intra-op threads used by every native call (default: the machine's cores). */
export function setNumThreads(n: number): void {
  native().setNumThreads(expectInteger(n, 'threads', 1, 4096));
}

export function getNumThreads(): number {
  return native().getNumThreads();
}

/** Resolves 'auto' | 'cpu' | 'cuda' | 'cuda:N' to the concrete device, or throws why it is unavailable. */
export function resolveDevice(spec: string): string {
  return native().parseDevice(spec);
}

/** Seeds LibTorch's global generator (weight initialisation, dropout): same seed, same model. */
export function manualSeed(seed: number): void {
  native().manualSeed(expectInteger(seed, 'seed', 0, Number.MAX_SAFE_INTEGER));
}
