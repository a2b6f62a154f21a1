// Classifier::create: a torchvision backbone (DenseNet121 or ResNet50) plus the protocol's head (docs/protocol.md), with layer
// groups, freezing under a frozen-BatchNorm policy, 1-channel input, reporting state_dict loads and
// Raghu et al.'s "moments" re-initialisation.
#include "classifier.h"

#include <ATen/CPUGeneratorImpl.h>

#include <functional>
#include <atomic>
#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "../weights/backbone.h"
#include "densenet.h"
#include "resnet.h"

namespace torchxfer {
namespace {

struct ArchSpec {
  std::string head;        // module name of the Linear head
  std::string first_conv;  // module name of the first convolution
  std::vector<std::vector<std::string>> groups;  // module name prefixes per layer group
};

const ArchSpec& arch_spec(const std::string& arch) {
  static const ArchSpec densenet{"classifier", "features.conv0", {
      {"features.conv0", "features.norm0", "features.relu0", "features.pool0", "features.denseblock1", "features.transition1", "features.denseblock2"},
      {"features.transition2", "features.denseblock3", "features.transition3", "features.denseblock4", "features.norm5"},
      {"classifier"}}};
  static const ArchSpec resnet{"fc", "conv1", {{"conv1", "bn1", "layer1", "layer2"}, {"layer3", "layer4"}, {"fc"}}};
  return arch == "densenet121" ? densenet : resnet;
}

bool has_prefix(const std::string& name, const std::string& prefix) {
  return name == prefix || (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name[prefix.size()] == '.');
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < t.dim(); ++i) os << (i ? ", " : "") << t.size(i);
  os << "]";
  return os.str();
}

std::string join_limited(const std::vector<std::string>& items, size_t limit = 12) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... and " + std::to_string(items.size() - limit) + " more";
  return out;
}

void validate(const ClassifierConfig& c) {
  if (c.arch != "densenet121" && c.arch != "resnet50")
    throw std::invalid_argument("Expected 'densenet121' or 'resnet50' for arch but received '" + c.arch + "'");
  if (c.num_classes < 1) throw std::invalid_argument("Expected an integer >= 1 for numClasses but received " + std::to_string(c.num_classes));
  if (c.in_channels != 1 && c.in_channels != 3)
    throw std::invalid_argument("Expected 1 or 3 for inChannels but received " + std::to_string(c.in_channels));
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) throw std::invalid_argument("Expected a number >= 0 and < 1 for dropout but received " + std::to_string(c.dropout));
  if (c.grey_mode != "sum" && c.grey_mode != "replicate")
    throw std::invalid_argument("Expected 'sum' or 'replicate' for greyMode but received '" + c.grey_mode + "'");
}

class TorchvisionClassifier : public Classifier {
 public:
  explicit TorchvisionClassifier(const ClassifierConfig& config) : config_(config), spec_(arch_spec(config.arch)) {
    const int64_t conv_in = config.in_channels == 1 && config.grey_mode == "sum" ? 1 : 3;
    if (config.arch == "densenet121") {
      DenseNet121 net(config.num_classes, conv_in, config.dropout);
      module_ = net.ptr();
      forward_ = [net](const torch::Tensor& x) mutable { return net->forward(x); };
    } else {
      ResNet50 net(config.num_classes, conv_in, config.dropout);
      module_ = net.ptr();
      forward_ = [net](const torch::Tensor& x) mutable { return net->forward(x); };
    }
    for (const auto& item : module_->named_modules())
      if (item.value()->as<torch::nn::BatchNorm2d>()) batchnorms_.insert(item.key());
  }

  const ClassifierConfig& config() const override { return config_; }
  torch::nn::Module& module() override { return *module_; }

  torch::Tensor forward(const torch::Tensor& input) override {
    if (input.dim() != 4 || input.size(1) != config_.in_channels)
      throw std::invalid_argument("Expected input of shape [N, " + std::to_string(config_.in_channels) + ", H, W] but received " + shape_str(input));
    auto x = input.to(device_, torch::kFloat32);
    if (config_.in_channels == 1 && config_.grey_mode == "replicate") x = x.repeat({1, 3, 1, 1});
    if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    return forward_(x);
  }

  std::vector<torch::Tensor> group_parameters(int group) override {
    check_group(group);
    std::vector<torch::Tensor> out;
    for (const auto& p : module_->named_parameters())
      if (group_of(p.key()) == group) out.push_back(p.value());
    return out;
  }

  std::vector<std::string> group_prefixes(int group) const override {
    check_group(group);
    return spec_.groups[group];
  }

  void set_group_trainable(int group, bool trainable) override {
    check_group(group);
    trainable_[group] = trainable;
    apply_policy();
  }

  bool group_trainable(int group) const override {
    check_group(group);
    return trainable_[group];
  }

  void set_frozen_batchnorm(FrozenBatchNorm policy) override {
    policy_ = policy;
    apply_policy();
  }

