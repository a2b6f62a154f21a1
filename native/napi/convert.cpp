#include "convert.h"

#include <cmath>
#include <cstring>

#include "../core/tensor_io.h"
#include "errors.h"

namespace torchxfer::napi {

std::string describe_value(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    return Napi::Value(v).ToString().Utf8Value();
  }
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsTypedArray()) return "a TypedArray";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

void throw_expected(Napi::Env env, const std::string& what, const std::string& name, const Napi::Value& got) {
  throw Napi::TypeError::New(env, "Expected " + what + " for " + name + " but received " + describe_value(got));
}

std::string get_string(const Napi::Value& v, const std::string& name) {
  if (!v.IsString()) throw_expected(v.Env(), "a string", name, v);
  return v.As<Napi::String>().Utf8Value();
}

double get_number(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) throw_expected(v.Env(), "a number", name, v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_expected(v.Env(), "a finite number", name, v);
  return d;
}

int64_t get_int(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) throw_expected(v.Env(), "an integer", name, v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) throw_expected(v.Env(), "an integer", name, v);
  return static_cast<int64_t>(d);
}

bool get_bool(const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) throw_expected(v.Env(), "a boolean", name, v);
  return v.As<Napi::Boolean>().Value();
}

std::vector<int64_t> get_shape(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw_expected(v.Env(), "an array of non-negative integers", name, v);
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    int64_t n = get_int(e, name + "[" + std::to_string(i) + "]");
    if (n < 0) throw_expected(v.Env(), "a non-negative integer", name + "[" + std::to_string(i) + "]", e);
    shape[i] = n;
  }
  return shape;
}

std::vector<float> get_float_array(const Napi::Value& v, const std::string& name) {
  std::vector<float> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto ta = v.As<Napi::Float32Array>();
    out.assign(ta.Data(), ta.Data() + ta.ElementLength());
    return out;
  }
  if (!v.IsArray()) throw_expected(v.Env(), "an array of numbers", name, v);
  auto arr = v.As<Napi::Array>();
  out.resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = static_cast<float>(get_number(arr.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

static torch::Dtype dtype_of(napi_typedarray_type type, bool* ok) {
  *ok = true;
  switch (type) {
    case napi_float32_array: return torch::kFloat32;
    case napi_float64_array: return torch::kFloat64;
    case napi_int32_array: return torch::kInt32;
    case napi_bigint64_array: return torch::kInt64;
    case napi_uint8_array: return torch::kUInt8;
    case napi_int8_array: return torch::kInt8;
    case napi_int16_array: return torch::kInt16;
    default: *ok = false; return torch::kFloat32;
  }
}

torch::Tensor tensor_from_typed_array(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& name) {
  if (!v.IsTypedArray()) throw_expected(v.Env(), "a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array", name, v);
  auto ta = v.As<Napi::TypedArray>();
  bool ok = false;
  torch::Dtype dtype = dtype_of(ta.TypedArrayType(), &ok);
  if (!ok) throw_expected(v.Env(), "a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array", name, v);
  const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  try {
    return tensor_from_buffer(base, ta.ByteLength(), dtype, shape);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(v.Env(), name + ": " + e.what());
  }
}

Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& t) {
  auto host = to_host_contiguous(t);
  // JS has no 16-bit float arrays (Node 20): half and bfloat16 come out widened to float32.
  if (host.scalar_type() == torch::kFloat16 || host.scalar_type() == torch::kBFloat16) host = host.to(torch::kFloat32);
  size_t n = static_cast<size_t>(host.numel());
  size_t bytes = host.nbytes();
  auto buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(buffer.Data(), host.data_ptr(), bytes);
  switch (host.scalar_type()) {
    case torch::kFloat32: return Napi::Float32Array::New(env, n, buffer, 0);
    case torch::kFloat64: return Napi::Float64Array::New(env, n, buffer, 0);
    case torch::kInt32: return Napi::Int32Array::New(env, n, buffer, 0);
    case torch::kInt64: return Napi::BigInt64Array::New(env, n, buffer, 0);
    case torch::kUInt8: return Napi::Uint8Array::New(env, n, buffer, 0);
    case torch::kBool: return Napi::Uint8Array::New(env, n, buffer, 0);
    case torch::kInt8: return Napi::Int8Array::New(env, n, buffer, 0);
    case torch::kInt16: return Napi::Int16Array::New(env, n, buffer, 0);
    default: throw Napi::TypeError::New(env, std::string("tensor dtype ") + c10::toString(host.scalar_type()) + " has no TypedArray counterpart");
  }
}

Napi::Array shape_to_array(Napi::Env env, c10::IntArrayRef sizes) {
  auto arr = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
  return arr;
}

}  // namespace torchxfer::napi
