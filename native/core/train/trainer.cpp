#include "trainer.h"

#include "../runtime.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#ifdef TORCHXFER_WITH_CUDA
#include <ATen/autocast_mode.h>
#include <torch/version.h>
#endif

namespace torchxfer {

namespace {

#ifdef TORCHXFER_WITH_CUDA
// Enables CUDA autocast for one scope and restores the previous state (RAII).
class AutocastScope {
 public:
  explicit AutocastScope(at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    old_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    was_enabled_ = at::autocast::is_enabled();
    old_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, old_dtype_);
#else
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(old_dtype_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool was_enabled_ = false;
  at::ScalarType old_dtype_ = at::kHalf;
};
#endif

// Parameter names from the module, so optimiser state is keyed like the state_dict.
std::vector<NamedParameters> named_groups(Classifier& model) {
  std::map<const void*, std::string> names;
  for (const auto& item : model.module().named_parameters(/*recurse=*/true)) names[item.value().unsafeGetTensorImpl()] = item.key();
  std::vector<NamedParameters> groups;
  for (int g = 0; g < Classifier::kNumGroups; ++g) {
    NamedParameters group;
    auto params = model.group_parameters(g);
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = names.find(params[i].unsafeGetTensorImpl());
      group.emplace_back(it != names.end() ? it->second : "group" + std::to_string(g) + "." + std::to_string(i), params[i]);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace

torch::Tensor masked_bce_sum(const torch::Tensor& logits, const torch::Tensor& targets) {
  auto mask = torch::logical_not(torch::isnan(targets));
  auto safe_targets = torch::where(mask, targets, torch::zeros_like(targets));
  // Half-precision logits (autocast) are promoted; float64 stays float64.
  torch::Tensor l = logits.scalar_type() == torch::kFloat64 ? logits : logits.to(torch::kFloat32);
  auto per_entry = torch::binary_cross_entropy_with_logits(l, safe_targets.to(l.scalar_type()), {}, {}, at::Reduction::None);
  return torch::where(mask, per_entry, torch::zeros_like(per_entry)).sum();
}

torch::Tensor masked_bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets) {
  return masked_bce_sum(logits, targets) / torch::logical_not(torch::isnan(targets)).sum().to(torch::kFloat32);
}

Trainer::Trainer(std::shared_ptr<Classifier> model, TrainerConfig config)
    : model_(std::move(model)), config_(std::move(config)), device_(torch::kCPU) {
  if (!model_) throw std::invalid_argument("Trainer needs a model");
  config_.augment.channels = model_->config().in_channels;
  if (config_.batch_slices < 1) throw std::invalid_argument("batch_slices must be >= 1");
  std::lock_guard<std::mutex> lock(model_->mutex());
  device_ = config_.device.empty() ? model_->device() : parse_device(config_.device);
  if (device_ != model_->device() || config_.channels_last) model_->to(device_, config_.channels_last);
#ifdef TORCHXFER_WITH_CUDA
  if (device_.is_cuda() && config_.cudnn_benchmark) at::globalContext().setBenchmarkCuDNN(true);
#endif
  optimizer_ = std::make_unique<GroupOptimizer>(named_groups(*model_), config_.optimizer);
}

void Trainer::attach_distributed(std::shared_ptr<DataParallel> group) {
  if (!group) throw std::invalid_argument("attach_distributed needs a DataParallel context");
  std::vector<torch::Tensor> state;
  for (auto& p : model_->module().parameters()) state.push_back(p.detach());
  for (auto& b : model_->module().buffers()) state.push_back(b.detach());
  group->broadcast(state, 0);  // identical starting weights (and BatchNorm statistics) on every rank
  dp_ = std::move(group);
}

torch::Tensor Trainer::prepare(const torch::Tensor& images, bool train, uint64_t seed, const BatchSlice& slice) const {
  if (images.scalar_type() != torch::kUInt8) throw std::invalid_argument("images must be uint8");
  torch::Tensor x = augment_batch(images.to(device_), config_.augment, train, seed, slice.offset, slice.total);
  return config_.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

torch::Tensor Trainer::forward(const torch::Tensor& x) {
#ifdef TORCHXFER_WITH_CUDA
  if (device_.is_cuda() && config_.autocast != Autocast::None) {
    AutocastScope scope(config_.autocast == Autocast::BFloat16 ? at::kBFloat16 : at::kHalf);
    return model_->forward(x).to(torch::kFloat32);
  }
#endif
  return model_->forward(x);
}

StepResult Trainer::step(const torch::Tensor& images, const torch::Tensor& targets, const std::vector<double>& lrs,
                         const std::vector<double>& momenta, int64_t step_index, const BatchSlice& slice) {
  const int64_t labels = model_->config().num_classes;
  if (images.dim() != 4 || targets.dim() != 2 || targets.size(0) != images.size(0) || targets.size(1) != labels)
    throw std::invalid_argument("targets must have shape [" + std::to_string(images.dim() ? images.size(0) : 0) + ", " + std::to_string(labels) +
                                "], got " + c10::str(targets.sizes()));
  if (step_index < 0) throw std::invalid_argument("step must be >= 0");
  const int64_t n = images.size(0);
  torch::Tensor x = n > 0 ? prepare(images, config_.train_augmentation, mix_seed(config_.seed, static_cast<uint64_t>(step_index)), slice) : torch::Tensor();
  torch::Tensor t = targets.to(device_, torch::kFloat32);
  optimizer_->zero_grad();
  model_->set_training(true);
  // The forward pass updates BatchNorm running statistics: keep a copy (small) to undo a bad batch.
  std::vector<torch::Tensor> buffers = model_->module().buffers(), saved, after_first;
  for (const auto& b : buffers) saved.push_back(b.detach().clone());
  // Contiguous slices, each normalised by its own batch statistics like a separate rank.
  const int64_t k = std::max<int64_t>(1, std::min(config_.batch_slices, n));
  torch::Tensor local_sum;
  for (int64_t s = 0; s < k && n > 0; ++s) {
    const int64_t lo = s * n / k, hi = (s + 1) * n / k;
    torch::Tensor part = masked_bce_sum(forward(x.narrow(0, lo, hi - lo)), t.narrow(0, lo, hi - lo));
    local_sum = local_sum.defined() ? local_sum + part : part;
    if (s == 0 && k > 1)
      for (const auto& b : buffers) after_first.push_back(b.detach().clone());
  }
  // Loss sum and unmasked count over all ranks, in one call; every rank then sees the same loss.
  const double local_count = static_cast<double>(torch::logical_not(torch::isnan(t)).sum().item<int64_t>());
  std::vector<torch::Tensor> stats{torch::tensor({local_sum.defined() ? local_sum.item<double>() : 0.0, local_count}, torch::kFloat64)};
  if (dp_) dp_->allreduce_sum(stats);
  const double global_sum = stats[0][0].item<double>(), global_count = stats[0][1].item<double>();
  StepResult result;
  result.loss = global_sum / global_count;
  result.finite = std::isfinite(result.loss);
  auto undo = [&]() {  // no update: weights and statistics stay as they were
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
    optimizer_->zero_grad();
    return result;
  };
  if (!result.finite) return undo();
  // Scaled so that the mean over ranks of the gradients is the gradient of the global mean loss.
  const double world = dp_ ? static_cast<double>(dp_->world_size()) : 1.0;
  if (local_sum.defined()) (local_sum * (world / global_count)).backward();
  if (!after_first.empty()) {  // after backward: batch_norm saved the running statistics for it
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(after_first[i]);
  }
  std::vector<torch::Tensor> params;
  for (auto& p : model_->module().parameters())
    if (p.requires_grad()) params.push_back(p);
  if (dp_) {
    std::vector<torch::Tensor> grads;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);  // unused here, maybe not on a peer
      grads.push_back(p.grad());
    }
    dp_->allreduce_mean(grads);
  }
  // A finite loss can still overflow in backward: one sum over all gradients (inf/NaN propagate;
  // after the all-reduce every rank sees the same values, so all skip together).
  {
    torch::NoGradGuard no_grad;
    torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    for (auto& p : params)
      if (p.grad().defined()) total += p.grad().sum().to(torch::kFloat64);
    if (!std::isfinite(total.item<double>())) {
      result.finite = false;
      return undo();
    }
  }
  optimizer_->step(lrs, momenta);
  optimizer_->zero_grad();
  return result;
}

EvalResult Trainer::evaluate(const torch::Tensor& images, const std::optional<torch::Tensor>& targets, const EvalOptions& options) {
  const int64_t labels = model_->config().num_classes;
  if (targets && (targets->dim() != 2 || images.dim() != 4 || targets->size(0) != images.size(0) || targets->size(1) != labels))
    throw std::invalid_argument("targets must have shape [N, " + std::to_string(labels) + "], got " + c10::str(targets->sizes()));
  if (options.tta < 0) throw std::invalid_argument("tta must be >= 0");
  if (options.logits && options.tta > 0 && options.only_copy < 0) throw std::invalid_argument("logits are only returned for a single pass (tta 0)");
  torch::NoGradGuard no_grad;
  model_->set_training(false);
  // Copy 0 is the centre-cropped original; copy k >= 1 a training augmentation seeded by (seed, k).
  auto pass = [&](int64_t k) {
    torch::Tensor x = prepare(images, k > 0, mix_seed(options.seed, static_cast<uint64_t>(k)));
    return forward(x);
  };
  EvalResult result;
  torch::Tensor logits;
  if (options.only_copy >= 0 || options.tta == 0) {
    logits = pass(std::max<int64_t>(options.only_copy, 0));
    result.output = options.logits ? logits : torch::sigmoid(logits);
  } else {
    torch::Tensor plain_logits = pass(0);
    torch::Tensor sum = torch::sigmoid(plain_logits);
    if (options.with_plain) {
      result.plain = sum.clone();
      logits = plain_logits;  // the plain loss, as tta 0 computes it
    }
    for (int64_t k = 1; k <= options.tta; ++k) sum += torch::sigmoid(pass(k));
    result.output = sum / static_cast<double>(options.tta + 1);
  }
  if (targets) {
    torch::Tensor t = targets->to(device_, torch::kFloat32);
    const bool averaged = options.tta > 0 && options.only_copy < 0;
    if (!averaged) {
      result.loss = masked_bce_with_logits(logits, t).item<double>();
    } else {  // averaged probabilities: BCE as torch.nn.BCELoss (log clamped at -100)
      auto mask = torch::logical_not(torch::isnan(t));
      auto per = torch::binary_cross_entropy(result.output, torch::where(mask, t, torch::zeros_like(t)), {}, at::Reduction::None);
      result.loss = (torch::where(mask, per, torch::zeros_like(per)).sum() / mask.sum().to(torch::kFloat32)).item<double>();
      if (logits.defined()) result.plain_loss = masked_bce_with_logits(logits, t).item<double>();
    }
  }
  result.output = result.output.to(torch::kCPU, torch::kFloat32).contiguous();
  if (result.plain.defined()) result.plain = result.plain.to(torch::kCPU, torch::kFloat32).contiguous();
  return result;
}

}  // namespace torchxfer
