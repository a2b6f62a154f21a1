#include "radiomics.h"

#include "runtime.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

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

// Exact integer accumulators: counts up to 2^32 and products to 2^127 cannot overflow for any image.
#ifdef __SIZEOF_INT128__
using Wide = __int128;
#else
using Wide = long double;  // compilers without 128-bit integers: 64-bit mantissa, still far below 1e-6
#endif

// Co-occurrence counts for one offset, scikit-image's _glcm_loop: pixel (r, c) pairs with
// (r + dr, c + dc), dr = round(sin a * d), dc = round(cos a * d). Counts go to glcm[i * 256 + j].
uint64_t count_pairs(const uint8_t* image, int64_t rows, int64_t cols, int64_t dr, int64_t dc, bool symmetric, uint32_t* glcm) {
  const int64_t r0 = std::max<int64_t>(0, -dr), r1 = std::min<int64_t>(rows, rows - dr);
  const int64_t c0 = std::max<int64_t>(0, -dc), c1 = std::min<int64_t>(cols, cols - dc);
  if (r1 <= r0 || c1 <= c0) return 0;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* from = image + r * cols;
    const uint8_t* to = image + (r + dr) * cols + dc;
    if (symmetric) {  // P + P^T, as graycomatrix(symmetric=True)
      for (int64_t c = c0; c < c1; ++c) {
        ++glcm[from[c] * kLevels + to[c]];
        ++glcm[to[c] * kLevels + from[c]];
      }
    } else {
      for (int64_t c = c0; c < c1; ++c) ++glcm[from[c] * kLevels + to[c]];
    }
  }
  const uint64_t total = static_cast<uint64_t>((r1 - r0) * (c1 - c0));
  return symmetric ? 2 * total : total;
}

// 1 / (1 + d^2): homogeneity's weight by |i - j|.
const std::array<double, kLevels> kHomogeneityWeight = [] {
  std::array<double, kLevels> w{};
  for (int d = 0; d < kLevels; ++d) w[d] = 1.0 / (1.0 + static_cast<double>(d) * d);
  return w;
}();

// graycoprops on the normalised matrix. Only grey levels present in the image can have counts, so
// only those rows and columns are read; they are cleared on the way, leaving the buffer zero.
GlcmProps glcm_props(uint32_t* glcm, const std::vector<int>& levels, uint64_t total) {
  GlcmProps p{0, 0, 0, 0, 0, 1};  // no pairs: skimage leaves P all zero, so every sum is 0 and correlation 1
  if (total == 0) return p;
  // Everything but homogeneity is a ratio of integer sums, accumulated exactly.
  uint64_t contrast = 0, dissimilarity = 0, asm_counts = 0, sum_i = 0, sum_ii = 0, sum_j = 0, sum_jj = 0, sum_ij = 0;
  std::array<uint64_t, kLevels> col_totals{};
  double homogeneity = 0;
  for (int i : levels) {
    uint32_t* row = glcm + i * kLevels;
    uint64_t row_total = 0, row_j = 0;
    for (int j : levels) {
      const uint64_t c = row[j];
      if (c == 0) continue;
      row[j] = 0;
      const int d = i > j ? i - j : j - i;
      contrast += c * static_cast<uint64_t>(d * d);
      dissimilarity += c * static_cast<uint64_t>(d);
      asm_counts += c * c;
      homogeneity += static_cast<double>(c) * kHomogeneityWeight[d];
      row_total += c;
      row_j += c * static_cast<uint64_t>(j);
      col_totals[j] += c;
    }
    sum_i += row_total * i;
    sum_ii += row_total * i * i;
    sum_ij += row_j * i;
  }
  for (int j : levels) {
    sum_j += col_totals[j] * j;
    sum_jj += col_totals[j] * j * j;
  }
  const double n = static_cast<double>(total);
  p.contrast = static_cast<double>(contrast) / n;
  p.dissimilarity = static_cast<double>(dissimilarity) / n;
  p.homogeneity = homogeneity / n;
  p.asm_ = static_cast<double>(asm_counts) / (n * n);
  p.energy = std::sqrt(p.asm_);
  // n^2 var_i = n sum i^2 r_i - (sum i r_i)^2 and n^2 cov = n sum ij c - sum_i sum_j, exactly.
  const Wide N = static_cast<Wide>(total);
  const Wide var_i = N * static_cast<Wide>(sum_ii) - static_cast<Wide>(sum_i) * static_cast<Wide>(sum_i);
  const Wide var_j = N * static_cast<Wide>(sum_jj) - static_cast<Wide>(sum_j) * static_cast<Wide>(sum_j);
  const Wide cov = N * static_cast<Wide>(sum_ij) - static_cast<Wide>(sum_i) * static_cast<Wide>(sum_j);
  // skimage: a standard deviation below 1e-15 (a constant direction) gives correlation 1. A non-zero
  // integer variance numerator means a standard deviation of at least 1/n, far above that.
  if (var_i <= 0 || var_j <= 0) return p;
  p.correlation = static_cast<double>(cov) / std::sqrt(static_cast<double>(var_i) * static_cast<double>(var_j));
  return p;
}

