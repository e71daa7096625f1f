#include "metrics/diversity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tensor/matmul.h"

namespace hd {

double mean_pairwise_distance(const Tensor& images) {
  if (images.dim() < 1 || images.size(0) < 2)
    throw std::invalid_argument(fmt::format("mean_pairwise_distance: expected at least 2 images, got shape {}",
                                            shape_str(images.shape())));
  const int64_t n = images.size(0), d = images.numel() / n;
  const Tensor x = images.reshape({n, d});
  const Tensor gram = matmul(x, x, /*trans_a=*/false, /*trans_b=*/true);  // [N, N]: a.b for every pair
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double sq = static_cast<double>(gram.data()[i * n + i]) + gram.data()[j * n + j] - 2.0 * gram.data()[i * n + j];
      total += std::sqrt(std::max(sq, 0.0));  // rounding can make a tiny distance slightly negative
    }
  return total / (0.5 * static_cast<double>(n) * static_cast<double>(n - 1));
}

}  // namespace hd
