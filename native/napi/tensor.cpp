#include "tensor.h"

#include <atomic>

#include "../core/runtime.h"
#include "../core/tensor_io.h"
#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"

namespace torchxfer::napi {
namespace {
constexpr const char* kExternalTag = "torchxfer.tensor.adopt";
}  // namespace

Napi::Function TensorWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Tensor", {
      InstanceAccessor<&TensorWrap::Shape>("shape"),
      InstanceAccessor<&TensorWrap::Dtype>("dtype"),
      InstanceAccessor<&TensorWrap::Device>("device"),
      InstanceAccessor<&TensorWrap::Numel>("numel"),
      InstanceAccessor<&TensorWrap::Disposed>("disposed"),
      InstanceMethod<&TensorWrap::DataSync>("dataSync"),
      InstanceMethod<&TensorWrap::Data>("data"),
      InstanceMethod<&TensorWrap::To>("to"),
      InstanceMethod<&TensorWrap::Matmul>("matmul"),
      InstanceMethod<&TensorWrap::Dispose>("dispose"),
  });
  addon_data(env).constructors["Tensor"] = Napi::Persistent(cls);
  return cls;
}

Napi::Object TensorWrap::Wrap(Napi::Env env, torch::Tensor t) {
  // The constructor adopts the tensor passed through an External tagged so JS cannot forge it;
  // the External's finaliser frees the (then empty) holder whatever happens.
  auto ext = Napi::External<torch::Tensor>::New(env, new torch::Tensor(std::move(t)), [](Napi::Env, torch::Tensor* p) { delete p; });
  Napi::Object obj = constructor_of(env, "Tensor").New({ext, Napi::String::New(env, kExternalTag)});
  return obj;
}

torch::Tensor TensorWrap::FromValue(const Napi::Value& v, const std::string& name) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructor_of(env, "Tensor")))
    throw_expected(env, "a Tensor", name, v);
  auto* self = Napi::ObjectWrap<TensorWrap>::Unwrap(v.As<Napi::Object>());
  if (!self->tensor_) throw Napi::Error::New(env, name + " has been disposed");
  return *self->tensor_;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() == 2 && info[0].IsExternal() && info[1].IsString() && info[1].As<Napi::String>().Utf8Value() == kExternalTag) {
    Hold(env, std::move(*info[0].As<Napi::External<torch::Tensor>>().Data()));
    return;
  }
  auto shape = info.Length() > 1 ? get_shape(info[1], "shape") : std::vector<int64_t>{};
  if (info.Length() < 2) {
    if (!info[0].IsTypedArray()) throw_expected(env, "a TypedArray", "data", info[0]);
    shape = {static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength())};
  }
  Hold(env, tensor_from_typed_array(info[0], shape, "data"));
}

namespace {
std::atomic<int64_t> g_live_tensors{0};
}

void TensorWrap::Hold(Napi::Env env, torch::Tensor t) {
  Release();
  env_ = env;
  external_bytes_ = t.device().is_cpu() ? static_cast<int64_t>(t.nbytes()) : 0;
  tensor_ = std::move(t);
  ++g_live_tensors;
  if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
}

void TensorWrap::Release() {
  if (!tensor_) return;
  tensor_.reset();
  --g_live_tensors;
  if (external_bytes_ && env_) napi_adjust_external_memory(env_, -external_bytes_, nullptr);
  external_bytes_ = 0;
}

TensorWrap::~TensorWrap() { Release(); }

int64_t TensorWrap::live_count() { return g_live_tensors.load(); }

const torch::Tensor& TensorWrap::Get(Napi::Env env) const {
  if (!tensor_) throw Napi::Error::New(env, "Tensor has been disposed");
  return *tensor_;
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) { return shape_to_array(info.Env(), Get(info.Env()).sizes()); }

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtype_name(Get(info.Env()).scalar_type())); });
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), Get(info.Env()).device().str()); }

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(Get(info.Env()).numel())); }

Napi::Value TensorWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_.has_value()); }

Napi::Value TensorWrap::DataSync(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() { return typed_array_from_tensor(info.Env(), Get(info.Env())); });
}

Napi::Value TensorWrap::Data(const Napi::CallbackInfo& info) {
  torch::Tensor t = Get(info.Env());  // a reference-counted handle: safe if JS disposes meanwhile
  return run_async<torch::Tensor>(info.Env(), [t]() { return to_host_contiguous(t); },
                                  [](Napi::Env env, torch::Tensor& host) { return typed_array_from_tensor(env, host); });
}

Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  torch::Tensor t = Get(info.Env());
  std::string spec = get_string(info[0], "device");
  torch::Device device = torch::kCPU;
  guard(info.Env(), [&]() -> Napi::Value { device = parse_device(spec); return info.Env().Undefined(); });
  return run_async<torch::Tensor>(info.Env(), [t, device]() { return t.to(device); },
                                  [](Napi::Env env, torch::Tensor& r) -> Napi::Value { return Wrap(env, r); });
}

Napi::Value TensorWrap::Matmul(const Napi::CallbackInfo& info) {
  torch::Tensor a = Get(info.Env());
  torch::Tensor b = FromValue(info[0], "other");
  return run_async<torch::Tensor>(info.Env(), [a, b]() { return torch::matmul(a, b); },
                                  [](Napi::Env env, torch::Tensor& r) -> Napi::Value { return Wrap(env, r); });
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  Release();  // idempotent; in-flight async work holds its own reference
  return info.Env().Undefined();
}

TORCHXFER_EXPORTS(Tensor) {
  exports.Set("Tensor", TensorWrap::Define(env));
  exports.Set("liveTensors", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(TensorWrap::live_count()));
  }, "liveTensors"));
}

}  // namespace torchxfer::napi
