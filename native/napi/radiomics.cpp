// Exports: radiomicFeatures(images: Uint8Array, shape: [n, h, w], { symmetric }) -> Promise<Float64Array>,
//          radiomicFeatureNames() -> string[].
#include "../core/radiomics.h"

#include <cstring>

#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"

namespace torchxfer::napi {
namespace {

Napi::Value RadiomicFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Value images = info[0];
  if (!images.IsTypedArray() || images.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_expected(env, "a Uint8Array", "images", images);
  std::vector<int64_t> shape = get_shape(info[1], "shape");
  // Kept: shape[0..2] are read below (memory). Ranges and the pixel count are src/radiomics/features.ts's
  // to validate and the core's (radiomic_features) to guard.
  if (shape.size() != 3) throw_expected(env, "an array [n, height, width]", "shape", info[1]);
  RadiomicOptions options;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsObject()) throw_expected(env, "an object", "options", info[2]);
    Napi::Value symmetric = info[2].As<Napi::Object>().Get("symmetric");
    if (!symmetric.IsUndefined()) options.symmetric = get_bool(symmetric, "symmetric");
  }
  auto ta = images.As<Napi::Uint8Array>();
  // Copy on the JS thread: the worker must never read memory JS may change or free.
  auto pixels = std::make_shared<std::vector<uint8_t>>(ta.Data(), ta.Data() + ta.ElementLength());
  return run_async<std::vector<double>>(
      env,
      [pixels, shape, options]() { return radiomic_features(pixels->data(), pixels->size(), shape[0], shape[1], shape[2], options); },
      [](Napi::Env env, std::vector<double>& values) -> Napi::Value {
        auto out = Napi::Float64Array::New(env, values.size());
        if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(double));
        return out;
      });
}

Napi::Value RadiomicFeatureNames(const Napi::CallbackInfo& info) {
  const auto& names = radiomic_feature_names();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (uint32_t k = 0; k < names.size(); ++k) out.Set(k, names[k]);
  return out;
}

}  // namespace

TORCHXFER_EXPORTS(Radiomics) {
  exports.Set("radiomicFeatures", Napi::Function::New(env, RadiomicFeatures, "radiomicFeatures"));
  exports.Set("radiomicFeatureNames", Napi::Function::New(env, RadiomicFeatureNames, "radiomicFeatureNames"));
}

}  // namespace torchxfer::napi
