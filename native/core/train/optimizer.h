// Adam and SGD over the classifier's layer groups, with each group's learning rate and momentum
// (SGD momentum or Adam beta1) set by the caller before every step, as a one-cycle schedule needs.
// Updates follow torch.optim.Adam / torch.optim.SGD exactly; weight decay is decoupled (AdamW-style)
// and never applied to 1-D tensors (BatchNorm weights and biases). Plain C++, no napi.h.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "../enum_names.h"
#include "../weights/state_dict.h"

namespace torchxfer {

enum class OptimizerKind { Adam, Sgd };
inline constexpr EnumNames<OptimizerKind, 2> kOptimizerKinds{{
    {"adam", OptimizerKind::Adam},
    {"sgd", OptimizerKind::Sgd},
}};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  bool nesterov = false;      // SGD only
  double weight_decay = 0.0;  // decoupled: p *= 1 - lr * weight_decay
  double beta2 = 0.999;       // Adam (fastai uses 0.99)
  double eps = 1e-8;          // Adam
};

using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

class GroupOptimizer {
 public:
  // groups[g] = the parameters of layer group g with their module names (names key the state).
  GroupOptimizer(std::vector<NamedParameters> groups, OptimizerConfig config);

  // One update with lrs[g] and momenta[g] for group g. Parameters that are frozen (requires_grad
  // false) or got no gradient are skipped, their state untouched.
  void step(const std::vector<double>& lrs, const std::vector<double>& momenta);
  // Drops all gradients (undefined, as set_to_none) so frozen parameters never carry stale ones.
  void zero_grad();

  const OptimizerConfig& config() const { return config_; }
  size_t num_groups() const { return groups_.size(); }

  // "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step" (Adam) or "<param>.momentum_buffer"
  // (SGD), CPU tensors, for checkpoints and resume.
  StateDict state() const;
  // Replaces the state; throws std::runtime_error naming unknown keys or shape mismatches.
  void load_state(const StateDict& state);

 private:
  struct ParamState {
    int64_t step = 0;
    torch::Tensor exp_avg, exp_avg_sq, momentum_buffer;
  };
  struct Param {
    std::string name;
    torch::Tensor tensor;
    ParamState state;
  };

  void adam_update(Param& p, double lr, double beta1);
  void sgd_update(Param& p, double lr, double momentum);

  OptimizerConfig config_;
  std::vector<std::vector<Param>> groups_;
};

}  // namespace torchxfer
