// DenseNet121 with torchvision 0.14's module names, forward and init (no memory-efficient checkpointing).
#pragma once
#include <torch/torch.h>

namespace torchxfer {

// One bottleneck layer: BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 on the concatenation of all earlier outputs.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t in_features, int64_t growth_rate, int64_t bn_size);
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);

 private:
  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  torch::nn::ReLU relu1{nullptr}, relu2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t in_features, int64_t growth_rate, int64_t bn_size);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

// BN-ReLU-Conv1x1-AvgPool between blocks (a Sequential cannot nest in a Sequential in C++).
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::BatchNorm2d norm{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Conv2d conv{nullptr};
  torch::nn::AvgPool2d pool{nullptr};
};
TORCH_MODULE(Transition);

class DenseNet121Impl : public torch::nn::Module {
 public:
  static constexpr int64_t kNumFeatures = 1024;
  DenseNet121Impl(int64_t num_classes, int64_t in_channels, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential features{nullptr};
  torch::nn::Linear classifier{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DenseNet121);

}  // namespace torchxfer
