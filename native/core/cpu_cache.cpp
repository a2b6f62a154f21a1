#include "cpu_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace torchxfer {
namespace {

constexpr size_t kMinCached = 64 * 1024;  // smaller blocks are plain malloc'd and freed
constexpr size_t kAlignment = 64;         // as c10's alloc_cpu

// Eight size classes per power of two (at most 12.5% rounding), so reuse needs no best-fit search.
size_t size_class(size_t n) {
  size_t top = 63 - static_cast<size_t>(__builtin_clzll(n));
  size_t step = size_t{1} << (top >= 3 ? top - 3 : 0);
  return (n + step - 1) / step * step;
}

uint64_t default_limit() {
  if (const char* mb = std::getenv("TORCHXFER_CPU_CACHE_MB")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0' && mb[0] != '-') return static_cast<uint64_t>(v) * 1024 * 1024;
    // Read at load time, where throwing would leave no addon at all: say so and use the default.
    std::cerr << "torchxfer: ignoring TORCHXFER_CPU_CACHE_MB='" << mb << "' (expected a whole number of megabytes); the CPU cache keeps up to a quarter of RAM\n";
  }
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t physical = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : (uint64_t{4} << 30);
  return physical / 4;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  CachingCpuAllocator() : limit_(default_limit()) {}

  // Both spellings: LibTorch 1.13 declares allocate() const, 2.3+ non-const; one of them overrides.
  c10::DataPtr allocate(size_t n) const { return const_cast<CachingCpuAllocator*>(this)->allocate_block(n); }
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }
  // LibTorch 2.3+ requires it (pure virtual there); a plain member on older versions.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
  // oneDNN (ideep) frees through raw_deallocate: every block, cached or not, has this one deleter.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::give_back; }

  CpuCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return CpuCacheStats{true, cached_, in_use_, limit_, hits_, misses_};
  }

  void release() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, list] : free_)
        for (void* p : list) {
          blocks.push_back(p);
          sizes_.erase(p);
        }
      free_.clear();
      cached_ = 0;
    }
    for (void* p : blocks) std::free(p);
  }

 private:
  c10::DataPtr allocate_block(size_t n) {
    const bool cached = n >= kMinCached;
    const size_t size = cached ? size_class(n) : std::max<size_t>(n, 1);
    void* p = cached ? take(size) : nullptr;
    if (!p) {
      if (posix_memalign(&p, kAlignment, size) != 0) {
        release();  // the cache may be what filled memory
        if (posix_memalign(&p, kAlignment, size) != 0) p = nullptr;
      }
      TORCH_CHECK(p, "out of CPU memory: could not allocate ", n, " bytes");
      if (cached) {
        std::lock_guard<std::mutex> lock(mutex_);
        sizes_[p] = size;
        in_use_ += size;
      }
    }
    return c10::DataPtr(p, p, &CachingCpuAllocator::give_back, c10::Device(c10::DeviceType::CPU));
  }

  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) {
      ++misses_;
      return nullptr;
    }
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    in_use_ += size;
    ++hits_;
    return p;
  }

  static void give_back(void* p);
  void put(void* p) {
    if (!p) return;
    if (!keep_for_reuse(p)) std::free(p);
  }

  // False for a small block, or when the cache is full (the block then leaves the cache).
  bool keep_for_reuse(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return false;
    const size_t size = it->second;
    in_use_ -= size;
    if (cached_ + size > limit_) {
      sizes_.erase(it);
      return false;
    }
    free_[size].push_back(p);
    cached_ += size;
    return true;
  }

  const uint64_t limit_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  std::unordered_map<void*, size_t> sizes_;             // every block this cache allocated
  uint64_t cached_ = 0, in_use_ = 0, hits_ = 0, misses_ = 0;
};

std::mutex g_install_mutex;
CachingCpuAllocator* g_cache = nullptr;  // leaked on purpose: tensors may be freed during static destruction

void CachingCpuAllocator::give_back(void* p) { g_cache->put(p); }

}  // namespace

void install_cpu_cache() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_cache) return;
  const char* mode = std::getenv("TORCHXFER_CPU_CACHE");
  if (mode && std::strcmp(mode, "off") == 0) return;
  if (mode && *mode && std::strcmp(mode, "on") != 0)
    std::cerr << "torchxfer: ignoring TORCHXFER_CPU_CACHE='" << mode << "' (expected 'off' or 'on'); the CPU cache stays on\n";
  g_cache = new CachingCpuAllocator();
  c10::SetCPUAllocator(g_cache, /*priority=*/1);
}

CpuCacheStats cpu_cache_stats() { return g_cache ? g_cache->stats() : CpuCacheStats{}; }

void release_cpu_cache() {
  if (g_cache) g_cache->release();
}

}  // namespace torchxfer
