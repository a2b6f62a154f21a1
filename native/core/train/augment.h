// Batch augmentation with tensor ops on the batch's device: uint8 [N,C,H,W] -> normalised float
// [N,channels,crop,crop]. Training: per image horizontal flip, rotation with reflected border, random
// crop; evaluation: centre crop. Random draws come from a CPU generator seeded with `seed`, so a
// batch augments identically on any device and after a resume. Plain C++, no napi.h.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace torchxfer {

struct AugmentConfig {
  int64_t crop = 236;              // output side; must not exceed H or W
  double flip_p = 0.5;             // probability of a horizontal flip
  double max_rotation_deg = 10.0;  // angle uniform in [-max, +max]
  std::vector<double> mean{0.485, 0.456, 0.406};  // one value per output channel, or one for all
  std::vector<double> std{0.229, 0.224, 0.225};
  int64_t channels = 3;            // model input channels; a 1-channel image is replicated to 3
};

// A 64-bit seed mixing a run seed with a counter (step or TTA copy), well spread (splitmix64).
uint64_t mix_seed(uint64_t seed, uint64_t counter);

// The per-image random draws of one batch, exposed for tests and reports.
struct AugmentDraws {
  std::vector<bool> flip;
  std::vector<double> angle_deg;
  std::vector<int64_t> top, left;
};
AugmentDraws draw_augmentations(int64_t n, int64_t height, int64_t width, const AugmentConfig& config, uint64_t seed);

// train = true: random augmentation from `seed`; false: centre crop only. Output float32.
// draw_total >= 0: the images are rows [draw_offset, draw_offset + N) of a batch of draw_total, and get
// that batch's draws (a data-parallel rank augments its slice as one process would the whole batch).
torch::Tensor augment_batch(const torch::Tensor& images, const AugmentConfig& config, bool train, uint64_t seed,
                            int64_t draw_offset = 0, int64_t draw_total = -1);

// Checks sizes, channels and mean/std against an input shape; throws std::invalid_argument.
void check_augment(const AugmentConfig& config, c10::IntArrayRef shape);

}  // namespace torchxfer
