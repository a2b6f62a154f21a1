#include "radiomics.h"

#include <ATen/Parallel.h>

#include <array>
#include <cmath>
#include <stdexcept>

namespace torchxfer {
namespace {

constexpr int kLevels = 256;
constexpr std::array<int, 4> kDistances{1, 2, 4, 6};
constexpr std::array<int, 3> kAnglesDeg{0, 45, 90};
const std::array<double, 3> kAnglesRad{0.0, M_PI / 4, M_PI / 2};  // as the reference passes them: np.pi/4, np.pi/2
constexpr std::array<const char*, 6> kProperties{"contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation"};
constexpr int kGlcmCount = static_cast<int>(kDistances.size() * kAnglesDeg.size());

// skimage's round(): half away from zero (std::round does the same).
int64_t offset_of(double value) { return static_cast<int64_t>(std::round(value)); }

struct GlcmProps {
  double contrast, dissimilarity, homogeneity, asm_, energy, correlation;
};

// Co-occurrence counts for one offset, scikit-image's _glcm_loop: pixel (r, c) pairs with
// (r + dr, c + dc), dr = round(sin a * d), dc = round(cos a * d). Counts go to glcm[i * 256 + j];
// row_totals[i] gets the row sums (used to skip empty rows and to clear the matrix afterwards).
uint64_t count_pairs(const uint8_t* image, int64_t rows, int64_t cols, int64_t dr, int64_t dc, bool symmetric,
                     uint32_t* glcm, uint64_t* row_totals) {
  const int64_t r0 = std::max<int64_t>(0, -dr), r1 = std::min<int64_t>(rows, rows - dr);
  const int64_t c0 = std::max<int64_t>(0, -dc), c1 = std::min<int64_t>(cols, cols - dc);
  uint64_t total = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* from = image + r * cols;
    const uint8_t* to = image + (r + dr) * cols + dc;
    for (int64_t c = c0; c < c1; ++c) {
      const int i = from[c], j = to[c];
      ++glcm[i * kLevels + j];
      ++row_totals[i];
      if (symmetric) {  // P + P^T, as graycomatrix(symmetric=True)
        ++glcm[j * kLevels + i];
        ++row_totals[j];
      }
    }
    total += static_cast<uint64_t>(std::max<int64_t>(0, c1 - c0));
  }
  return symmetric ? 2 * total : total;
}

// graycoprops on the normalised matrix; clears the rows it read so the buffer is zero again.
GlcmProps glcm_props(uint32_t* glcm, uint64_t* row_totals, uint64_t total) {
  GlcmProps p{0, 0, 0, 0, 0, 1};  // no pairs: skimage leaves P all zero, so every sum is 0 and correlation 1
  if (total == 0) return p;
  const double n = static_cast<double>(total);
  // Integer-valued sums are exact in 64 bits; the rest accumulate in double.
  uint64_t contrast = 0, dissimilarity = 0, asm_counts = 0, sum_i = 0;
  std::array<uint64_t, kLevels> col_totals{};
  double homogeneity = 0;
  for (int i = 0; i < kLevels; ++i) {
    if (row_totals[i] == 0) continue;
    sum_i += static_cast<uint64_t>(i) * row_totals[i];
    const uint32_t* row = glcm + i * kLevels;
    for (int j = 0; j < kLevels; ++j) {
      const uint64_t c = row[j];
      if (c == 0) continue;
      const uint64_t d = static_cast<uint64_t>(i > j ? i - j : j - i);
      contrast += c * d * d;
      dissimilarity += c * d;
      asm_counts += c * c;
      homogeneity += static_cast<double>(c) / static_cast<double>(1 + d * d);
      col_totals[j] += c;
    }
  }
  uint64_t sum_j = 0;
  for (int j = 0; j < kLevels; ++j) sum_j += static_cast<uint64_t>(j) * col_totals[j];
  const double mean_i = static_cast<double>(sum_i) / n, mean_j = static_cast<double>(sum_j) / n;
  double var_i = 0, var_j = 0, cov = 0;
  for (int k = 0; k < kLevels; ++k) {
    var_i += static_cast<double>(row_totals[k]) * (k - mean_i) * (k - mean_i);
    var_j += static_cast<double>(col_totals[k]) * (k - mean_j) * (k - mean_j);
  }
  for (int i = 0; i < kLevels; ++i) {
    if (row_totals[i] == 0) continue;
    uint32_t* row = glcm + i * kLevels;
    double row_cov = 0;
    for (int j = 0; j < kLevels; ++j) {
      if (row[j] == 0) continue;
      row_cov += static_cast<double>(row[j]) * (j - mean_j);
      row[j] = 0;
    }
    cov += (i - mean_i) * row_cov;
    row_totals[i] = 0;
  }
  p.contrast = static_cast<double>(contrast) / n;
  p.dissimilarity = static_cast<double>(dissimilarity) / n;
  p.homogeneity = homogeneity / n;
  p.asm_ = static_cast<double>(asm_counts) / (n * n);
  p.energy = std::sqrt(p.asm_);
  const double std_i = std::sqrt(var_i / n), std_j = std::sqrt(var_j / n);
  // skimage: a standard deviation below 1e-15 (a constant direction) gives correlation 1.
  p.correlation = (std_i < 1e-15 || std_j < 1e-15) ? 1.0 : (cov / n) / (std_i * std_j);
  return p;
}

// mean, population std, scipy.stats.moment 2..5, shannon_entropy (base 2), from the grey histogram.
void histogram_features(const uint8_t* image, int64_t pixels, double* out) {
  std::array<uint64_t, kLevels> hist{};
  for (int64_t k = 0; k < pixels; ++k) ++hist[image[k]];
  const double n = static_cast<double>(pixels);
  uint64_t sum = 0;
  for (int v = 0; v < kLevels; ++v) sum += static_cast<uint64_t>(v) * hist[v];
  const double mean = static_cast<double>(sum) / n;
  std::array<double, 6> moments{};  // moments[k] = sum count * (v - mean)^k
  double entropy = 0;
  for (int v = 0; v < kLevels; ++v) {
    if (hist[v] == 0) continue;
    const double c = static_cast<double>(hist[v]), d = v - mean;
    double power = d;
    for (int k = 2; k <= 5; ++k) {
      power *= d;
      moments[k] += c * power;
    }
    const double p = c / n;
    entropy -= p * std::log(p);
  }
  out[0] = mean;
  out[1] = std::sqrt(moments[2] / n);
  for (int k = 2; k <= 5; ++k) out[k] = moments[k] / n;
  out[6] = entropy / std::log(2.0);
}

}  // namespace

