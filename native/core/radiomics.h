// Radiomic features of 8-bit grey images, with scikit-image's and scipy's exact definitions.
// Plain C++ (no napi.h). 79 features per image, in the order of radiomic_feature_names():
//   glcm.<property>.d<distance>.a<angle>  for property in contrast, dissimilarity, homogeneity, ASM,
//                                         energy, correlation; distance in 1, 2, 4, 6; angle in 0, 45, 90
//                                         (property outermost, angle innermost)        -> 72
//   mean, std (population), moment2..moment5 (central, population), entropy (bits)     -> 7
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace torchxfer {

constexpr int kRadiomicFeatureCount = 79;

struct RadiomicOptions {
  // skimage.feature.graycomatrix(symmetric=...): the authors ran its default, false.
  bool symmetric = false;
};

// The 79 names, in output order.
const std::vector<std::string>& radiomic_feature_names();

// Features of one h x w image (row-major). Writes kRadiomicFeatureCount doubles to out.
void radiomic_features_one(const uint8_t* image, int64_t height, int64_t width, const RadiomicOptions& options, double* out);

// Features of n images of h x w stored contiguously; returns n * 79 doubles (row per image).
// Runs over images on num_threads() threads (the configured count). Throws std::invalid_argument
// when the sizes are inconsistent.
std::vector<double> radiomic_features(const uint8_t* images, size_t length, int64_t n, int64_t height, int64_t width,
                                      const RadiomicOptions& options);

}  // namespace torchxfer
