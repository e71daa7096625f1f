// metrics/frechet.h: the Frechet distance against closed forms and against SciPy
// (tests/reference/make_frechet_fixture.py wrote tests/fixtures/frechet.safetensors), and the quality
// report on a stand-in classifier.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "fixtures.h"
#include "metrics/frechet.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"

namespace hd {

static std::vector<double> diagonal(const std::vector<double>& d) {
  const size_t n = d.size();
  std::vector<double> m(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) m[i * n + i] = d[i];
  return m;
}

TEST(FrechetDistance, EqualDistributionsAreAtDistanceZero) {
  Generator gen(1);
  FeatureStatistics s = feature_statistics(randn({200, 8}, gen));
  EXPECT_NEAR(frechet_distance(s, s), 0.0, 1e-9);
}

TEST(FrechetDistance, ShiftedMeansAddTheSquaredDistance) {
  std::vector<double> sigma = {2, 0.5, 0.5, 1};
  EXPECT_NEAR(frechet_distance({0, 0}, sigma, {3, 4}, sigma), 25.0, 1e-12);
}

TEST(FrechetDistance, DiagonalCovariancesClosedForm) {
  // Commuting covariances: the trace term is sum_i (sqrt(a_i) - sqrt(b_i))^2.
  std::vector<double> a = {4, 1, 9}, b = {1, 1, 16};
  double expected = 1.0 + (2 - 1) * (2 - 1) + 0 + (3 - 4) * (3 - 4);  // |(1, 0, 0)|^2 + trace term
  EXPECT_NEAR(frechet_distance({1, 0, 0}, diagonal(a), {0, 0, 0}, diagonal(b)), expected, 1e-12);
}

TEST(FrechetDistance, RotatedCommutingCovariancesClosedForm) {
  // S1 = R diag(4, 1) R^T and S2 = R diag(1, 9) R^T share eigenvectors (R a rotation by 30 degrees).
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  auto rotated = [&](double l0, double l1) {
    return std::vector<double>{c * c * l0 + s * s * l1, c * s * (l0 - l1), c * s * (l0 - l1), s * s * l0 + c * c * l1};
  };
  double expected = (2 - 1) * (2 - 1) + (1 - 3) * (1 - 3);
  EXPECT_NEAR(frechet_distance({0, 0}, rotated(4, 1), {0, 0}, rotated(1, 9)), expected, 1e-12);
}

TEST(FrechetDistance, RejectsMismatchedSizes) {
  EXPECT_THROW(frechet_distance({0, 0}, diagonal({1, 1}), {0, 0, 0}, diagonal({1, 1, 1})), std::invalid_argument);
  EXPECT_THROW(frechet_distance({0, 0}, {1, 0, 0}, {0, 0}, diagonal({1, 1})), std::invalid_argument);
}

// --------------------------------------------------------------------------------- against SciPy

static const char* kScript = "/usr/bin/python3 tests/reference/make_frechet_fixture.py";

static TensorFile load_fixture() {
  std::string path = test::fixture_path("frechet.safetensors");
  if (!std::filesystem::exists(path)) throw std::runtime_error("missing fixture " + path + ": run " + kScript);
  return load_safetensors(path);
}

TEST(FrechetDistance, MatchesScipyClassicForm) {
  TensorFile f = load_fixture();
  double scipy_fd = std::stod(f.metadata.at("fd"));
  double fd = frechet_distance(feature_statistics(f.tensors.at("a")), feature_statistics(f.tensors.at("b")));
  // Same float32 features, both computed in double: far closer than the 1e-4 the metric needs.
  EXPECT_NEAR(fd, scipy_fd, 1e-6 * scipy_fd) << "hundun " << fd << ", scipy " << scipy_fd;
}

TEST(FeatureStatistics, MatchesNumpyMeanAndUnbiasedCovariance) {
  TensorFile f = load_fixture();
  FeatureStatistics s = feature_statistics(f.tensors.at("a"));
  const Tensor& mean = f.tensors.at("mean_a");
  const Tensor& cov = f.tensors.at("cov_a");
  ASSERT_EQ(s.dim, 16);
  EXPECT_EQ(s.count, 400);
  for (int i = 0; i < s.dim; ++i) EXPECT_NEAR(s.mean[i], mean.data()[i], 1e-6 * (1 + std::fabs(s.mean[i])));
  for (int i = 0; i < s.dim * s.dim; ++i) EXPECT_NEAR(s.covariance[i], cov.data()[i], 1e-6 * (1 + std::fabs(s.covariance[i])));
}

TEST(FeatureStatistics, NamesTheShapeItNeeds) {
  try {
    feature_statistics(Tensor::zeros({1, 4}));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("feature_statistics: expected features [N, D] with N >= 2"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("[1, 4]"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------- quality report

// A stand-in classifier: features are the first 6 pixels; the class is the image's mean brightness
// bucket (10 buckets over [0, 1]), predicted with probability 0.9.
static std::pair<Tensor, Tensor> brightness_classifier(const Tensor& images) {
  const int64_t n = images.size(0), pixels = images.numel() / n;
  Tensor features({n, 6}), probabilities = Tensor::full({n, 10}, 0.1f / 9);
  for (int64_t i = 0; i < n; ++i) {
    const float* x = images.data() + i * pixels;
    double mean = 0;
    for (int64_t j = 0; j < pixels; ++j) mean += x[j];
    mean /= static_cast<double>(pixels);
    for (int j = 0; j < 6; ++j) features.data()[i * 6 + j] = x[j];
    int bucket = std::min(9, static_cast<int>(mean * 10));
    probabilities.data()[i * 10 + bucket] = 0.9f;
  }
  return {features, probabilities};
}

TEST(QualityReport, CountsClassesAndConfidence) {
  Generator gen(2);
  Tensor real = rand({300, 1, 28, 28}, gen);  // mean brightness ~0.5: all in bucket 4 or 5
  FeatureStatistics real_stats = feature_statistics(classify_in_batches(real, brightness_classifier, 64).first);

  QualityReport same = quality_report(real, brightness_classifier, real_stats, 0.01, 64);
  EXPECT_NEAR(same.fd, 0.0, 1e-9);
  EXPECT_NEAR(same.mean_confidence, 0.9, 1e-6);
  ASSERT_EQ(same.class_counts.size(), 10u);
  EXPECT_EQ(same.class_counts[4] + same.class_counts[5], 300);
  EXPECT_EQ(same.classes_covered, (same.class_counts[4] >= 3) + (same.class_counts[5] >= 3));

  // Darker, different images: a positive distance, and every image in bucket 0.
  Tensor dark = rand({100, 1, 28, 28}, gen) * 0.1f;
  QualityReport other = quality_report(dark, brightness_classifier, real_stats);
  EXPECT_GT(other.fd, 0.1);
  EXPECT_EQ(other.class_counts[0], 100);
  EXPECT_EQ(other.classes_covered, 1);
  EXPECT_EQ(other.predicted, std::vector<int>(100, 0));  // each image's class, in order
  EXPECT_EQ(describe(other).find("FD "), 0u);

  // One bright image among dark ones: its place in `predicted` says which it was.
  Tensor mixed = dark.narrow0(0, 3).clone();
  for (int64_t j = 0; j < 784; ++j) mixed.data()[784 + j] = 0.95f;
  EXPECT_EQ(quality_report(mixed, brightness_classifier, real_stats).predicted, (std::vector<int>{0, 9, 0}));
}

}  // namespace hd
