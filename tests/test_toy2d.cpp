// Tests for data/toy2d.h: shapes, labels, the geometry of each set, mixture moments and density.
#include "data/toy2d.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace {

std::vector<int64_t> label_counts(const hd::Tensor& labels, int classes) {
  std::vector<int64_t> count(classes, 0);
  for (float l : labels.tolist()) {
    EXPECT_TRUE(l >= 0 && l < classes && l == std::floor(l)) << l;
    if (l >= 0 && l < classes) ++count[static_cast<int>(l)];
  }
  return count;
}

TEST(RingOfGaussians, PointsSitNearTheirModeOnARingOfRadiusTwo) {
  hd::Generator gen(0);
  hd::Tensor labels;
  hd::Tensor x = hd::ring_of_gaussians(8000, gen, 8, 2.f, 0.02f, &labels);
  ASSERT_EQ(x.shape(), (hd::Shape{8000, 2}));
  ASSERT_EQ(labels.shape(), (hd::Shape{8000}));
  double mean_radius = 0;
  for (int64_t i = 0; i < 8000; ++i) {
    double px = x.at({i, 0}), py = x.at({i, 1});
    double angle = 2 * std::numbers::pi * labels.at({i}) / 8;
    EXPECT_LT(std::hypot(px - 2 * std::cos(angle), py - 2 * std::sin(angle)), 0.02 * 6) << "point " << i;
    mean_radius += std::hypot(px, py) / 8000;
  }
  EXPECT_NEAR(mean_radius, 2.0, 0.01);
  for (int64_t c : label_counts(labels, 8)) EXPECT_NEAR(c, 1000, 150);  // binomial sd ~ 30
}

TEST(SwissRoll, IsASpiralInsideTheUnitSquare) {
  hd::Generator gen(1);
  hd::Tensor x = hd::swiss_roll(5000, gen);
  ASSERT_EQ(x.shape(), (hd::Shape{5000, 2}));
  for (int64_t i = 0; i < 5000; ++i) {
    // Without noise the radius is t / 4.5π with t in [1.5π, 4.5π], and the angle is t itself.
    double px = x.at({i, 0}), py = x.at({i, 1}), r = std::hypot(px, py);
    ASSERT_GE(r, 1.0 / 3 - 1e-5);
    ASSERT_LE(r, 1.0 + 1e-5);
    double t = r * 4.5 * std::numbers::pi;
    EXPECT_NEAR(px, r * std::cos(t), 1e-4);
    EXPECT_NEAR(py, r * std::sin(t), 1e-4);
  }
  hd::Tensor noisy = hd::swiss_roll(10, gen, 0.05f);
  EXPECT_EQ(noisy.shape(), (hd::Shape{10, 2}));
}

TEST(TwoMoons, HalfThePointsOnEachMoon) {
  hd::Generator gen(2);
  hd::Tensor labels;
  hd::Tensor x = hd::two_moons(1001, gen, 0.f, &labels);
  ASSERT_EQ(x.shape(), (hd::Shape{1001, 2}));
  EXPECT_EQ(label_counts(labels, 2), (std::vector<int64_t>{500, 501}));  // n // 2 on the upper moon
  for (int64_t i = 0; i < 1001; ++i) {
    double px = x.at({i, 0}), py = x.at({i, 1});
    if (labels.at({i}) == 0) {  // upper moon: unit half circle around (0, 0), y >= 0
      EXPECT_NEAR(std::hypot(px, py), 1.0, 1e-5);
      EXPECT_GE(py, -1e-6);
    } else {  // lower moon: around (1, 0.5), y <= 0.5
      EXPECT_NEAR(std::hypot(px - 1, py - 0.5), 1.0, 1e-5);
      EXPECT_LE(py, 0.5 + 1e-6);
    }
  }
  // Shuffled: the first 20 points are not all from one moon.
  double first_labels = 0;
  for (int64_t i = 0; i < 20; ++i) first_labels += labels.at({i});
  EXPECT_GT(first_labels, 0);
  EXPECT_LT(first_labels, 20);
}

