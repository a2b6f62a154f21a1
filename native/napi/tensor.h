// JS class `Tensor`: owns one at::Tensor until dispose() or garbage collection.
#pragma once
#include <napi.h>

#include <optional>

#include <torch/torch.h>

namespace torchxfer::napi {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // A new JS Tensor owning `t` (used by other classes to hand results back).
  static Napi::Object Wrap(Napi::Env env, torch::Tensor t);
  // The tensor behind a JS value, or a TypeError naming `name` (disposed tensors included).
  static torch::Tensor FromValue(const Napi::Value& v, const std::string& name);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  // Tensors currently held by JS objects (not disposed, not yet garbage collected): leak checks.
  static int64_t live_count();

 private:
  const torch::Tensor& Get(Napi::Env env) const;

  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value DataSync(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Matmul(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // Takes ownership: counts the tensor and tells V8 its size, so GC pressure reflects native memory.
  void Hold(Napi::Env env, torch::Tensor t);
  void Release();

  std::optional<torch::Tensor> tensor_;
  napi_env env_ = nullptr;
  int64_t external_bytes_ = 0;
};

}  // namespace torchxfer::napi
