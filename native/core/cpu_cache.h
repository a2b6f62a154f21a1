// A caching CPU allocator for LibTorch: blocks of 64 KiB and more are kept on free and handed out
// again for the next request of the same size class, as CUDA's caching allocator does on the GPU.
// Why: a training step allocates the same activation sizes every step; through malloc, those above
// glibc's 32 MiB mmap ceiling (and, from threads on a non-main arena, much smaller ones) are mapped,
// page-faulted and unmapped afresh each step, about 0.25-0.5 s of page faults per DenseNet121 step at
// batch 16 on 224 px. Plain C++, no napi.h.
#pragma once
#include <cstddef>
#include <cstdint>

namespace torchxfer {

struct CpuCacheStats {
  bool installed = false;
  uint64_t cached_bytes = 0;   // free blocks held for reuse
  uint64_t in_use_bytes = 0;   // live blocks handed out by the cache (small ones not counted)
  uint64_t limit_bytes = 0;    // cached_bytes never exceeds this; beyond it, freed blocks go back to the system
  uint64_t hits = 0, misses = 0;
};

// Installs the allocator as LibTorch's CPU allocator (once; later calls do nothing). The cache is
// capped at TORCHXFER_CPU_CACHE_MB megabytes (default: a quarter of physical memory);
// TORCHXFER_CPU_CACHE=off leaves LibTorch's allocator in place (a malformed value of either is reported
// on stderr and the default used). Call before worker threads start.
void install_cpu_cache();
CpuCacheStats cpu_cache_stats();
// Returns every cached free block to the system (live tensors are untouched).
void release_cpu_cache();

}  // namespace torchxfer
