// Runtime facts and thread/device configuration. Plain C++ (no napi.h).
#pragma once
#include <string>

#include <torch/torch.h>

namespace torchxfer {

struct RuntimeInfo {
  std::string torch_version;   // e.g. "1.13.1"
  bool cuda_available = false;
  int cuda_device_count = 0;
  bool cuda_compiled = false;  // built against a LibTorch with CUDA
  bool mkldnn_available = false;
  bool gloo = false;           // c10d Gloo compiled in: multi-process training on CPU
  bool nccl = false;           // c10d NCCL compiled in (CUDA builds)
  bool cudnn = false;          // the CUDA LibTorch carries cuDNN
  int num_threads = 0;         // intra-op threads of the calling thread
  int num_interop_threads = 0;
  int hardware_threads = 0;
  std::string parallel_info;   // at::get_parallel_info()
};

RuntimeInfo runtime_info();

// Default intra-op thread count: the machine's cores (LibTorch defaults to 1 here).
int default_num_threads();

// Process-wide thread count used by every worker thread; set once, read by prepare_worker_thread().
void set_num_threads(int n);
int num_threads();

// OpenMP's thread count is per OS thread: a worker thread (the compute thread, a libuv worker) must initialise it before heavy work,
// otherwise LibTorch runs single-threaded there.
void prepare_worker_thread();

// glibc malloc tuned for LibTorch's large, short-lived CPU tensors used from several threads: one
// arena, fixed mmap threshold, no eager trimming (otherwise each libuv worker's arena mmaps and
// page-faults the activations afresh every step: DenseNet121 training measured 2.9 s -> 2.3 s/step).
// No-op elsewhere, or when TORCHXFER_MALLOC=default. Call before worker threads start.
void tune_allocator();

// "cpu", "cuda", "cuda:1", "auto" -> a device; throws std::invalid_argument naming the value.
torch::Device parse_device(const std::string& spec);

}  // namespace torchxfer