// mean, population std, scipy.stats.moment 2..5, shannon_entropy (base 2), from the grey histogram.
void histogram_features(const std::array<uint64_t, kLevels>& hist, int64_t pixels, double* out) {
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

std::vector<std::string> make_feature_names() {
  std::vector<std::string> v;
  for (const char* prop : kProperties)
    for (int d : kDistances)
      for (int a : kAnglesDeg) v.push_back(std::string("glcm.") + prop + ".d" + std::to_string(d) + ".a" + std::to_string(a));
  for (const char* s : {"mean", "std", "moment2", "moment3", "moment4", "moment5", "entropy"}) v.emplace_back(s);
  return v;
}

// glcm: a zeroed 256 x 256 scratch matrix, left zeroed (reused across images: no per-image allocation).
void features_with_scratch(const uint8_t* image, int64_t height, int64_t width, const RadiomicOptions& options, uint32_t* glcm, double* out) {
  const int64_t pixels = height * width;
  std::array<uint64_t, kLevels> hist{};
  for (int64_t k = 0; k < pixels; ++k) ++hist[image[k]];
  std::vector<int> levels;  // grey levels present: the only rows and columns a GLCM can fill
  for (int v = 0; v < kLevels; ++v)
    if (hist[v]) levels.push_back(v);
  for (size_t di = 0; di < kDistances.size(); ++di) {
    for (size_t ai = 0; ai < kAnglesRad.size(); ++ai) {
      const double a = kAnglesRad[ai], d = kDistances[di];
      const uint64_t total = count_pairs(image, height, width, offset_of(std::sin(a) * d), offset_of(std::cos(a) * d), options.symmetric, glcm);
      const GlcmProps p = glcm_props(glcm, levels, total);
      const size_t k = di * kAnglesRad.size() + ai;
      const double values[6] = {p.contrast, p.dissimilarity, p.homogeneity, p.asm_, p.energy, p.correlation};
      for (int prop = 0; prop < 6; ++prop) out[prop * kGlcmCount + k] = values[prop];
    }
  }
  histogram_features(hist, pixels, out + 6 * kGlcmCount);
}

struct JoinAll {
  std::vector<std::thread>& threads;
  ~JoinAll() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

}  // namespace

const std::vector<std::string>& radiomic_feature_names() {
  static const std::vector<std::string> names = make_feature_names();
  return names;
}

void radiomic_features_one(const uint8_t* image, int64_t height, int64_t width, const RadiomicOptions& options, double* out) {
  std::vector<uint32_t> glcm(kLevels * kLevels, 0);
  features_with_scratch(image, height, width, options, glcm.data(), out);
}

std::vector<double> radiomic_features(const uint8_t* images, size_t length, int64_t n, int64_t height, int64_t width,
                                      const RadiomicOptions& options) {
  if (n < 0 || height < 1 || width < 1 || height > INT32_MAX || width > INT32_MAX)  // bounded: no overflow below
    throw std::invalid_argument("radiomic features need a shape [n, height, width] with n >= 0 and height, width >= 1, got [" +
                                std::to_string(n) + ", " + std::to_string(height) + ", " + std::to_string(width) + "]");
  const int64_t pixels = height * width;
  const uint64_t px = static_cast<uint64_t>(pixels);  // < 2^62: height and width are bounded above
  if (length % px != 0 || length / px != static_cast<uint64_t>(n))
    throw std::invalid_argument("shape [" + std::to_string(n) + ", " + std::to_string(height) + ", " + std::to_string(width) +
                                "] does not match the data's " + std::to_string(length) + " pixels (n * height * width must equal it)");
  std::vector<double> out(static_cast<size_t>(n) * kRadiomicFeatureCount);
  // Threads take the next image from a shared counter: a thread slowed by a busy machine delays
  // only its current image (static halves, as at::parallel_for splits, made 2 threads slower than 1).
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&]() {
    try {
      std::vector<uint32_t> glcm(kLevels * kLevels, 0);  // one scratch matrix per thread
      for (int64_t k = next++; k < n; k = next++)
        features_with_scratch(images + k * pixels, height, width, options, glcm.data(), out.data() + k * kRadiomicFeatureCount);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = n;  // the others stop too
    }
  };
  const int64_t threads = std::min<int64_t>(num_threads(), n);
  {
    std::vector<std::thread> pool;
    JoinAll joiner{pool};  // joins even if starting a thread throws: never a running std::thread destroyed
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();  // the calling thread works too
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace torchxfer
