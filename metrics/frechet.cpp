#include "metrics/frechet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "autograd/variable.h"
#include "tensor/linalg.h"
#include "tensor/shape_ops.h"

namespace hd {

FeatureStatistics feature_statistics(const Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw std::invalid_argument(fmt::format(
        "feature_statistics: expected features [N, D] with N >= 2 (a covariance needs two samples), got {}",
        shape_str(features.shape())));
  const int64_t n = features.size(0);
  const int d = static_cast<int>(features.size(1));
  const float* x = features.data();
  FeatureStatistics stats{d, n, std::vector<double>(d, 0.0), std::vector<double>(static_cast<size_t>(d) * d, 0.0)};

  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) stats.mean[j] += x[i * d + j];
  for (double& m : stats.mean) m /= static_cast<double>(n);

  // S = sum_i (x_i - mu)(x_i - mu)^T / (N - 1); the upper triangle, mirrored at the end.
  std::vector<double> centered(d);
  double* s = stats.covariance.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) centered[j] = x[i * d + j] - stats.mean[j];
    for (int j = 0; j < d; ++j) {
      const double cj = centered[j];
      for (int k = j; k < d; ++k) s[j * d + k] += cj * centered[k];
    }
  }
  for (int j = 0; j < d; ++j)
    for (int k = j; k < d; ++k) s[k * d + j] = s[j * d + k] /= static_cast<double>(n - 1);
  return stats;
}

double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& sigma1,
                        const std::vector<double>& mu2, const std::vector<double>& sigma2) {
  const size_t d = mu1.size();
  if (mu2.size() != d || sigma1.size() != d * d || sigma2.size() != d * d)
    throw std::invalid_argument(fmt::format(
        "frechet_distance: expected mu1, mu2 of size D and sigma1, sigma2 of D * D numbers, got {}, {}, {}, {}",
        mu1.size(), mu2.size(), sigma1.size(), sigma2.size()));
  const int n = static_cast<int>(d);

  double mean_term = 0.0;  // |mu1 - mu2|^2
  for (size_t i = 0; i < d; ++i) mean_term += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);

  // tr (S1^1/2 S2 S1^1/2)^1/2 = sum of the square roots of that PSD matrix's eigenvalues.
  std::vector<double> root1 = sqrtm_psd(sigma1, n);
  std::vector<double> middle = matmul_square(matmul_square(root1, sigma2, n), root1, n);
  double trace_root = 0.0;
  for (double lambda : symmetric_eigen(middle, n).eigenvalues) trace_root += std::sqrt(std::max(lambda, 0.0));

  double trace1 = 0.0, trace2 = 0.0;
  for (int i = 0; i < n; ++i) trace1 += sigma1[i * n + i], trace2 += sigma2[i * n + i];
  // Rounding can leave a tiny negative number for identical distributions; a distance is >= 0.
  return std::max(0.0, mean_term + trace1 + trace2 - 2.0 * trace_root);
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  if (a.dim != b.dim)
    throw std::invalid_argument(
        fmt::format("frechet_distance: feature sizes differ: {} and {} (were both computed by the same classifier?)",
                    a.dim, b.dim));
  return frechet_distance(a.mean, a.covariance, b.mean, b.covariance);
}

std::pair<Tensor, Tensor> classify_in_batches(const Tensor& images, const FeatureClassifier& classify,
                                              int64_t batch_size) {
  if (images.dim() < 1 || images.size(0) == 0 || batch_size <= 0)
    throw std::invalid_argument(fmt::format("classify_in_batches: expected a non-empty batch of images and a positive "
                                            "batch size, got images {} and batch size {}",
                                            shape_str(images.shape()), batch_size));
  NoGradGuard no_grad;  // judging images trains nothing
  std::vector<Tensor> features, probabilities;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    auto [f, p] = classify(images.narrow0(start, std::min(start + batch_size, images.size(0))));
    features.push_back(f);
    probabilities.push_back(p);
  }
  return {concat(features, 0), concat(probabilities, 0)};
}

QualityReport quality_report(const Tensor& generated, const FeatureClassifier& classify, const FeatureStatistics& real,
                             double covered_share, int64_t batch_size) {
  auto [features, probabilities] = classify_in_batches(generated, classify, batch_size);
  const int64_t n = generated.size(0);
  if (probabilities.dim() != 2 || probabilities.size(0) != n || features.dim() != 2 || features.size(0) != n)
    throw std::invalid_argument(fmt::format(
        "quality_report: the classifier must return features [N, D] and probabilities [N, C] for {} images, got {} and {}",
        n, shape_str(features.shape()), shape_str(probabilities.shape())));

  QualityReport report;
  report.fd = frechet_distance(real, feature_statistics(features));
  const int64_t classes = probabilities.size(1);
  report.class_counts.assign(classes, 0);
  report.predicted.reserve(static_cast<size_t>(n));
  double confidence_sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probabilities.data() + i * classes;
    const int64_t best = std::max_element(p, p + classes) - p;  // the classifier's answer (argmax)
    report.class_counts[best] += 1;
    report.predicted.push_back(static_cast<int>(best));
    confidence_sum += p[best];
  }
  report.mean_confidence = confidence_sum / static_cast<double>(n);
  for (int count : report.class_counts)
    if (count >= covered_share * static_cast<double>(n) && count > 0) report.classes_covered += 1;
  return report;
}

std::string describe(const QualityReport& report) {
  return fmt::format("FD {:.2f}, mean confidence {:.3f}, {}/{} classes covered", report.fd, report.mean_confidence,
                     report.classes_covered, report.class_counts.size());
}

}  // namespace hd
