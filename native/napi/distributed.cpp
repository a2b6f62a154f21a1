// JS class `DistributedContext` and `distributedAvailable()`. Rendezvous and collectives block until
// every rank takes part, so they all run on libuv workers (Promises).
#include "distributed.h"

#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"
#include "train_options.h"
#include "tensor.h"

namespace torchxfer::napi {

Napi::Function DistributedWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "DistributedContext", {
      InstanceMethod<&DistributedWrap::Join>("join"),
      InstanceMethod<&DistributedWrap::Barrier>("barrier"),
      InstanceMethod<&DistributedWrap::AllreduceSum>("allreduceSum"),
      InstanceMethod<&DistributedWrap::Broadcast>("broadcast"),
      InstanceMethod<&DistributedWrap::Dispose>("dispose"),
      InstanceAccessor<&DistributedWrap::Joined>("joined"),
  });
  addon_data(env).constructors["DistributedContext"] = Napi::Persistent(cls);
  return cls;
}

std::shared_ptr<DataParallel> DistributedWrap::FromValue(const Napi::Value& v, const std::string& name) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructor_of(env, "DistributedContext"))) throw_expected(env, "a DistributedContext", name, v);
  return Napi::ObjectWrap<DistributedWrap>::Unwrap(v.As<Napi::Object>())->Get(env);
}

// new DistributedContext({rank, worldSize, masterAddr?, masterPort?, fileStore?, backend?, timeoutMs?, cudaDevice?})
DistributedWrap::DistributedWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DistributedWrap>(info) {
  Napi::Object o = get_object(info[0], "options");
  // Converts only: src/distributed.ts validates every option; the core checks the config when joining (check_config).
  config_.world_size = get_int(option_of(o, "worldSize"), "worldSize");
  config_.rank = get_int(option_of(o, "rank"), "rank");
  if (Napi::Value v = option_of(o, "masterAddr"); !v.IsUndefined()) config_.master_addr = get_string(v, "masterAddr");
  if (Napi::Value v = option_of(o, "masterPort"); !v.IsUndefined()) config_.master_port = get_int(v, "masterPort");
  if (Napi::Value v = option_of(o, "fileStore"); !v.IsUndefined()) config_.file_store = get_string(v, "fileStore");
  if (Napi::Value v = option_of(o, "backend"); !v.IsUndefined()) config_.backend = get_enum(v, "backend", kBackends);
  if (Napi::Value v = option_of(o, "cudaDevice"); !v.IsUndefined()) config_.cuda_device = get_int(v, "cudaDevice");
  if (Napi::Value v = option_of(o, "timeoutMs"); !v.IsUndefined()) config_.timeout_ms = get_int(v, "timeoutMs");
}

std::shared_ptr<DataParallel> DistributedWrap::Get(Napi::Env env) const {
  if (!slot_->group) throw Napi::Error::New(env, "DistributedContext has not joined its group (await join() first) or was disposed");
  return slot_->group;
}

Napi::Value DistributedWrap::Join(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (slot_->group || slot_->joining) throw Napi::Error::New(env, "DistributedContext.join() was already called");
  slot_->joining = true;
  auto slot = slot_;
  DataParallelConfig c = config_;
  return run_async_on_pool<std::shared_ptr<DataParallel>>(
      env, [c]() { return std::make_shared<DataParallel>(c); },
      [slot](Napi::Env env, std::shared_ptr<DataParallel>& group) -> Napi::Value {
        slot->group = group;
        slot->joining = false;
        return env.Undefined();
      });
}

Napi::Value DistributedWrap::Barrier(const Napi::CallbackInfo& info) {
  auto group = Get(info.Env());
  return run_async_on_pool<bool>(
      info.Env(), [group]() { group->barrier(); return true; }, [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

// A Float64Array copy summed over ranks (small values: losses, counts, decisions).
Napi::Value DistributedWrap::AllreduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto group = Get(env);
  Napi::Value v = info[0];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw_expected(env, "a Float64Array", "values", v);
  const int64_t n = static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength());
  torch::Tensor t = tensor_from_typed_array(v, {n}, "values").clone();
  return run_async_on_pool<torch::Tensor>(
      env, [group, t]() { std::vector<torch::Tensor> one{t}; group->allreduce_sum(one); return t; },
      [](Napi::Env env, torch::Tensor& r) -> Napi::Value { return typed_array_from_tensor(env, r); });
}

// broadcast(values: Float64Array, root = 0) -> Promise<Float64Array> with root's values.
Napi::Value DistributedWrap::Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto group = Get(env);
  Napi::Value v = info[0];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw_expected(env, "a Float64Array", "values", v);
  // DistributedContext.broadcast (src/distributed.ts) checked root; the core checks it is a rank.
  int64_t root = info.Length() > 1 && !info[1].IsUndefined() ? get_int(info[1], "root") : 0;
  const int64_t n = static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength());
  torch::Tensor t = tensor_from_typed_array(v, {n}, "values").clone();
  return run_async_on_pool<torch::Tensor>(
      env, [group, t, root]() { std::vector<torch::Tensor> one{t}; group->broadcast(one, root); return t; },
      [](Napi::Env env, torch::Tensor& r) -> Napi::Value { return typed_array_from_tensor(env, r); });
}

Napi::Value DistributedWrap::Joined(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), static_cast<bool>(slot_->group)); }

// Leaves the group once no Trainer holds it any more.
Napi::Value DistributedWrap::Dispose(const Napi::CallbackInfo& info) {
  slot_->group.reset();
  return info.Env().Undefined();
}

TORCHXFER_EXPORTS(DistributedContext) {
  exports.Set("DistributedContext", DistributedWrap::Define(env));
  exports.Set("distributedAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("gloo", distributed_available());
    out.Set("nccl", nccl_available());
    return out;
  }));
}

}  // namespace torchxfer::napi
