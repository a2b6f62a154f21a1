// One training step and evaluation (with test-time augmentation) of a Classifier: augmentation on
// the model's device, BCE with logits over unmasked labels, a GroupOptimizer step with per-group
// learning rates and momenta. Plain C++, no napi.h. Callers hold Classifier::mutex() (see trainer.cpp).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../distributed.h"
#include "../enum_names.h"
#include "../models/classifier.h"
#include "augment.h"
#include "optimizer.h"

namespace torchxfer {

// CUDA only: the backbone's forward in bfloat16 or float16 (the head and the loss stay float32).
enum class Autocast { None, BFloat16, Float16 };
inline constexpr EnumNames<Autocast, 3> kAutocastModes{{
    {"none", Autocast::None},
    {"bf16", Autocast::BFloat16},
    {"fp16", Autocast::Float16},
}};

struct TrainerConfig {
  OptimizerConfig optimizer;
  AugmentConfig augment;        // augment.channels is taken from the model
  bool train_augmentation = true;  // false: training batches are centre-cropped only (parity checks)
  uint64_t seed = 0;            // augmentation of step i uses mix_seed(seed, i)
  std::string device;           // "" keeps the model where it is
  bool channels_last = false;
  Autocast autocast = Autocast::None;  // CUDA only
  bool cudnn_benchmark = true;    // CUDA only
  // The batch runs as this many contiguous slices, each with its own BatchNorm batch statistics and
  // gradients summed: one process reproduces that many data-parallel ranks (running statistics are
  // kept from slice 0, as rank 0's are saved).
  int64_t batch_slices = 1;
};

// Which rows of the global batch a step's images are (data-parallel ranks each hold a slice).
struct BatchSlice {
  int64_t offset = 0;
  int64_t total = -1;  // < 0: the images are the whole batch
};

struct StepResult {
  double loss = 0;
  bool finite = true;  // false: the loss or a gradient was NaN/inf (or every label masked): nothing was updated
};

struct EvalResult {
  torch::Tensor output;  // [N, L] float32 CPU: probabilities (TTA-averaged) or logits
  std::optional<double> loss;  // mean BCE over unmasked targets, when targets were given
  // With EvalOptions::with_plain and tta > 0: copy 0 alone (the centre crop, what tta 0 returns), free
  // since the average computes it anyway.
  torch::Tensor plain;
  std::optional<double> plain_loss;
};

struct EvalOptions {
  int64_t tta = 0;       // augmented copies added to the centre-cropped original
  uint64_t seed = 0;     // copy k >= 1 uses mix_seed(seed, k)
  int64_t only_copy = -1;  // >= 0: just that copy (0 = centre crop), for checks of the average
  bool logits = false;   // raw logits instead of probabilities (single pass only)
  bool with_plain = false;  // tta > 0: also return copy 0's probabilities (EvalResult::plain)
};

class Trainer {
 public:
  Trainer(std::shared_ptr<Classifier> model, TrainerConfig config);

  // images uint8 [N,C,H,W] (any device), targets float [N,L] with NaN = masked.
  // With a DataParallel context attached, gradients (trainable parameters), the loss and the
  // non-finite decision are agreed over all ranks: every rank calls step for every global batch.
  StepResult step(const torch::Tensor& images, const torch::Tensor& targets, const std::vector<double>& lrs,
                  const std::vector<double>& momenta, int64_t step_index, const BatchSlice& slice = {});
  EvalResult evaluate(const torch::Tensor& images, const std::optional<torch::Tensor>& targets, const EvalOptions& options);

  StateDict optimizer_state() const { return optimizer_->state(); }
  void load_optimizer_state(const StateDict& state) { optimizer_->load_state(state); }

  // Joins data-parallel training: rank 0's parameters and buffers are broadcast to every rank.
  void attach_distributed(std::shared_ptr<DataParallel> group);
  std::shared_ptr<DataParallel> distributed() const { return dp_; }

  Classifier& model() { return *model_; }
  const TrainerConfig& config() const { return config_; }

 private:
  torch::Tensor prepare(const torch::Tensor& images, bool train, uint64_t seed, const BatchSlice& slice = {}) const;
  torch::Tensor forward(const torch::Tensor& x);

  std::shared_ptr<Classifier> model_;
  TrainerConfig config_;
  torch::Device device_;
  std::unique_ptr<GroupOptimizer> optimizer_;
  std::shared_ptr<DataParallel> dp_;
};

// Mean BCE with logits over the entries whose target is not NaN (NaN when none is).
torch::Tensor masked_bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets);
// The sum of those BCE terms (0 when every target is masked).
torch::Tensor masked_bce_sum(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace torchxfer
