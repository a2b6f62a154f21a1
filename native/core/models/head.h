// The classification head shared by the backbones: global average pool -> optional dropout -> Linear,
// always in float32. Under CUDA autocast the backbone runs in bf16/fp16, but the head, the loss and
// every probability stay in fp32 so low-precision logits never tie on a large test set
// (docs/protocol.md, "Mixed precision").
#pragma once
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

namespace torchxfer {

inline torch::Tensor float32_head(const torch::Tensor& features, torch::nn::Linear& linear, double dropout, bool training) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  auto out = torch::flatten(torch::adaptive_avg_pool2d(features.to(torch::kFloat32), {1, 1}), 1);
  if (dropout > 0) out = torch::dropout(out, dropout, training);
  return linear(out);
}

}  // namespace torchxfer
