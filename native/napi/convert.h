// Argument helpers: reading JS values into plain C++ with messages naming the argument.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../core/enum_names.h"

namespace torchxfer::napi {

std::string describe_value(const Napi::Value& v);
[[noreturn]] void throw_expected(Napi::Env env, const std::string& what, const std::string& name, const Napi::Value& got);

std::string get_string(const Napi::Value& v, const std::string& name);
double get_number(const Napi::Value& v, const std::string& name);
int64_t get_int(const Napi::Value& v, const std::string& name);
bool get_bool(const Napi::Value& v, const std::string& name);
// A string naming one value of a core enum (its names table), converted once here: the core never
// compares strings. TypeScript validated it first; anything else is a TypeError naming the choices.
template <typename E, std::size_t N>
E get_enum(const Napi::Value& v, const std::string& name, const EnumNames<E, N>& names) {
  if (v.IsString())
    if (auto value = parse_enum(names, v.As<Napi::String>().Utf8Value())) return *value;
  throw_expected(v.Env(), enum_choices(names), name, v);
}
std::vector<int64_t> get_shape(const Napi::Value& v, const std::string& name);
std::vector<float> get_float_array(const Napi::Value& v, const std::string& name);

// TypedArray <-> tensor (always copies: the tensor never aliases memory JS may free).
torch::Tensor tensor_from_typed_array(const Napi::Value& v, const std::vector<int64_t>& shape, const std::string& name);
Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& t);
Napi::Array shape_to_array(Napi::Env env, c10::IntArrayRef sizes);

}  // namespace torchxfer::napi