  void set_training(bool on) override {
    module_->train(on);
    if (!on || policy_ != FrozenBatchNorm::Frozen) return;
    for (const auto& item : module_->named_modules())
      if (batchnorms_.count(item.key()) && !trainable_[group_of(item.key())]) item.value()->eval();
  }

  StateDict state_dict() override {
    StateDict out;
    for (auto& [name, t] : entries()) out.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
    return out;
  }

  ArchKeys arch_keys() override {
    ArchKeys keys{config_.arch, spec_.head, spec_.first_conv + ".weight", {}};
    for (auto& [name, t] : entries()) keys.keys.emplace_back(name, t.sizes().vec());
    return keys;
  }

  LoadReport load_state_dict(const StateDict& given, bool strict_backbone) override {
    LoadReport report;
    const StateDict weights = find_weights(given, report);
    StateDict model = entries();
    std::unordered_map<std::string, torch::Tensor> by_name(model.begin(), model.end());
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (model tensor, file tensor)
    std::set<std::string> seen;
    for (const auto& [name, src] : weights) {
      const bool counter = ends_with(name, "num_batches_tracked");  // absent from old files: never an issue
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        if (!counter) report.unexpected.push_back(name);
        continue;
      }
      seen.insert(name);
      const torch::Tensor& dst = it->second;
      if (src.sizes() == dst.sizes()) {
        copies.emplace_back(dst, src);
      } else if (name == spec_.first_conv + ".weight" && src.dim() == 4 && src.size(1) == 3 && dst.size(1) == 1 &&
                 src.size(0) == dst.size(0) && src.size(2) == dst.size(2) && src.size(3) == dst.size(3)) {
        copies.emplace_back(dst, src.sum(1, /*keepdim=*/true));  // grey = R + G + B, so weights sum over RGB
        report.first_conv_adapted = true;
      } else if (has_prefix(name, spec_.head)) {
        report.replaced.push_back(name);
      } else if (!counter) {
        report.mismatched.push_back(name + ": file " + shape_str(src) + " vs model " + shape_str(dst));
      }
    }
    std::vector<std::string> backbone_missing;
    for (const auto& [name, t] : model) {
      if (seen.count(name) || ends_with(name, "num_batches_tracked")) continue;
      report.missing.push_back(name);
      if (!has_prefix(name, spec_.head)) backbone_missing.push_back(name);
    }
    report.backbone_missing = backbone_missing.size();
    if (strict_backbone && (!backbone_missing.empty() || !report.unexpected.empty() || !report.mismatched.empty())) {
      std::string msg = "state_dict does not match " + config_.arch + " (strict";
      msg += report.prefix.empty() ? ")" : "; looked for under the prefix '" + report.prefix + "')";
      if (!backbone_missing.empty()) msg += "; missing keys: " + join_limited(backbone_missing);
      if (!report.unexpected.empty()) msg += "; unexpected keys: " + join_limited(report.unexpected);
      if (!report.mismatched.empty()) msg += "; shape mismatches: " + join_limited(report.mismatched);
      throw std::runtime_error(msg);
    }
    torch::NoGradGuard no_grad;
    for (auto& [dst, src] : copies) dst.copy_(src);
    return report;
  }

  void to(const torch::Device& device, bool channels_last) override {
    module_->to(device);
    device_ = device;
    device_code_.store(encode_device(device));
    channels_last_ = channels_last;
    const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : entries())
      if (t.dim() == 4) t.set_data(t.contiguous(format));
  }

  // Read from the JS thread while a worker may be inside to(): the atomic copy, never device_ itself.
  torch::Device device() const override { return decode_device(device_code_.load()); }

  void reinit_moments(const std::string& which, uint64_t seed) override {
    if (which != "all" && which != "conv") throw std::invalid_argument("Expected 'all' or 'conv' for which but received '" + which + "'");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::NoGradGuard no_grad;
    for (auto& p : module_->named_parameters()) {
      torch::Tensor w = p.value();
      const bool is_conv = w.dim() == 4;
      if (which == "conv" && !is_conv) continue;
      auto cpu = w.detach().to(torch::kCPU, torch::kFloat64);
      const double mean = cpu.mean().item<double>();
      const double std = cpu.numel() > 1 ? cpu.std().item<double>() : 0.0;
      auto noise = torch::empty(w.sizes(), torch::kFloat64);
      noise.normal_(mean, std, gen);
      w.copy_(noise);
    }
  }

 private:
  void check_group(int group) const {
    if (group < 0 || group >= kNumGroups) throw std::invalid_argument("Expected a layer group 0, 1 or 2 but received " + std::to_string(group));
  }

  int group_of(const std::string& name) const {
    for (int g = 0; g < kNumGroups; ++g)
      for (const auto& prefix : spec_.groups[g])
        if (has_prefix(name, prefix)) return g;
    throw std::logic_error("no layer group holds " + name);
  }

  bool is_batchnorm_param(const std::string& name) const {
    auto dot = name.rfind('.');
    return dot != std::string::npos && batchnorms_.count(name.substr(0, dot)) > 0;
  }

  // The weights under the model's names: the backbone found in `given` (weights/backbone.h); what was
  // left out, the prefix and the head found go in the report.
  StateDict find_weights(const StateDict& given, LoadReport& report) {
    ShapeList shapes;
    for (auto& [name, t] : given) shapes.emplace_back(name, t.sizes().vec());
    BackboneMatch m = find_backbone(shapes, arch_keys());
    if (m.complete_prefixes.size() > 1) throw std::runtime_error(ambiguous_backbones(config_.arch, m.complete_prefixes));
    report.prefix = m.prefix;
    report.head_found = m.head;
    report.head_shape = m.head_shape;
    report.head_note = m.head_note;
    report.left_out = m.left_out;
    report.old_names = m.old_names;
    StateDict out;
    for (size_t i = 0; i < given.size(); ++i)
      if (!m.renamed[i].empty()) out.emplace_back(m.renamed[i], given[i].second);
    return out;
  }

  // requires_grad and BN modes from the frozen groups and the frozen-BatchNorm policy.
  void apply_policy() {
    for (auto& p : module_->named_parameters()) {
      const bool bn_trains = policy_ == FrozenBatchNorm::Trainable && is_batchnorm_param(p.key());
      p.value().set_requires_grad(trainable_[group_of(p.key())] || bn_trains);
    }
    set_training(module_->is_training());
  }

  // Live parameters and buffers in torchvision's state_dict order (each module's own, depth first).
  StateDict entries() {
    StateDict out;
    for (const auto& item : module_->named_modules()) {
      const std::string prefix = item.key().empty() ? "" : item.key() + ".";
      for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
      for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
    }
    return out;
  }

  ClassifierConfig config_;
  const ArchSpec& spec_;
  std::shared_ptr<torch::nn::Module> module_;
  std::function<torch::Tensor(const torch::Tensor&)> forward_;
  std::set<std::string> batchnorms_;
  bool trainable_[kNumGroups] = {true, true, true};
  FrozenBatchNorm policy_ = FrozenBatchNorm::UpdateStats;
  torch::Device device_ = torch::kCPU;
  std::atomic<int32_t> device_code_{encode_device(torch::kCPU)};
  bool channels_last_ = false;

  static int32_t encode_device(const torch::Device& d) { return static_cast<int32_t>(d.type()) << 8 | static_cast<uint8_t>(d.index()); }
  static torch::Device decode_device(int32_t code) {
    return torch::Device(static_cast<c10::DeviceType>(code >> 8), static_cast<c10::DeviceIndex>(static_cast<int8_t>(code & 0xff)));
  }
};

}  // namespace

