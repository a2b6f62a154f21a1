#include "train_options.h"

#include "convert.h"

namespace torchxfer::napi {

Napi::Value option_of(const Napi::Object& o, const char* key) { return o.Has(key) ? o.Get(key) : o.Env().Undefined(); }

Napi::Object get_object(const Napi::Value& v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) throw_expected(v.Env(), "an object", name, v);
  return v.As<Napi::Object>();
}

double get_number_in(const Napi::Value& v, const std::string& name, double lo, double hi, bool open_lo) {
  double d = get_number(v, name);
  if (d < lo || d > hi || (open_lo && d == lo))
    throw_expected(v.Env(), "a number " + std::string(open_lo ? "> " : ">= ") + c10::str(lo) + " and <= " + c10::str(hi), name, v);
  return d;
}

std::vector<double> get_numbers(const Napi::Value& v, const std::string& name, size_t min_len, size_t max_len, double lo, double hi, bool open_lo) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() < min_len || v.As<Napi::Array>().Length() > max_len)
    throw_expected(v.Env(), min_len == max_len ? "an array of " + std::to_string(min_len) + " numbers" : "an array of " + std::to_string(min_len) + " to " + std::to_string(max_len) + " numbers", name, v);
  auto arr = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(get_number_in(arr.Get(i), name + "[" + std::to_string(i) + "]", lo, hi, open_lo));
  return out;
}

void read_augment(const Napi::Object& o, AugmentConfig& a) {
  if (Napi::Value v = option_of(o, "crop"); !v.IsUndefined()) {
    a.crop = get_int(v, "crop");
    if (a.crop < 1) throw_expected(o.Env(), "an integer >= 1", "crop", v);
  }
  if (Napi::Value v = option_of(o, "flipP"); !v.IsUndefined()) a.flip_p = get_number_in(v, "flipP", 0, 1);
  if (Napi::Value v = option_of(o, "maxRotation"); !v.IsUndefined()) a.max_rotation_deg = get_number_in(v, "maxRotation", 0, 180);
  if (Napi::Value v = option_of(o, "mean"); !v.IsUndefined()) a.mean = get_numbers(v, "mean", 1, 3, -1e6, 1e6, false);
  if (Napi::Value v = option_of(o, "std"); !v.IsUndefined()) a.std = get_numbers(v, "std", 1, 3, 0, 1e6, true);
}

torch::Tensor read_images(const Napi::Object& o) {
  Napi::Value images = option_of(o, "images");
  if (!images.IsTypedArray() || images.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw_expected(o.Env(), "a Uint8Array", "images", images);
  auto shape = get_shape(option_of(o, "shape"), "shape");
  if (shape.size() != 4) throw_expected(o.Env(), "a shape [n, channels, height, width]", "shape", option_of(o, "shape"));
  return tensor_from_typed_array(images, shape, "images");
}

uint64_t get_seed(const Napi::Value& v, const std::string& name) {
  int64_t s = get_int(v, name);
  if (s < 0 || s > 9007199254740991LL) throw_expected(v.Env(), "an integer between 0 and 2^53-1", name, v);
  return static_cast<uint64_t>(s);
}

}  // namespace torchxfer::napi
