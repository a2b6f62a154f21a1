#include "densenet.h"

#include "head.h"
#include "init.h"

namespace torchxfer {
namespace nn = torch::nn;

namespace {
nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}
nn::Conv2d conv1x1(int64_t in, int64_t out) { return conv(in, out, 1); }
}  // namespace

DenseLayerImpl::DenseLayerImpl(int64_t in_features, int64_t growth_rate, int64_t bn_size) {
  norm1 = register_module("norm1", nn::BatchNorm2d(in_features));
  relu1 = register_module("relu1", nn::ReLU(nn::ReLUOptions(true)));
  conv1 = register_module("conv1", conv(in_features, bn_size * growth_rate, 1));
  norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth_rate));
  relu2 = register_module("relu2", nn::ReLU(nn::ReLUOptions(true)));
  conv2 = register_module("conv2", conv(bn_size * growth_rate, growth_rate, 3, 1, 1));
}

torch::Tensor DenseLayerImpl::forward(const std::vector<torch::Tensor>& inputs) {
  auto bottleneck = conv1(relu1(norm1(torch::cat(inputs, 1))));
  return conv2(relu2(norm2(bottleneck)));
}

DenseBlockImpl::DenseBlockImpl(int64_t num_layers, int64_t in_features, int64_t growth_rate, int64_t bn_size) {
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(register_module("denselayer" + std::to_string(i + 1), DenseLayer(in_features + i * growth_rate, growth_rate, bn_size)));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features{x};
  for (auto& layer : layers_) features.push_back(layer->forward(features));
  return torch::cat(features, 1);
}

TransitionImpl::TransitionImpl(int64_t in_features, int64_t out_features) {
  norm = register_module("norm", nn::BatchNorm2d(in_features));
  relu = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  conv = register_module("conv", conv1x1(in_features, out_features));
  pool = register_module("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
}

torch::Tensor TransitionImpl::forward(const torch::Tensor& x) { return pool(conv(relu(norm(x)))); }

DenseNet121Impl::DenseNet121Impl(int64_t num_classes, int64_t in_channels, double dropout) : dropout_(dropout) {
  const int64_t growth = 32, bn_size = 4, init_features = 64;
  const int64_t blocks[] = {6, 12, 24, 16};
  features = nn::Sequential();
  features->push_back("conv0", conv(in_channels, init_features, 7, 2, 3));
  features->push_back("norm0", nn::BatchNorm2d(init_features));
  features->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
  features->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t n = init_features;
  for (int i = 0; i < 4; ++i) {
    features->push_back("denseblock" + std::to_string(i + 1), DenseBlock(blocks[i], n, growth, bn_size));
    n += blocks[i] * growth;
    if (i != 3) {
      features->push_back("transition" + std::to_string(i + 1), Transition(n, n / 2));
      n /= 2;
    }
  }
  features->push_back("norm5", nn::BatchNorm2d(n));
  register_module("features", features);
  classifier = register_module("classifier", nn::Linear(n, num_classes));

  // torchvision's init: kaiming_normal_ (fan_in) for convs, BN weight 1 bias 0, Linear bias 0.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      kaiming_normal(c->weight, /*fan_in=*/true);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    } else if (auto* fc = m->as<nn::Linear>()) {
      nn::init::zeros_(fc->bias);
    }
  }
}

torch::Tensor DenseNet121Impl::forward(const torch::Tensor& x) {
  return float32_head(torch::relu(features->forward(x)), classifier, dropout_, is_training());
}

}  // namespace torchxfer
