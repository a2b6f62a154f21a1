// JS class `Model`: owns a Classifier (native/core/models/classifier.h) until dispose().
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "../core/models/classifier.h"

namespace torchxfer::napi {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The Classifier behind a JS Model (for other classes, e.g. a Trainer), or a TypeError naming `name`.
  static std::shared_ptr<Classifier> FromValue(const Napi::Value& v, const std::string& name);

  explicit ModelWrap(const Napi::CallbackInfo& info);
  ~ModelWrap() override;

 private:
  std::shared_ptr<Classifier> Get(Napi::Env env) const;

  Napi::Value LoadStateDict(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value Freeze(const Napi::CallbackInfo& info);
  Napi::Value Unfreeze(const Napi::CallbackInfo& info);
  Napi::Value SetFrozenBatchNorm(const Napi::CallbackInfo& info);
  Napi::Value SetTraining(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value ReinitMoments(const Napi::CallbackInfo& info);
  Napi::Value Groups(const Napi::CallbackInfo& info);
  Napi::Value NumParameters(const Napi::CallbackInfo& info);
  Napi::Value Config(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  Napi::Value SetTrainable(const Napi::CallbackInfo& info, bool trainable);

  void ReportMemory(napi_env env, int64_t bytes);

  std::shared_ptr<Classifier> model_;
  napi_env env_ = nullptr;
  int64_t external_bytes_ = 0;
};

}  // namespace torchxfer::napi