const std::vector<std::string>& radiomic_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const char* prop : kProperties)
      for (int d : kDistances)
        for (int a : kAnglesDeg) v.push_back(std::string("glcm.") + prop + ".d" + std::to_string(d) + ".a" + std::to_string(a));
    for (const char* s : {"mean", "std", "moment2", "moment3", "moment4", "moment5", "entropy"}) v.emplace_back(s);
    return v;
  }();
  return names;
}

void radiomic_features_one(const uint8_t* image, int64_t height, int64_t width, const RadiomicOptions& options, double* out) {
  std::vector<uint32_t> glcm(kLevels * kLevels, 0);  // zero between offsets: glcm_props clears what it read
  std::array<uint64_t, kLevels> row_totals{};
  for (size_t di = 0; di < kDistances.size(); ++di) {
    for (size_t ai = 0; ai < kAnglesRad.size(); ++ai) {
      const double a = kAnglesRad[ai], d = kDistances[di];
      const uint64_t total = count_pairs(image, height, width, offset_of(std::sin(a) * d), offset_of(std::cos(a) * d),
                                         options.symmetric, glcm.data(), row_totals.data());
      const GlcmProps p = glcm_props(glcm.data(), row_totals.data(), total);
      const size_t k = di * kAnglesRad.size() + ai;
      const double values[6] = {p.contrast, p.dissimilarity, p.homogeneity, p.asm_, p.energy, p.correlation};
      for (int prop = 0; prop < 6; ++prop) out[prop * kGlcmCount + k] = values[prop];
    }
  }
  histogram_features(image, height * width, out + 6 * kGlcmCount);
}

std::vector<double> radiomic_features(const uint8_t* images, size_t length, int64_t n, int64_t height, int64_t width,
                                      const RadiomicOptions& options) {
  if (n < 0 || height < 1 || width < 1)
    throw std::invalid_argument("radiomic features need a shape [n, height, width] with n >= 0 and height, width >= 1, got [" +
                                std::to_string(n) + ", " + std::to_string(height) + ", " + std::to_string(width) + "]");
  const int64_t pixels = height * width;
  if (static_cast<uint64_t>(n) * static_cast<uint64_t>(pixels) != length)
    throw std::invalid_argument("shape [" + std::to_string(n) + ", " + std::to_string(height) + ", " + std::to_string(width) +
                                "] holds " + std::to_string(n * pixels) + " pixels but the data has " + std::to_string(length));
  std::vector<double> out(static_cast<size_t>(n) * kRadiomicFeatureCount);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      radiomic_features_one(images + k * pixels, height, width, options, out.data() + k * kRadiomicFeatureCount);
  });
  return out;
}

}  // namespace torchxfer
