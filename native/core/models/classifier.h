// The classifier interface shared by models, weight loading and training (plain C++, no napi.h).
// A Classifier is a torchvision-named backbone plus the head of the protocol (docs/protocol.md), split into three layer groups:
// group 0 = nearest the image (DenseNet121 features[:7]; ResNet50 conv1, bn1, layer1, layer2),
// group 1 (DenseNet121 features[7:]; ResNet50 layer3, layer4), group 2 = the head.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../weights/backbone.h"
#include "../weights/state_dict.h"

namespace torchxfer {

struct ClassifierConfig {
  std::string arch = "densenet121";  // "densenet121" | "resnet50"
  int64_t num_classes = 1;
  int64_t in_channels = 3;           // 1 or 3
  double dropout = 0.0;              // before the new Linear head
  // How 1-channel input meets 3-channel pretrained weights: "sum" the first conv over RGB, or
  // "replicate" the grey image to 3 channels (the conv keeps 3 input channels).
  std::string grey_mode = "sum";
};

// What happens to BatchNorm layers inside frozen groups during training.
enum class FrozenBatchNorm {
  UpdateStats,  // default (the authors): running statistics keep updating, affine parameters frozen
  Frozen,       // eval mode: statistics and affine parameters fixed
  Trainable,    // affine parameters train even though the group is frozen
};

// What a layer group holds now: for freezing reports and checks.
struct GroupSummary {
  int index = 0;
  std::vector<std::string> prefixes;
  std::vector<std::string> parameter_names;
  int64_t num_parameters = 0;  // elements
  int64_t num_trainable = 0;   // elements that require gradients
  bool trainable = false;
  int batchnorm_training = 0;  // BatchNorm modules of the group in train mode
};

struct LoadReport {
  std::vector<std::string> missing;      // in the model, not in the file
  std::vector<std::string> unexpected;   // in the file, not in the model
  std::vector<std::string> mismatched;   // "name: file [a, b] vs model [c, d]"
  std::vector<std::string> replaced;     // head keys skipped because the label count differs
  bool first_conv_adapted = false;       // 3-channel first conv summed to 1 channel
  size_t backbone_missing = 0;           // of `missing`, those outside the head
  // Where the weights were found (weights/backbone.h): the prefix in the names given ("" when direct),
  // the head's Linear in the file and its shape, how the head was read, and the tensors left out.
  std::string prefix;
  std::string head_found;
  std::vector<int64_t> head_shape;
  std::string head_note;
  std::vector<std::string> left_out;
  bool old_names = false;                // pre-0.4 DenseNet names remapped
};

class Classifier {
 public:
  virtual ~Classifier() = default;

  static std::shared_ptr<Classifier> create(const ClassifierConfig& config);

  virtual const ClassifierConfig& config() const = 0;
  virtual torch::nn::Module& module() = 0;

  // Logits [N, num_classes] for input [N, in_channels, H, W] (already normalised).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  static constexpr int kNumGroups = 3;
  // Parameters of group g (0..2), in registration order.
  virtual std::vector<torch::Tensor> group_parameters(int group) = 0;
  // Fully qualified module/parameter name prefixes of group g, for reports.
  virtual std::vector<std::string> group_prefixes(int group) const = 0;
  // Trainable or not (requires_grad), applying the frozen-BatchNorm policy.
  virtual void set_group_trainable(int group, bool trainable) = 0;
  virtual bool group_trainable(int group) const = 0;
  virtual void set_frozen_batchnorm(FrozenBatchNorm policy) = 0;
  // train(true) honours the frozen-BatchNorm policy for frozen groups.
  virtual void set_training(bool on) = 0;

  virtual StateDict state_dict() = 0;  // parameters and buffers, torchvision names
  // strict_backbone: any missing/unexpected/mismatched backbone key is an error (std::runtime_error
  // listing them). The head is replaced (kept at its fresh init) when its size differs.
  // The backbone is found first, directly or under one prefix, with old DenseNet names remapped and a
  // Sequential head read (weights/backbone.h); two complete backbones are an error naming both.
  virtual LoadReport load_state_dict(const StateDict& weights, bool strict_backbone) = 0;
  // This model's state_dict names and shapes, head and first conv: what weight files are matched against.
  virtual ArchKeys arch_keys() = 0;
  // The same for `arch` with 3 input channels and one output, built once (weights inspect, --init checks).
  static const ArchKeys& reference_keys(const std::string& arch);

  virtual void to(const torch::Device& device, bool channels_last) = 0;
  virtual torch::Device device() const = 0;

  // Raghu et al. "moments": each weight replaced by N(mean, std) of itself; which = "all" | "conv".
  virtual void reinit_moments(const std::string& which, uint64_t seed) = 0;

  // The three groups' summaries, the parameter count and bytes (callers hold mutex()).
  std::vector<GroupSummary> group_summaries();
  int64_t num_parameters();
  int64_t parameter_bytes();

  // Serialises concurrent use from several threads (the compute thread, distributed broadcasts on the pool).
  std::mutex& mutex() { return mutex_; }

 private:
  std::mutex mutex_;
};

}  // namespace torchxfer
