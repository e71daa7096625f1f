#include "data/toy2d.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace hd {

namespace {

constexpr double kPi = std::numbers::pi;

void check_count(const char* op, int64_t n) {
  if (n < 1) throw std::invalid_argument(fmt::format("{}: n must be >= 1, got {}", op, n));
}

// Throws unless the mixture is well formed; returns the weights normalised to sum 1.
std::vector<double> check_mixture(const char* op, const std::vector<double>& means, const std::vector<double>& stds,
                                  const std::vector<double>& weights) {
  if (means.empty() || stds.size() != means.size() || weights.size() != means.size())
    throw std::invalid_argument(fmt::format("{}: means, stds and weights need one entry per component, got {}, {}, {}",
                                            op, means.size(), stds.size(), weights.size()));
  double total = 0;
  for (size_t k = 0; k < means.size(); ++k) {
    if (!(stds[k] > 0)) throw std::invalid_argument(fmt::format("{}: stds[{}] = {} must be > 0", op, k, stds[k]));
    if (!(weights[k] >= 0))
      throw std::invalid_argument(fmt::format("{}: weights[{}] = {} must be >= 0", op, k, weights[k]));
    total += weights[k];
  }
  if (!(total > 0) || !std::isfinite(total))
    throw std::invalid_argument(fmt::format("{}: the weights must have a positive, finite sum", op));
  std::vector<double> w(weights);
  for (double& wk : w) wk /= total;
  return w;
}

}  // namespace

Tensor ring_of_gaussians(int64_t n, Generator& gen, int modes, float radius, float std, Tensor* labels) {
  check_count("ring_of_gaussians", n);
  if (modes < 1) throw std::invalid_argument(fmt::format("ring_of_gaussians: modes must be >= 1, got {}", modes));
  if (!(std >= 0.f)) throw std::invalid_argument(fmt::format("ring_of_gaussians: std must be >= 0, got {}", std));
  std::vector<int64_t> mode(static_cast<size_t>(n));
  gen.fill_randint(mode.data(), n, 0, modes);
  Tensor x = normal({n, 2}, 0.0, std, gen);  // the noise around each centre
  float* p = x.data();
  for (int64_t i = 0; i < n; ++i) {
    double angle = 2 * kPi * static_cast<double>(mode[i]) / modes;
    p[2 * i] += static_cast<float>(radius * std::cos(angle));
    p[2 * i + 1] += static_cast<float>(radius * std::sin(angle));
  }
  if (labels) {
    *labels = Tensor({n});
    for (int64_t i = 0; i < n; ++i) labels->data()[i] = static_cast<float>(mode[i]);
  }
  return x;
}

Tensor swiss_roll(int64_t n, Generator& gen, float noise) {
  check_count("swiss_roll", n);
  if (!(noise >= 0.f)) throw std::invalid_argument(fmt::format("swiss_roll: noise must be >= 0, got {}", noise));
  Tensor u = rand({n}, gen);
  Tensor x = normal({n, 2}, 0.0, noise, gen);
  const double scale = 1.0 / (4.5 * kPi);  // the largest radius t reaches
  for (int64_t i = 0; i < n; ++i) {
    double t = 1.5 * kPi * (1 + 2 * static_cast<double>(u.data()[i]));
    x.data()[2 * i] += static_cast<float>(t * std::cos(t) * scale);
    x.data()[2 * i + 1] += static_cast<float>(t * std::sin(t) * scale);
  }
  return x;
}

Tensor two_moons(int64_t n, Generator& gen, float noise, Tensor* labels) {
  check_count("two_moons", n);
  if (!(noise >= 0.f)) throw std::invalid_argument(fmt::format("two_moons: noise must be >= 0, got {}", noise));
  const int64_t n_upper = n / 2, n_lower = n - n_upper;
  // Points in moon order first (upper: angle linspace(0, π), lower: shifted and flipped), then
  // shuffled into a random order with the noise on top.
  std::vector<float> pts(2 * static_cast<size_t>(n)), cls(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    bool upper = i < n_upper;
    int64_t j = upper ? i : i - n_upper, m = upper ? n_upper : n_lower;
    double a = m > 1 ? kPi * static_cast<double>(j) / static_cast<double>(m - 1) : 0.0;
    pts[2 * i] = static_cast<float>(upper ? std::cos(a) : 1 - std::cos(a));
    pts[2 * i + 1] = static_cast<float>(upper ? std::sin(a) : 0.5 - std::sin(a));
    cls[i] = upper ? 0.f : 1.f;
  }
  std::vector<int64_t> order = gen.permutation(n);
  Tensor x = normal({n, 2}, 0.0, noise, gen);
  if (labels) *labels = Tensor({n});
  for (int64_t i = 0; i < n; ++i) {
    x.data()[2 * i] += pts[2 * order[i]];
    x.data()[2 * i + 1] += pts[2 * order[i] + 1];
    if (labels) labels->data()[i] = cls[order[i]];
  }
  return x;
}

Tensor gaussian_mixture_1d(int64_t n, Generator& gen, const std::vector<double>& means,
                           const std::vector<double>& stds, const std::vector<double>& weights, Tensor* labels) {
  check_count("gaussian_mixture_1d", n);
  std::vector<double> w = check_mixture("gaussian_mixture_1d", means, stds, weights);
  // Ancestral sampling: component k with probability w_k (inverse CDF of a uniform), then x ~ N(m_k, s_k^2).
  Tensor u = rand({n}, gen);
  Tensor x = randn({n, 1}, gen);
  if (labels) *labels = Tensor({n});
  for (int64_t i = 0; i < n; ++i) {
    size_t k = 0;
    double cumulative = w[0];
    while (k + 1 < w.size() && u.data()[i] >= cumulative) cumulative += w[++k];
    x.data()[i] = static_cast<float>(means[k] + stds[k] * x.data()[i]);
    if (labels) labels->data()[i] = static_cast<float>(k);
  }
  return x;
}

double gaussian_mixture_pdf(double x, const std::vector<double>& means, const std::vector<double>& stds,
                            const std::vector<double>& weights) {
  std::vector<double> w = check_mixture("gaussian_mixture_pdf", means, stds, weights);
  double p = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    double z = (x - means[k]) / stds[k];
    p += w[k] * std::exp(-0.5 * z * z) / (std::sqrt(2 * kPi) * stds[k]);
  }
  return p;
}

}  // namespace hd
