// frechet.h — how good are generated images? The Frechet distance between feature distributions,
// and a quality report built on a classifier.
//
// A trained classifier turns each image into a feature vector (its penultimate activations). Fit a
// Gaussian to the features of real images, N(mu1, S1), and one to those of generated images,
// N(mu2, S2). The Frechet (2-Wasserstein) distance between the two Gaussians is
//     FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)
// (Dowson & Landau 1982). It is 0 when the two fits agree and grows both when generated images look
// different on average (the mean term) and when they are less varied or differently varied (the
// covariance term). With Inception-v3 features this is the FID of Heusel et al. 2017; hundun uses
// its own Fashion-MNIST classifier (models/classifier.h), so the numbers compare hundun's models with
// one another, not with published FIDs.
//
// What the features see. They are the activations a classifier uses to tell ten kinds of clothes apart
// (after ReLU and max-pooling), so FD responds first to shape: which classes appear, how often, and how
// clearly. tests/test_fd_ordering.cpp checks it ranks sets whose order is known, against 1000 test
// images (measured 2026-12 with the shipped classifier, 1000 images each): training images 10, VAE
// samples 346, the autoencoder decoding N(0, I) 593, uniform noise 1849; a 3x3 / 5x5 box blur of the
// training images 381 / 636; five / two / one of the ten classes 580 / 953 / 1025. Its blind spot is
// texture on a right shape: the autoencoder decoding 3 N(0, I) (lesson 07's exercise) gives garments of
// the right outline full of speckle, clearly worse to the eye, yet scores only 14% worse than the VAE's
// smooth samples (395 against 346), and its mean confidence is the same. Adding the second convolution's
// pooled channels to the features moved those two numbers by under 2% (measured), so the blind spot belongs
// to what a classifier learns, not to the layer read: read FD beside the pictures.
//
// The usual FID code writes the trace term as tr(S1 + S2 - 2 sqrtm(S1 S2)). S1 S2 is not symmetric,
// but it is similar to the symmetric PSD matrix S1^1/2 S2 S1^1/2 (conjugate by S1^1/2), so both
// square roots have the same eigenvalues and the same trace. hundun uses the symmetric form, which
// needs only the symmetric eigen-solver of tensor/linalg.h.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

// The Gaussian fitted to a set of feature vectors.
struct FeatureStatistics {
  int dim = 0;
  int64_t count = 0;               // how many vectors were fitted
  std::vector<double> mean;        // [D]
  std::vector<double> covariance;  // [D, D] row-major
};

// features: [N, D] with N >= 2 -> mean and unbiased covariance (divided by N - 1, as numpy.cov),
// accumulated in double.
FeatureStatistics feature_statistics(const Tensor& features);

// FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). mu: [D], S: [D, D] row-major, PSD.
// Throws std::invalid_argument naming the sizes when they do not agree.
double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& sigma1,
                        const std::vector<double>& mu2, const std::vector<double>& sigma2);
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);

// --- judging generated images with a classifier ---

// Anything that maps images [N, 1, 28, 28] to (features [N, D], class probabilities [N, C]); for
// hundun's classifier: [&](const Tensor& x) { return std::pair{clf.features(x), softmax(clf.forward(x))}; }
using FeatureClassifier = std::function<std::pair<Tensor, Tensor>(const Tensor& images)>;

// Runs `classify` on the images batch_size at a time and joins the results along the first axis.
std::pair<Tensor, Tensor> classify_in_batches(const Tensor& images, const FeatureClassifier& classify,
                                              int64_t batch_size = 500);

struct QualityReport {
  double fd = 0;                 // Frechet distance to the real images' features (lower is better)
  double mean_confidence = 0;    // mean over images of the largest class probability (higher: clearer images)
  int classes_covered = 0;       // classes that got at least `covered_share` of the images (diversity)
  std::vector<int> class_counts; // [C] how many images the classifier put in each class (its argmax)
  std::vector<int> predicted;    // [N] the class of each image (the argmax), e.g. to check a conditional model
};

// Classifies `generated` [N, 1, 28, 28] and compares its features with `real` (the statistics of the
// real test images' features, computed once with feature_statistics). A class counts as covered
// when at least covered_share of the images (1% by default) fall in it, so that a model collapsed
// onto a few classes scores low even if a handful of stray images land elsewhere.
QualityReport quality_report(const Tensor& generated, const FeatureClassifier& classify, const FeatureStatistics& real,
                             double covered_share = 0.01, int64_t batch_size = 500);

// One line: "FD 12.34, mean confidence 0.876, 10/10 classes covered".
std::string describe(const QualityReport& report);

}  // namespace hd
