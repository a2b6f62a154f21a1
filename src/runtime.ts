/** Runtime facts and settings: LibTorch version, CUDA, threads. */
import { native, type NativeCpuCacheStats, type NativeRuntimeInfo } from './native.js';
import { expectInteger } from './validate.js';

export type RuntimeInfo = NativeRuntimeInfo;
export type CpuCacheStats = NativeCpuCacheStats;

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

/**
 * The caching CPU allocator's counters. Freed tensor memory of 64 KiB and more is kept for the next
 * tensor of its size class (up to limitBytes: TORCHXFER_CPU_CACHE_MB, default a quarter of RAM;
 * TORCHXFER_CPU_CACHE=off disables it), so repeated training steps stop page-faulting.
 */
export function cpuCacheStats(): CpuCacheStats {
  return native().cpuCache();
}

/** Gives the cached free CPU memory back to the system (e.g. between runs of different shapes). */
export function releaseCpuCache(): void {
  native().releaseCpuCache();
}