namespace {
bool has_any_prefix(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (has_prefix(name, p)) return true;
  return false;
}
}  // namespace

std::vector<GroupSummary> Classifier::group_summaries() {
  std::vector<GroupSummary> out;
  for (int g = 0; g < kNumGroups; ++g) {
    GroupSummary s;
    s.index = g;
    s.prefixes = group_prefixes(g);
    s.trainable = group_trainable(g);
    for (const auto& p : module().named_parameters()) {
      if (!has_any_prefix(p.key(), s.prefixes)) continue;
      s.parameter_names.push_back(p.key());
      s.num_parameters += p.value().numel();
      if (p.value().requires_grad()) s.num_trainable += p.value().numel();
    }
    for (const auto& m : module().named_modules())
      if (has_any_prefix(m.key(), s.prefixes) && m.value()->as<torch::nn::BatchNorm2d>() && m.value()->is_training()) ++s.batchnorm_training;
    out.push_back(std::move(s));
  }
  return out;
}

int64_t Classifier::num_parameters() {
  int64_t n = 0;
  for (const auto& p : module().parameters()) n += p.numel();
  return n;
}

// CPU bytes only: what V8 should weigh against the process's memory.
int64_t Classifier::parameter_bytes() {
  int64_t n = 0;
  for (const auto& p : module().parameters())
    if (p.device().is_cpu()) n += static_cast<int64_t>(p.nbytes());
  for (const auto& b : module().buffers())
    if (b.device().is_cpu()) n += static_cast<int64_t>(b.nbytes());
  return n;
}

std::shared_ptr<Classifier> Classifier::create(const ClassifierConfig& config) {
  validate(config);
  return std::make_shared<TorchvisionClassifier>(config);
}

namespace {
// Built with the global generator's state restored afterwards: looking at a file must not change what a
// seeded run draws next.
ArchKeys build_reference_keys(const std::string& arch) {
  auto gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  ClassifierConfig config;
  config.arch = arch;
  ArchKeys keys = Classifier::create(config)->arch_keys();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return keys;
}
}  // namespace

const ArchKeys& Classifier::reference_keys(const std::string& arch) {
  if (arch == "densenet121") {
    static const ArchKeys densenet = build_reference_keys(arch);
    return densenet;
  }
  if (arch == "resnet50") {
    static const ArchKeys resnet = build_reference_keys(arch);
    return resnet;
  }
  throw std::invalid_argument("Expected 'densenet121' or 'resnet50' for arch but received '" + arch + "'");
}

}  // namespace torchxfer
