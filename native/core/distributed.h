// Data-parallel training across processes: a c10d process group (Gloo on CPU, NCCL on CUDA when
// built with it) with the few collectives the trainer needs. Plain C++, no napi.h. Builds without
// c10d compile everything but the constructor throws "this build has no distributed support".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enum_names.h"

namespace torchxfer {

enum class Backend { Gloo, Nccl };
inline constexpr EnumNames<Backend, 2> kBackends{{{"gloo", Backend::Gloo}, {"nccl", Backend::Nccl}}};

struct DataParallelConfig {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";  // TCPStore rendezvous (rank 0 listens)
  int64_t master_port = 29500;
  std::string file_store;                 // non-empty: rendezvous through this file instead of TCP
  Backend backend = Backend::Gloo;
  int64_t timeout_ms = 60000;             // rendezvous and every collective
  int64_t cuda_device = 0;                // nccl: CPU tensors are staged on this GPU (the local rank's)
};

// True when this build can create a DataParallel context (c10d with Gloo compiled in).
bool distributed_available();
bool nccl_available();

class DataParallel {
 public:
  // Joins the group: blocks until all world_size ranks joined, or throws after timeout_ms.
  explicit DataParallel(DataParallelConfig config);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int64_t rank() const { return config_.rank; }
  int64_t world_size() const { return config_.world_size; }
  const DataParallelConfig& config() const { return config_; }

  // Sum over ranks, in place; tensors of one dtype and device are flattened into one buffer (one call).
  void allreduce_sum(std::vector<torch::Tensor>& tensors);
  // Sum over ranks divided by the world size, in place.
  void allreduce_mean(std::vector<torch::Tensor>& tensors);
  // Every rank receives rank `root`'s values, in place (identical starting weights).
  void broadcast(std::vector<torch::Tensor>& tensors, int64_t root = 0);
  void barrier();

 private:
  void allreduce_scaled(std::vector<torch::Tensor>& tensors, int64_t divisor);
  struct Impl;
  DataParallelConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchxfer
