#include "resnet.h"

#include "head.h"
#include "init.h"

namespace torchxfer {
namespace nn = torch::nn;

namespace {
nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}
}  // namespace

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, bool with_downsample) {
  conv1 = register_module("conv1", conv(inplanes, planes, 1));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1));
  bn3 = register_module("bn3", nn::BatchNorm2d(planes * kExpansion));
  relu = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  if (with_downsample) {
    downsample = register_module("downsample", nn::Sequential(conv(inplanes, planes * kExpansion, 1, stride), nn::BatchNorm2d(planes * kExpansion)));
  }
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto out = relu(bn1(conv1(x)));
  out = relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  auto identity = downsample ? downsample->forward(x) : x;
  return relu(out + identity);
}

ResNet50Impl::ResNet50Impl(int64_t num_classes, int64_t in_channels, double dropout) : dropout_(dropout) {
  conv1 = register_module("conv1", conv(in_channels, 64, 7, 2, 3));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  layer1 = register_module("layer1", make_layer(64, 3, 1));
  layer2 = register_module("layer2", make_layer(128, 4, 2));
  layer3 = register_module("layer3", make_layer(256, 6, 2));
  layer4 = register_module("layer4", make_layer(512, 3, 2));
  fc = register_module("fc", nn::Linear(512 * BottleneckImpl::kExpansion, num_classes));

  // torchvision's init: kaiming_normal_(fan_out, relu) for convs, BN weight 1 bias 0, Linear default.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      kaiming_normal(c->weight, /*fan_in=*/false);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

nn::Sequential ResNet50Impl::make_layer(int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential layer;
  bool downsample = stride != 1 || inplanes_ != planes * BottleneckImpl::kExpansion;
  layer->push_back(Bottleneck(inplanes_, planes, stride, downsample));
  inplanes_ = planes * BottleneckImpl::kExpansion;
  for (int64_t i = 1; i < blocks; ++i) layer->push_back(Bottleneck(inplanes_, planes, 1, false));
  return layer;
}

torch::Tensor ResNet50Impl::forward(const torch::Tensor& x) {
  auto out = torch::max_pool2d(torch::relu(bn1(conv1(x))), {3, 3}, {2, 2}, {1, 1});
  out = layer4->forward(layer3->forward(layer2->forward(layer1->forward(out))));
  return float32_head(out, fc, dropout_, is_training());
}

}  // namespace torchxfer
