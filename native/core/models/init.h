// torchvision's kaiming_normal_ (gain sqrt(2), fan from the weight's shape) spelled out, so the init is the
// same whatever a LibTorch version's C++ kaiming_normal_ defaults are.
#pragma once
#include <cmath>

#include <torch/torch.h>

namespace torchxfer {

inline void kaiming_normal(torch::Tensor& w, bool fan_in) {
  const int64_t receptive = w.dim() > 2 ? w[0][0].numel() : 1;
  const int64_t fan = (fan_in ? w.size(1) : w.size(0)) * receptive;
  torch::NoGradGuard no_grad;
  w.normal_(0.0, std::sqrt(2.0 / static_cast<double>(fan)));
}

}  // namespace torchxfer
