// Does the project's FD agree with the eye? Sets of images whose order of quality is known, judged by the
// shipped classifier (weights/classifier.safetensors) against 1000 test images, must come out in that order:
//   real training images < VAE samples < autoencoder decoding N(0, I) < uniform noise
//   sharp < blurred 3x3 < blurred 5x5
//   ten classes < five < two < one (mode dropping, the GAN's failure, made by hand)
// The GAN and the diffusion model will be judged by this number, so a change to the classifier or to FD that
// breaks the order fails here. What the features do not see is said in metrics/frechet.h.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "metrics/frechet.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/vae.h"
#include "tensor/conv.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"

namespace hd {

constexpr int64_t kImages = 1000;

static std::string shipped(const std::string& name) {
  return std::string(HUNDUN_SOURCE_DIR) + "/weights/" + name + ".safetensors";
}

// The first n images whose class is below `classes` (all of them for classes = 10).
static Tensor first_of_classes(const Dataset& data, int classes, int64_t n) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < data.labels.numel() && static_cast<int64_t>(rows.size()) < n; ++i)
    if (data.labels.data()[i] < static_cast<float>(classes)) rows.push_back(i);
  return gather_rows(data.images, rows);
}

// A k x k box blur (zero padding keeps the size).
static Tensor box_blur(const Tensor& images, int64_t k) {
  return conv2d(images, Tensor::full({1, 1, k, k}, 1.f / static_cast<float>(k * k)), Tensor(), 1, k / 2);
}

class FdOrdering : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    judge_ = load_classifier(shipped("classifier"));
    train_ = new Dataset(load_fashion_mnist(true));
    const Dataset test = load_fashion_mnist(false);
    real_ = new FeatureStatistics(feature_statistics(extract_features(*judge_, first_of_classes(test, 10, kImages))));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete real_;
    judge_.reset();
  }

  static double fd(const Tensor& images) {
    EXPECT_EQ(images.size(0), kImages);
    return frechet_distance(feature_statistics(extract_features(*judge_, images)), *real_);
  }

  static std::shared_ptr<ImageClassifier> judge_;
  static Dataset* train_;
  static FeatureStatistics* real_;
};
std::shared_ptr<ImageClassifier> FdOrdering::judge_;
Dataset* FdOrdering::train_ = nullptr;
FeatureStatistics* FdOrdering::real_ = nullptr;

TEST_F(FdOrdering, RealBeforeVaeBeforeAutoencoderBeforeNoise) {
  Generator gen(0);
  const double real = fd(first_of_classes(*train_, 10, kImages));
  const double vae = fd(load_vae(shipped("vae"))->sample(kImages, gen));
  auto ae = load_autoencoder(shipped("ae"));
  const double ae_prior = fd(ae->sample(kImages, gen));
  const double noise = fd(rand({kImages, 1, 28, 28}, gen));
  EXPECT_LT(real, vae);
  EXPECT_LT(vae, ae_prior);
  EXPECT_LT(ae_prior, noise);
  // Lesson 07's exercise: the autoencoder decoding 3 N(0, I) looks clearly worse than the VAE's samples;
  // FD agrees on the order, though by less than the eye would (metrics/frechet.h says why).
  const double ae_wide = fd(ae->decode_images(mul(randn({kImages, ae->latent_dim()}, gen), 3.f)));
  EXPECT_LT(vae, ae_wide);
  RecordProperty("fd_real_vae_ae_noise", std::to_string(real) + " " + std::to_string(vae) + " " +
                                             std::to_string(ae_prior) + " " + std::to_string(noise));
}

TEST_F(FdOrdering, BlurWorsensIt) {
  const Tensor sharp = first_of_classes(*train_, 10, kImages);
  const double clean = fd(sharp), blur3 = fd(box_blur(sharp, 3)), blur5 = fd(box_blur(sharp, 5));
  EXPECT_LT(clean, blur3);
  EXPECT_LT(blur3, blur5);
}

TEST_F(FdOrdering, DroppingModesWorsensIt) {
  double previous = fd(first_of_classes(*train_, 10, kImages));
  for (int classes : {5, 2, 1}) {
    const double dropped = fd(first_of_classes(*train_, classes, kImages));
    EXPECT_LT(previous, dropped) << "keeping only " << classes << " classes";
    previous = dropped;
  }
}

}  // namespace hd
