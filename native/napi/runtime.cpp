// Exports: info(), setNumThreads(n), getNumThreads(), workerThreads() (async), cpuCache(), releaseCpuCache().
#include "../core/cpu_cache.h"
#include "../core/runtime.h"

#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"

namespace torchxfer::napi {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    RuntimeInfo r = runtime_info();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("torchVersion", r.torch_version);
    o.Set("cudaCompiled", r.cuda_compiled);
    o.Set("cudaAvailable", r.cuda_available);
    o.Set("cudaDeviceCount", r.cuda_device_count);
    o.Set("mkldnn", r.mkldnn_available);
    Napi::Object features = Napi::Object::New(info.Env());
    features.Set("gloo", r.gloo);
    features.Set("cuda", r.cuda_compiled);
    features.Set("cudnn", r.cudnn);
    features.Set("nccl", r.nccl);
    o.Set("features", features);
    o.Set("numThreads", num_threads());
    o.Set("numInteropThreads", r.num_interop_threads);
    o.Set("hardwareThreads", r.hardware_threads);
    o.Set("parallelInfo", r.parallel_info);
    return o;
  });
}

Napi::Value CpuCache(const Napi::CallbackInfo& info) {
  CpuCacheStats c = cpu_cache_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("installed", c.installed);
  o.Set("cachedBytes", static_cast<double>(c.cached_bytes));
  o.Set("inUseBytes", static_cast<double>(c.in_use_bytes));
  o.Set("limitBytes", static_cast<double>(c.limit_bytes));
  o.Set("hits", static_cast<double>(c.hits));
  o.Set("misses", static_cast<double>(c.misses));
  return o;
}

Napi::Value ReleaseCpuCache(const Napi::CallbackInfo& info) {
  release_cpu_cache();
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = get_int(info[0], "threads");  // src/runtime.ts checked 1..4096; the core refuses < 1
  return guard(info.Env(), [&]() -> Napi::Value { set_num_threads(static_cast<int>(n)); return info.Env().Undefined(); });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

// The intra-op thread count as seen from the compute thread (proves prepare_worker_thread works).
Napi::Value WorkerThreads(const Napi::CallbackInfo& info) {
  return run_async<int>(info.Env(), []() { return at::get_num_threads(); },
                        [](Napi::Env env, int& n) -> Napi::Value { return Napi::Number::New(env, n); });
}

// Seeds LibTorch's global generator (weight init, dropout) so runs are reproducible.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  int64_t seed = get_int(info[0], "seed");  // src/runtime.ts checked 0..2^53-1
  return guard(info.Env(), [&]() -> Napi::Value { torch::manual_seed(static_cast<uint64_t>(seed)); return info.Env().Undefined(); });
}

Napi::Value ParseDevice(const Napi::CallbackInfo& info) {
  std::string spec = get_string(info[0], "device");
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), parse_device(spec).str()); });
}

}  // namespace

TORCHXFER_EXPORTS(Runtime) {
  set_num_threads(default_num_threads());  // LibTorch's own default here is 1
  tune_allocator();
  install_cpu_cache();
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("cpuCache", Napi::Function::New(env, CpuCache, "cpuCache"));
  exports.Set("releaseCpuCache", Napi::Function::New(env, ReleaseCpuCache, "releaseCpuCache"));
  exports.Set("workerThreads", Napi::Function::New(env, WorkerThreads, "workerThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("parseDevice", Napi::Function::New(env, ParseDevice, "parseDevice"));
}

}  // namespace torchxfer::napi
