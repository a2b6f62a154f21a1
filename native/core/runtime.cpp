#include "runtime.h"

#include "distributed.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdexcept>
#include <thread>

namespace torchxfer {
namespace {
std::atomic<int> g_num_threads{0};
}

int default_num_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be >= 1, got " + std::to_string(n));
  g_num_threads.store(n);
  at::set_num_threads(n);
}

int num_threads() {
  int n = g_num_threads.load();
  return n > 0 ? n : default_num_threads();
}

void tune_allocator() {
#if defined(__GLIBC__)
  const char* mode = std::getenv("TORCHXFER_MALLOC");
  if (mode && std::strcmp(mode, "default") == 0) return;
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
}

void prepare_worker_thread() {
  // Once per OS thread (and again only when the count changes): at::init_num_threads() re-applies
  // set_num_threads, which rebuilds LibTorch's thread pool (measured: ~100 ms per call under load).
  thread_local int prepared_for = 0;
  int n = num_threads();
  if (prepared_for == n) return;
  at::init_num_threads();
  if (at::get_num_threads() != n) at::set_num_threads(n);
  prepared_for = n;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                       "." + std::to_string(TORCH_VERSION_PATCH);
#ifdef TORCHXFER_WITH_CUDA
  info.cuda_compiled = true;
#endif
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  info.mkldnn_available = at::hasMKLDNN();
  info.gloo = distributed_available();
  info.nccl = nccl_available();
  info.cudnn = info.cuda_compiled && at::globalContext().hasCuDNN();
  info.num_threads = at::get_num_threads();
  info.num_interop_threads = at::get_num_interop_threads();
  info.hardware_threads = default_num_threads();
  info.parallel_info = at::get_parallel_info();
  return info;
}

torch::Device parse_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("device '" + spec + "' requested but CUDA is not available in this LibTorch build/machine");
    torch::Device d(spec);  // validates "cuda:N" syntax
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw std::invalid_argument("device '" + spec + "' does not exist (" + std::to_string(torch::cuda::device_count()) + " CUDA devices)");
    return d;
  }
  throw std::invalid_argument("unknown device '" + spec + "' (expected cpu, cuda, cuda:N or auto)");
}

}  // namespace torchxfer
