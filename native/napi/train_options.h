// Option readers shared by the training exports (Trainer, augmentBatch): each names its option.
// They convert only: src/train/trainer.ts validates every value first, the core checks its invariants.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../core/train/augment.h"

namespace torchxfer::napi {

// o[key], or undefined when absent.
Napi::Value option_of(const Napi::Object& o, const char* key);
Napi::Object get_object(const Napi::Value& v, const std::string& name);
// An array of finite numbers (its length and ranges are TypeScript's and the core's to check).
std::vector<double> get_numbers(const Napi::Value& v, const std::string& name);
// Augmentation options: crop, flipP, maxRotation, mean, std.
void read_augment(const Napi::Object& o, AugmentConfig& a);
// o.images (Uint8Array) with o.shape [n, c, h, w]: a uint8 CPU tensor.
torch::Tensor read_images(const Napi::Object& o);
uint64_t get_seed(const Napi::Value& v, const std::string& name);

}  // namespace torchxfer::napi
