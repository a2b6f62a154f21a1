#include "tensor_io.h"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace torchxfer {

torch::Dtype dtype_from_name(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "int32") return torch::kInt32;
  if (name == "int64") return torch::kInt64;
  if (name == "uint8") return torch::kUInt8;
  if (name == "int8") return torch::kInt8;
  if (name == "int16") return torch::kInt16;
  if (name == "bool") return torch::kBool;
  throw std::invalid_argument("unsupported dtype '" + name + "' (expected float32, float64, int32, int64, uint8, int8, int16 or bool)");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt32: return "int32";
    case torch::kInt64: return "int64";
    case torch::kUInt8: return "uint8";
    case torch::kInt8: return "int8";
    case torch::kInt16: return "int16";
    case torch::kBool: return "bool";
    case torch::kFloat16: return "float16";   // read from weight files; copied out as Float32Array
    case torch::kBFloat16: return "bfloat16";
    default: throw std::invalid_argument(std::string("tensor dtype ") + c10::toString(dtype) + " has no JS TypedArray counterpart");
  }
}

size_t dtype_size(torch::Dtype dtype) { return c10::elementSize(dtype); }

void check_shape(const std::vector<int64_t>& shape, size_t elements) {
  // Unsigned and overflow-checked: a product past the data's size is a mismatch, never a wrap-around.
  uint64_t product = 1;
  bool over = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw std::invalid_argument("shape[" + std::to_string(i) + "] is negative (" + std::to_string(shape[i]) + ")");
    const uint64_t d = static_cast<uint64_t>(shape[i]);
    if (d != 0 && product > std::numeric_limits<uint64_t>::max() / d) over = true;
    product = over ? 0 : product * d;
  }
  for (int64_t d : shape) over = over && d != 0;  // a zero dimension makes any product zero
  if (over || product != elements) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    s += "]";
    throw std::invalid_argument("shape " + s + " holds " + (over ? std::string("more than 2^64") : std::to_string(product)) + " elements but the data has " + std::to_string(elements));
  }
}

torch::Tensor tensor_from_buffer(const void* data, size_t bytes, torch::Dtype dtype, const std::vector<int64_t>& shape) {
  size_t esize = dtype_size(dtype);
  if (bytes % esize != 0) throw std::invalid_argument("buffer of " + std::to_string(bytes) + " bytes is not a whole number of " + c10::toString(dtype) + " elements");
  check_shape(shape, bytes / esize);
  auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  if (bytes) std::memcpy(t.data_ptr(), data, bytes);
  return t;
}

torch::Tensor to_host_contiguous(const torch::Tensor& t) {
  auto host = t.device().is_cpu() ? t : t.to(torch::kCPU);
  return host.contiguous();
}

}  // namespace torchxfer
