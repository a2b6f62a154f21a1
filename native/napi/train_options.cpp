#include "train_options.h"

#include "convert.h"

namespace torchxfer::napi {

Napi::Value option_of(const Napi::Object& o, const char* key) { return o.Has(key) ? o.Get(key) : o.Env().Undefined(); }

Napi::Object get_object(const Napi::Value& v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) throw_expected(v.Env(), "an object", name, v);
  return v.As<Napi::Object>();
}

std::vector<double> get_numbers(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw_expected(v.Env(), "an array of numbers", name, v);
  auto arr = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(get_number(arr.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

// Ranges are checked once, in TypeScript (src/train/trainer.ts validateAugment); the core's
// check_augment guards what would read out of bounds (crop larger than the image, mean/std sizes).
void read_augment(const Napi::Object& o, AugmentConfig& a) {
  if (Napi::Value v = option_of(o, "crop"); !v.IsUndefined()) a.crop = get_int(v, "crop");
  if (Napi::Value v = option_of(o, "flipP"); !v.IsUndefined()) a.flip_p = get_number(v, "flipP");
  if (Napi::Value v = option_of(o, "maxRotation"); !v.IsUndefined()) a.max_rotation_deg = get_number(v, "maxRotation");
  if (Napi::Value v = option_of(o, "mean"); !v.IsUndefined()) a.mean = get_numbers(v, "mean");
  if (Napi::Value v = option_of(o, "std"); !v.IsUndefined()) a.std = get_numbers(v, "std");
}

torch::Tensor read_images(const Napi::Object& o) {
  Napi::Value images = option_of(o, "images");
  if (!images.IsTypedArray() || images.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw_expected(o.Env(), "a Uint8Array", "images", images);
  auto shape = get_shape(option_of(o, "shape"), "shape");
  // Four dimensions are what the tensor is read as (the pixel count is checked against the buffer).
  if (shape.size() != 4) throw_expected(o.Env(), "a shape [n, channels, height, width]", "shape", option_of(o, "shape"));
  return tensor_from_typed_array(images, shape, "images");
}

// TypeScript checked 0 <= seed <= 2^53-1.
uint64_t get_seed(const Napi::Value& v, const std::string& name) { return static_cast<uint64_t>(get_int(v, name)); }

}  // namespace torchxfer::napi
