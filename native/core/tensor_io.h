// Conversions between raw host buffers and tensors, with dtype and shape checks. No napi.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace torchxfer {

// The element types that cross the JS boundary, named as in JS ("float32" <-> Float32Array, ...).
torch::Dtype dtype_from_name(const std::string& name);  // throws std::invalid_argument
std::string dtype_name(torch::Dtype dtype);             // throws for types JS cannot hold
size_t dtype_size(torch::Dtype dtype);

// Validates that `shape` is non-negative and its product equals `elements`.
void check_shape(const std::vector<int64_t>& shape, size_t elements);

// Copies `bytes` (elements of `dtype`) into a new, owned, contiguous CPU tensor of `shape`.
torch::Tensor tensor_from_buffer(const void* data, size_t bytes, torch::Dtype dtype, const std::vector<int64_t>& shape);

// A contiguous CPU copy (or the same tensor when it already is one) whose bytes can be read.
torch::Tensor to_host_contiguous(const torch::Tensor& t);

}  // namespace torchxfer
