#include "augment.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace torchxfer {

uint64_t mix_seed(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (counter + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void check_augment(const AugmentConfig& config, c10::IntArrayRef shape) {
  if (shape.size() != 4) throw std::invalid_argument("images must have shape [N, C, H, W], got " + c10::str(shape));
  const int64_t c = shape[1], h = shape[2], w = shape[3];
  if (config.channels != 1 && config.channels != 3) throw std::invalid_argument("the model's input channels must be 1 or 3, got " + std::to_string(config.channels));
  if (c != 1 && c != config.channels)
    throw std::invalid_argument("images have " + std::to_string(c) + " channels but the model takes " + std::to_string(config.channels));
  if (config.crop < 1 || config.crop > h || config.crop > w)
    throw std::invalid_argument("crop " + std::to_string(config.crop) + " does not fit images of " + std::to_string(h) + "x" + std::to_string(w));
  if (config.flip_p < 0 || config.flip_p > 1) throw std::invalid_argument("flip probability must lie in [0, 1]");
  if (!(config.max_rotation_deg >= 0 && config.max_rotation_deg <= 180)) throw std::invalid_argument("rotation must lie in [0, 180] degrees");
  auto sized = [&](const std::vector<double>& v) { return v.size() == 1 || static_cast<int64_t>(v.size()) == config.channels; };
  if (!sized(config.mean) || !sized(config.std) )
    throw std::invalid_argument("mean and std need 1 or " + std::to_string(config.channels) + " values (the model's input channels)");
  for (double s : config.std)
    if (!(s > 0)) throw std::invalid_argument("std values must be > 0");
}

AugmentDraws draw_augmentations(int64_t n, int64_t height, int64_t width, const AugmentConfig& config, uint64_t seed) {
  if (n < 0) throw std::invalid_argument("the number of images must be >= 0, got " + std::to_string(n));
  if (config.crop < 1 || config.crop > height || config.crop > width)
    throw std::invalid_argument("crop " + std::to_string(config.crop) + " does not fit images of " + std::to_string(height) + "x" + std::to_string(width));
  at::Generator gen = at::detail::createCPUGenerator(seed);
  // A fresh generator per call (the sampling kernel locks its mutex itself).
  torch::Tensor u = torch::rand({n, 4}, gen, torch::TensorOptions().dtype(torch::kFloat64));
  auto a = u.accessor<double, 2>();
  AugmentDraws d;
  for (int64_t i = 0; i < n; ++i) {
    d.flip.push_back(a[i][0] < config.flip_p);
    d.angle_deg.push_back((2.0 * a[i][1] - 1.0) * config.max_rotation_deg);
    // Every position 0..H-crop equally likely (the authors' crop was always the top-left corner).
    d.top.push_back(std::min<int64_t>(static_cast<int64_t>(a[i][2] * (height - config.crop + 1)), height - config.crop));
    d.left.push_back(std::min<int64_t>(static_cast<int64_t>(a[i][3] * (width - config.crop + 1)), width - config.crop));
  }
  return d;
}

namespace {

torch::Tensor normalise(torch::Tensor x, const AugmentConfig& config) {
  if (x.size(1) == 1 && config.channels == 3) x = x.expand({-1, 3, -1, -1});
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto mean = torch::tensor(config.mean, opts).to(x.options()).view({1, -1, 1, 1});
  auto std = torch::tensor(config.std, opts).to(x.options()).view({1, -1, 1, 1});
  return ((x - mean) / std).contiguous();
}

// Flip, rotate about the image centre with reflected border, and crop, in one grid_sample: each
// output pixel at crop offset (left, top) is mapped to the full image, rotated about its centre, and
// normalised: one affine map per image, equal to rotating the full image and then cropping.
torch::Tensor rotate_and_crop(const torch::Tensor& x, const AugmentDraws& d, int64_t crop) {
  const int64_t n = x.size(0);
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3)), c = static_cast<double>(crop);
  auto theta = torch::empty({n, 2, 3}, torch::TensorOptions().dtype(torch::kFloat64));
  auto t = theta.accessor<double, 3>();
  for (int64_t i = 0; i < n; ++i) {
    const double rad = d.angle_deg[i] * 3.14159265358979323846 / 180.0, cs = std::cos(rad), sn = std::sin(rad);
    const double dx = d.left[i] + c / 2 - w / 2, dy = d.top[i] + c / 2 - h / 2;  // crop centre vs image centre
    t[i][0][0] = cs * c / w;
    t[i][0][1] = -sn * c / w;
    t[i][0][2] = (cs * dx - sn * dy) * 2 / w;
    t[i][1][0] = sn * c / h;
    t[i][1][1] = cs * c / h;
    t[i][1][2] = (sn * dx + cs * dy) * 2 / h;
  }
  auto grid = torch::nn::functional::affine_grid(theta.to(x.options()), {n, x.size(1), crop, crop}, /*align_corners=*/false);
  return torch::nn::functional::grid_sample(
      x, grid, torch::nn::functional::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kReflection).align_corners(false));
}

torch::Tensor crop_each(const torch::Tensor& x, const std::vector<int64_t>& top, const std::vector<int64_t>& left, int64_t crop) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); ++i) parts.push_back(x[i].narrow(1, top[i], crop).narrow(2, left[i], crop));
  return torch::stack(parts);
}

}  // namespace

torch::Tensor augment_batch(const torch::Tensor& images, const AugmentConfig& config, bool train, uint64_t seed, int64_t draw_offset,
                            int64_t draw_total) {
  check_augment(config, images.sizes());
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  torch::Tensor x = images.to(torch::kFloat32).div_(255.0);
  if (n == 0) return normalise(x.narrow(2, 0, config.crop).narrow(3, 0, config.crop), config);
  if (!train) {
    // torchvision CenterCrop: int(round((H - crop) / 2)), round half to even.
    const int64_t top = static_cast<int64_t>(std::nearbyint((h - config.crop) / 2.0));
    const int64_t left = static_cast<int64_t>(std::nearbyint((w - config.crop) / 2.0));
    return normalise(x.narrow(2, top, config.crop).narrow(3, left, config.crop), config);
  }
  if (draw_total < 0) draw_total = n;
  if (draw_offset < 0 || draw_offset + n > draw_total)
    throw std::invalid_argument("a batch slice must lie within its batch: rows " + std::to_string(draw_offset) + ".." +
                                std::to_string(draw_offset + n) + " of " + std::to_string(draw_total));
  AugmentDraws d = draw_augmentations(draw_total, h, w, config, seed);
  if (draw_offset > 0 || n < draw_total) {
    auto keep = [&](auto& v) { v = std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin() + draw_offset, v.begin() + draw_offset + n); };
    keep(d.flip);
    keep(d.angle_deg);
    keep(d.top);
    keep(d.left);
  }
  std::vector<uint8_t> flip_bytes(d.flip.begin(), d.flip.end());
  auto flip = torch::tensor(flip_bytes).to(torch::kBool).to(x.device()).view({n, 1, 1, 1});
  x = torch::where(flip, x.flip({3}), x);  // exact mirror images
  x = config.max_rotation_deg > 0 ? rotate_and_crop(x, d, config.crop) : crop_each(x, d.top, d.left, config.crop);
  return normalise(x, config);
}

}  // namespace torchxfer
