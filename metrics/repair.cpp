// repair.cpp — L1 and PSNR inside a damaged region (repair.h): one pass over the pixels whose mask is >= 0.5.
#include "metrics/repair.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace hd {

namespace {

// The sums over the region: how many values, sum |a - b| and sum (a - b)^2.
struct RegionSums {
  double count = 0, abs_error = 0, squared_error = 0;
};

RegionSums sum_in_region(const Tensor& repaired, const Tensor& truth, const Tensor& mask, const char* op) {
  if (!repaired.defined() || !truth.defined() || !mask.defined())
    throw std::invalid_argument(fmt::format("{}: expected three defined tensors (repaired, truth, mask)", op));
  if (repaired.dim() != 4)
    throw std::invalid_argument(
        fmt::format("{}: expected repaired images [B, C, H, W], got {}", op, shape_str(repaired.shape())));
  if (truth.shape() != repaired.shape())
    throw std::invalid_argument(fmt::format("{}: expected truth of the repaired images' shape {}, got {}", op,
                                            shape_str(repaired.shape()), shape_str(truth.shape())));
  const int64_t batch = repaired.size(0), channels = repaired.size(1), plane = repaired.size(2) * repaired.size(3);
  const bool shared = mask.dim() == 4 && mask.size(1) == 1;  // [B, 1, H, W]: one mask for every channel
  const bool per_channel = mask.shape() == repaired.shape();
  if (mask.dim() != 4 || mask.size(0) != batch || mask.size(2) != repaired.size(2) ||
      mask.size(3) != repaired.size(3) || !(shared || per_channel))
  {
    const std::string one_channel = shape_str({batch, 1, repaired.size(2), repaired.size(3)});
    throw std::invalid_argument(fmt::format("{}: expected a mask {}{}, got {}", op, one_channel,
                                            channels == 1 ? "" : " or " + shape_str(repaired.shape()),
                                            shape_str(mask.shape())));
  }
  const float *a = repaired.data(), *t = truth.data(), *m = mask.data();
  RegionSums sums;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = 0; p < plane; ++p) {
        const int64_t i = (b * channels + c) * plane + p;
        if (!(m[shared ? b * plane + p : i] >= 0.5f)) continue;
        const double d = static_cast<double>(a[i]) - t[i];
        sums.count += 1;
        sums.abs_error += std::abs(d);
        sums.squared_error += d * d;
      }
  if (sums.count == 0)
    throw std::invalid_argument(fmt::format("{}: the mask marks no pixel (expected some values >= 0.5)", op));
  return sums;
}

}  // namespace

double l1_in_region(const Tensor& repaired, const Tensor& truth, const Tensor& mask) {
  const RegionSums s = sum_in_region(repaired, truth, mask, "l1_in_region");
  return s.abs_error / s.count;
}

double psnr_in_region(const Tensor& repaired, const Tensor& truth, const Tensor& mask) {
  const RegionSums s = sum_in_region(repaired, truth, mask, "psnr_in_region");
  const double mse = s.squared_error / s.count;
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(1 / mse);
}

}  // namespace hd