TEST(GaussianMixture1d, MomentsMatchTheory) {
  const std::vector<double> means = {-2, 1, 4}, stds = {0.5, 1, 0.3}, weights = {2, 5, 3};  // normalised inside
  double mean = 0, second = 0;
  for (int k = 0; k < 3; ++k) {
    double w = weights[k] / 10;
    mean += w * means[k];
    second += w * (stds[k] * stds[k] + means[k] * means[k]);
  }
  const double var = second - mean * mean;

  hd::Generator gen(3);
  hd::Tensor labels;
  const int64_t n = 20000;
  hd::Tensor x = hd::gaussian_mixture_1d(n, gen, means, stds, weights, &labels);
  ASSERT_EQ(x.shape(), (hd::Shape{n, 1}));
  double m = 0, v = 0;
  for (float xi : x.tolist()) m += xi / static_cast<double>(n);
  for (float xi : x.tolist()) v += (xi - m) * (xi - m) / static_cast<double>(n - 1);
  EXPECT_NEAR(m, mean, 4 * std::sqrt(var / n));
  EXPECT_NEAR(v, var, 0.05 * var);
  std::vector<int64_t> count = label_counts(labels, 3);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(count[k], n * weights[k] / 10, 300) << "component " << k;
}

TEST(GaussianMixture1d, DensityIntegratesToOneAndMatchesTheNormalFormula) {
  const std::vector<double> means = {-1, 2}, stds = {0.5, 1}, weights = {1, 3};
  double integral = 0, dx = 1e-3;
  for (double x = -10; x < 10; x += dx) integral += hd::gaussian_mixture_pdf(x, means, stds, weights) * dx;
  EXPECT_NEAR(integral, 1.0, 1e-6);
  // One component: N(0, 1) at 0 is 1 / sqrt(2π).
  EXPECT_NEAR(hd::gaussian_mixture_pdf(0, {0}, {1}, {1}), 1 / std::sqrt(2 * std::numbers::pi), 1e-12);
}

TEST(GaussianMixture1d, RejectsMalformedMixtures) {
  hd::Generator gen(0);
  EXPECT_THROW(hd::gaussian_mixture_1d(10, gen, {0, 1}, {1}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(hd::gaussian_mixture_1d(10, gen, {0}, {-1}, {1}), std::invalid_argument);
  EXPECT_THROW(hd::gaussian_mixture_pdf(0, {0}, {1}, {0}), std::invalid_argument);
  EXPECT_THROW(hd::gaussian_mixture_1d(0, gen, {0}, {1}, {1}), std::invalid_argument);
}

TEST(Toy2d, SameSeedSameData) {
  auto all = [](uint64_t seed) {
    hd::Generator gen(seed);
    std::vector<float> v = hd::ring_of_gaussians(100, gen).tolist();
    for (float f : hd::swiss_roll(100, gen, 0.1f).tolist()) v.push_back(f);
    for (float f : hd::two_moons(100, gen, 0.1f).tolist()) v.push_back(f);
    for (float f : hd::gaussian_mixture_1d(100, gen, {0, 3}, {1, 1}, {1, 1}).tolist()) v.push_back(f);
    return v;
  };
  EXPECT_EQ(all(5), all(5));
  EXPECT_NE(all(5), all(6));
}

TEST(Toy2d, RejectsBadArguments) {
  hd::Generator gen(0);
  EXPECT_THROW(hd::ring_of_gaussians(0, gen), std::invalid_argument);
  EXPECT_THROW(hd::ring_of_gaussians(10, gen, 0), std::invalid_argument);
  EXPECT_THROW(hd::two_moons(10, gen, -0.1f), std::invalid_argument);
  EXPECT_THROW(hd::swiss_roll(10, gen, -1.f), std::invalid_argument);
}

}  // namespace
