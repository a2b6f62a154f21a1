#include "distributed.h"

#include <chrono>
#include <map>
#include <stdexcept>
#include <utility>

#if defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define TORCHXFER_HAS_C10D 1
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#if defined(TORCHXFER_WITH_CUDA) && defined(USE_C10D_NCCL) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#define TORCHXFER_HAS_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace torchxfer {

bool distributed_available() {
#ifdef TORCHXFER_HAS_C10D
  return true;
#else
  return false;
#endif
}

bool nccl_available() {
#ifdef TORCHXFER_HAS_NCCL
  return true;
#else
  return false;
#endif
}

namespace {

// c10::Error carries a C++ backtrace in what(): keep the message only.
std::string message_of(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

void check_config(const DataParallelConfig& c) {
  if (c.world_size < 1) throw std::invalid_argument("world size must be >= 1, got " + std::to_string(c.world_size));
  if (c.rank < 0 || c.rank >= c.world_size)
    throw std::invalid_argument("rank must be in [0, " + std::to_string(c.world_size - 1) + "], got " + std::to_string(c.rank));
  if (c.file_store.empty() && (c.master_port < 1 || c.master_port > 65535))
    throw std::invalid_argument("master port must be in [1, 65535], got " + std::to_string(c.master_port));
  if (c.timeout_ms < 1) throw std::invalid_argument("timeout must be >= 1 ms");
}

}  // namespace

#ifdef TORCHXFER_HAS_C10D

// LibTorch 2.x derives the Gloo and NCCL groups from c10d::Backend; 1.13 from c10d::ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend;
#else
using GroupBase = c10d::ProcessGroup;
#endif

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<GroupBase> group;
};

DataParallel::DataParallel(DataParallelConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  check_config(config_);
  const auto timeout = std::chrono::milliseconds(config_.timeout_ms);
  const std::string where = config_.file_store.empty() ? config_.master_addr + ":" + std::to_string(config_.master_port) : config_.file_store;
  try {
    if (config_.file_store.empty()) {
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(config_.master_port);
      o.isServer = config_.rank == 0;
      o.numWorkers = static_cast<size_t>(config_.world_size);
      o.waitWorkers = true;
      o.timeout = timeout;
      impl_->store = c10::make_intrusive<c10d::TCPStore>(config_.master_addr, o);
    } else {
      impl_->store = c10::make_intrusive<c10d::FileStore>(config_.file_store, static_cast<int>(config_.world_size));
      impl_->store->setTimeout(timeout);
    }
    if (config_.backend == Backend::Nccl) {
#ifdef TORCHXFER_HAS_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, config_.rank, config_.world_size, o);
#else
      throw std::invalid_argument("backend 'nccl' needs a CUDA build of torchxfer over a LibTorch with NCCL; use 'gloo'");
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback rendezvous: bind Gloo to loopback too (the hostname may not resolve on small machines).
      const bool local = config_.master_addr == "127.0.0.1" || config_.master_addr == "localhost";
      o->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1") : c10d::ProcessGroupGloo::createDefaultDevice());
      o->threads = 2;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, config_.rank, config_.world_size, o);
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed rendezvous at " + where + " failed for rank " + std::to_string(config_.rank) + " of " +
                             std::to_string(config_.world_size) + " (timeout " + std::to_string(config_.timeout_ms) + " ms): " + message_of(e));
  }
}

DataParallel::~DataParallel() = default;

namespace {

// Runs one collective and waits; any failure (timeout, a peer that died) becomes a runtime_error.
template <typename F>
void collective(const DataParallelConfig& c, const char* what, F&& f) {
  try {
    c10::intrusive_ptr<c10d::Work> work = f();
    work->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("distributed ") + what + " failed on rank " + std::to_string(c.rank) + " of " + std::to_string(c.world_size) +
                             " (a peer may have stopped or timed out after " + std::to_string(c.timeout_ms) + " ms): " + message_of(e));
  }
}

// Tensors grouped by dtype and device, so each group is one flat buffer and one collective.
std::map<std::string, std::vector<size_t>> buckets(const std::vector<torch::Tensor>& tensors) {
  std::map<std::string, std::vector<size_t>> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) throw std::invalid_argument("distributed collective on an undefined tensor (index " + std::to_string(i) + ")");
    out[std::string(c10::toString(tensors[i].scalar_type())) + "@" + tensors[i].device().str()].push_back(i);
  }
  return out;
}

template <typename F>
void over_flat_buffers(const DataParallelConfig& c, std::vector<torch::Tensor>& tensors, F&& f) {
  torch::NoGradGuard no_grad;
  for (const auto& [key, idx] : buckets(tensors)) {
    std::vector<torch::Tensor> parts;
    for (size_t i : idx) parts.push_back(tensors[i].reshape({-1}));
    torch::Tensor flat = torch::cat(parts);
    if (c.backend == Backend::Nccl && !flat.is_cuda())
      flat = flat.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(c.cuda_device)));
    f(flat);
    int64_t offset = 0;
    for (size_t i : idx) {
      const int64_t n = tensors[i].numel();
      tensors[i].copy_(flat.narrow(0, offset, n).view_as(tensors[i]));
      offset += n;
    }
  }
}

}  // namespace

void DataParallel::allreduce_sum(std::vector<torch::Tensor>& tensors) { allreduce_scaled(tensors, 1); }

void DataParallel::allreduce_mean(std::vector<torch::Tensor>& tensors) { allreduce_scaled(tensors, config_.world_size); }

// The sum over ranks, divided by `divisor` (1: left as the sum), one flat buffer at a time.
void DataParallel::allreduce_scaled(std::vector<torch::Tensor>& tensors, int64_t divisor) {
  over_flat_buffers(config_, tensors, [&](torch::Tensor& flat) {
    std::vector<torch::Tensor> one{flat};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    collective(config_, "all-reduce", [&]() { return impl_->group->allreduce(one, o); });
    if (divisor != 1) flat.div_(static_cast<double>(divisor));
  });
}

void DataParallel::broadcast(std::vector<torch::Tensor>& tensors, int64_t root) {
  if (root < 0 || root >= config_.world_size) throw std::invalid_argument("broadcast root must be a rank, got " + std::to_string(root));
  over_flat_buffers(config_, tensors, [&](torch::Tensor& flat) {
    std::vector<torch::Tensor> one{flat};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    collective(config_, "broadcast", [&]() { return impl_->group->broadcast(one, o); });
  });
}

void DataParallel::barrier() {
  collective(config_, "barrier", [&]() { return impl_->group->barrier(); });
}

#else  // no c10d in this LibTorch

struct DataParallel::Impl {};

DataParallel::DataParallel(DataParallelConfig config) : config_(std::move(config)) {
  check_config(config_);
  throw std::runtime_error("this build has no distributed support (LibTorch without c10d/Gloo, or the Gloo headers were missing at build time)");
}
DataParallel::~DataParallel() = default;
void DataParallel::allreduce_sum(std::vector<torch::Tensor>&) {}
void DataParallel::allreduce_mean(std::vector<torch::Tensor>&) {}
void DataParallel::allreduce_scaled(std::vector<torch::Tensor>&, int64_t) {}
void DataParallel::broadcast(std::vector<torch::Tensor>&, int64_t) {}
void DataParallel::barrier() {}

#endif

}  // namespace torchxfer
