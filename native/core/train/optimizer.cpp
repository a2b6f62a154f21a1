#include "optimizer.h"

#include <cmath>
#include <map>
#include <stdexcept>

namespace torchxfer {

GroupOptimizer::GroupOptimizer(std::vector<NamedParameters> groups, OptimizerConfig config) : config_(std::move(config)) {
  for (auto& group : groups) {
    std::vector<Param> params;
    for (auto& [name, tensor] : group) params.push_back(Param{name, tensor, {}});
    groups_.push_back(std::move(params));
  }
}

void GroupOptimizer::step(const std::vector<double>& lrs, const std::vector<double>& momenta) {
  if (lrs.size() != groups_.size() || momenta.size() != groups_.size())
    throw std::invalid_argument("expected " + std::to_string(groups_.size()) + " learning rates and momenta, got " + std::to_string(lrs.size()) +
                                " and " + std::to_string(momenta.size()));
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (auto& p : groups_[g]) {
      if (!p.tensor.requires_grad() || !p.tensor.grad().defined()) continue;  // frozen or unused: state untouched
      if (config_.weight_decay != 0.0 && p.tensor.dim() > 1) p.tensor.mul_(1.0 - lrs[g] * config_.weight_decay);
      if (config_.kind == OptimizerKind::Adam)
        adam_update(p, lrs[g], momenta[g]);
      else
        sgd_update(p, lrs[g], momenta[g]);
    }
  }
}

// torch.optim.Adam (single-tensor path), beta1 = this step's momentum; bias correction uses the
// current beta1 as PyTorch does when param_groups[...]['betas'] changes between steps.
void GroupOptimizer::adam_update(Param& p, double lr, double beta1) {
  const torch::Tensor& grad = p.tensor.grad();
  ParamState& s = p.state;
  if (!s.exp_avg.defined()) {
    s.exp_avg = torch::zeros_like(p.tensor, torch::MemoryFormat::Preserve);
    s.exp_avg_sq = torch::zeros_like(p.tensor, torch::MemoryFormat::Preserve);
  }
  s.step += 1;
  const double beta2 = config_.beta2;
  s.exp_avg.mul_(beta1).add_(grad, 1.0 - beta1);
  s.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(s.step));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(s.step));
  const double step_size = lr / bias_correction1;
  torch::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(config_.eps);
  p.tensor.addcdiv_(s.exp_avg, denom, -step_size);
}

// torch.optim.SGD with dampening 0: the buffer starts as a copy of the first gradient.
void GroupOptimizer::sgd_update(Param& p, double lr, double momentum) {
  torch::Tensor d_p = p.tensor.grad();
  ParamState& s = p.state;
  s.step += 1;
  if (momentum != 0.0) {
    if (!s.momentum_buffer.defined())
      s.momentum_buffer = d_p.clone().detach();
    else
      s.momentum_buffer.mul_(momentum).add_(d_p);
    d_p = config_.nesterov ? d_p.add(s.momentum_buffer, momentum) : s.momentum_buffer;
  }
  p.tensor.add_(d_p, -lr);
}

void GroupOptimizer::zero_grad() {
  for (auto& group : groups_)
    for (auto& p : group)
      if (p.tensor.grad().defined()) p.tensor.mutable_grad() = torch::Tensor();
}

StateDict GroupOptimizer::state() const {
  StateDict out;
  for (const auto& group : groups_) {
    for (const auto& p : group) {
      const ParamState& s = p.state;
      if (s.step == 0) continue;
      out.emplace_back(p.name + ".step", torch::tensor(static_cast<double>(s.step), torch::kFloat64));
      if (s.exp_avg.defined()) out.emplace_back(p.name + ".exp_avg", s.exp_avg.detach().to(torch::kCPU).contiguous().clone());
      if (s.exp_avg_sq.defined()) out.emplace_back(p.name + ".exp_avg_sq", s.exp_avg_sq.detach().to(torch::kCPU).contiguous().clone());
      if (s.momentum_buffer.defined()) out.emplace_back(p.name + ".momentum_buffer", s.momentum_buffer.detach().to(torch::kCPU).contiguous().clone());
    }
  }
  return out;
}

void GroupOptimizer::load_state(const StateDict& state) {
  std::map<std::string, Param*> by_name;
  for (auto& group : groups_)
    for (auto& p : group) by_name[p.name] = &p;
  std::map<Param*, ParamState> loaded;
  for (const auto& [key, value] : state) {
    auto dot = key.rfind('.');
    std::string name = dot == std::string::npos ? key : key.substr(0, dot);
    std::string field = dot == std::string::npos ? "" : key.substr(dot + 1);
    auto it = by_name.find(name);
    if (it == by_name.end()) throw std::runtime_error("optimizer state: '" + key + "' names no parameter of this model");
    Param& p = *it->second;
    ParamState& s = loaded[&p];
    if (field == "step") {
      if (value.numel() != 1) throw std::runtime_error("optimizer state: '" + key + "' must hold one number");
      s.step = static_cast<int64_t>(value.item<double>());
      continue;
    }
    if (field != "exp_avg" && field != "exp_avg_sq" && field != "momentum_buffer")
      throw std::runtime_error("optimizer state: '" + key + "' is not step, exp_avg, exp_avg_sq or momentum_buffer");
    if (value.sizes() != p.tensor.sizes())
      throw std::runtime_error("optimizer state: '" + key + "' has shape " + c10::str(value.sizes()) + " but the parameter has " + c10::str(p.tensor.sizes()));
    torch::Tensor t = torch::empty_like(p.tensor, torch::MemoryFormat::Preserve);
    t.copy_(value);
    (field == "exp_avg" ? s.exp_avg : field == "exp_avg_sq" ? s.exp_avg_sq : s.momentum_buffer) = t;
  }
  for (auto& group : groups_)
    for (auto& p : group) {
      auto it = loaded.find(&p);
      p.state = it == loaded.end() ? ParamState{} : it->second;
    }
}

}  // namespace torchxfer
