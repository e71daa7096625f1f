// models/vae.h: the reparameterisation, the two terms of the negative ELBO, sampling, interpolation,
// the 2-D latent map, training on a tiny synthetic set, and the messages for wrong inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/activation.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "models/vae.h"
#include "nn/optim.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "model_file.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// n images, each a bright square at a random place: a small set a VAE fits quickly.
static Tensor toy_images(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor offsets = randint(0, 18, {n, 2}, gen);
  Tensor x = Tensor::zeros({n, 1, 28, 28});
  for (int64_t i = 0; i < n; ++i) {
    const int r0 = static_cast<int>(offsets.data()[2 * i]), c0 = static_cast<int>(offsets.data()[2 * i + 1]);
    for (int r = 0; r < 10; ++r)
      for (int c = 0; c < 10; ++c) x.data()[i * 784 + (r0 + r) * 28 + (c0 + c)] = 1.f;
  }
  return x;
}

TEST(VAE, HasPytorchExamplesLayers) {
  Generator gen(0);
  VAE model({}, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight",
                                             "fc22.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}));
  EXPECT_EQ(model.num_parameters(), (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784));
}

TEST(VAE, StartsFromPytorchExamplesWeights) {
  // torch.manual_seed(1); model = VAE() (bench/torch/vae.py):
  //   model.fc1.weight[0, :3] = [0.018402257934212685, -0.015763510018587112, -0.0069236247800290585]
  //   model.fc4.bias[-1] = 0.033996451646089554
  Generator gen(1);
  VAE model({}, gen);
  const float* w = model.fc1->weight.data().data();
  EXPECT_FLOAT_EQ(w[0], 0.018402257934212685f);
  EXPECT_FLOAT_EQ(w[1], -0.015763510018587112f);
  EXPECT_FLOAT_EQ(w[2], -0.0069236247800290585f);
  EXPECT_FLOAT_EQ(model.fc4->bias.data().data()[783], 0.033996451646089554f);
}

TEST(VAE, Shapes) {
  Generator gen(0);
  VAE model({}, gen);
  Tensor x = toy_images(3, 1);
  auto [mu, logvar] = model.encode(x);
  EXPECT_EQ(mu.shape(), (Shape{3, 20}));
  EXPECT_EQ(logvar.shape(), (Shape{3, 20}));
  VAE::Output out = model.forward(x, gen);
  EXPECT_EQ(out.logits.shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ(out.z.shape(), (Shape{3, 20}));
  EXPECT_EQ(model.forward(Variable(x.reshape({3, 784}))).shape(), (Shape{3, 1, 28, 28}));
}

TEST(VAE, ReparameterizationHasTheRightMeanAndVariance) {
  // mu = 2, sigma = 0.5 (logvar = log 0.25): z over 20000 draws has mean 2 and variance 0.25.
  Generator gen(1);
  const int64_t n = 20000;
  Tensor z = VAE::reparameterize(Tensor::full({n, 1}, 2.f), Tensor::full({n, 1}, std::log(0.25f)), gen).data();
  double mean = 0, var = 0;
  for (float v : z.tolist()) mean += v;
  mean /= n;
  for (float v : z.tolist()) var += (v - mean) * (v - mean);
  var /= n - 1;
  EXPECT_NEAR(mean, 2.0, 4 * 0.5 / std::sqrt(n));  // 4 standard errors
  EXPECT_NEAR(var, 0.25, 4 * 0.25 * std::sqrt(2.0 / n));
}

TEST(VAE, ReparameterizationLetsGradientsThrough) {
  // dz/dmu = 1 and dz/dlogvar = eps sigma / 2, with eps recovered as (z - mu) / sigma.
  Generator gen(2);
  Variable mu(Tensor::from({3}, {0.f, 1.f, -1.f}), true), logvar(Tensor::from({3}, {0.f, -1.f, 0.5f}), true);
  Variable z = VAE::reparameterize(mu, logvar, gen);
  sum(z).backward();
  for (int i = 0; i < 3; ++i) {
    const float sigma = std::exp(0.5f * logvar.data().data()[i]);
    const float eps = (z.data().data()[i] - mu.data().data()[i]) / sigma;
    EXPECT_FLOAT_EQ(mu.grad().data().data()[i], 1.f);
    EXPECT_NEAR(logvar.grad().data().data()[i], 0.5f * sigma * eps, 1e-6f);
  }
}

TEST(VAE, LossIsReconstructionPlusClosedFormKl) {
  Generator init(3);
  VAE model({}, init);
  Tensor x = toy_images(4, 2);
  Generator g1(9), g2(9);
  VAE::Loss loss = model.loss(x, g1);
  // The same eps again (same seed): rebuild both terms by hand.
  VAE::Output out = model.forward(x, g2);
  const int64_t b = 4;
  double kl = 0;  // -1/2 sum (1 + logvar - mu^2 - e^logvar), per image
  for (int64_t i = 0; i < out.mu.numel(); ++i) {
    double m = out.mu.data().data()[i], lv = out.logvar.data().data()[i];
    kl += -0.5 * (1 + lv - m * m - std::exp(lv));
  }
  kl /= b;
  double bce = 0;  // -(x log p + (1 - x) log(1 - p)), p = sigmoid(logit), per image
  for (int64_t i = 0; i < x.numel(); ++i) {
    double p = 1.0 / (1.0 + std::exp(-static_cast<double>(out.logits.data().data()[i]))), t = x.data()[i];
    bce -= t * std::log(p) + (1 - t) * std::log(1 - p);
  }
  bce /= b;
  EXPECT_NEAR(loss.kl.item(), kl, 1e-4 * kl);
  EXPECT_NEAR(loss.reconstruction.item(), bce, 1e-4 * bce);
  EXPECT_NEAR(loss.total.item(), bce + kl, 1e-4 * (bce + kl));
}

TEST(VAE, SumReductionIsBatchTimesMeanAndBetaWeighsKl) {
  Generator init(4);
  VAE model({}, init);
  Tensor x = toy_images(8, 3);
  Generator g1(1), g2(1);
  VAE::Loss mean = model.loss(x, g1), sum = model.loss(x, g2, Reduction::Sum);
  EXPECT_NEAR(sum.total.item(), 8 * mean.total.item(), 1e-4 * sum.total.item());
  model.options.beta = 0.25f;
  Generator g3(1);
  VAE::Loss beta = model.loss(x, g3);
  EXPECT_NEAR(beta.total.item(), beta.reconstruction.item() + 0.25f * beta.kl.item(), 1e-3);
}

TEST(VAE, LogitsLossEqualsPytorchExamplesSigmoidThenBce) {
  // pytorch/examples: F.binary_cross_entropy(sigmoid(l), x, reduction='sum'); hundun: BCE with logits.
  Generator gen(5);
  Tensor logits = randn({2, 1, 28, 28}, gen) * 3.f, x = rand({2, 1, 28, 28}, gen);
  float with_logits = binary_cross_entropy_with_logits(logits, x, Reduction::Sum).item();
  float from_probabilities = binary_cross_entropy(sigmoid(Variable(logits)), x, Reduction::Sum).item();
  EXPECT_NEAR(with_logits, from_probabilities, 1e-4f * with_logits);
}

TEST(VAE, LossDecreasesOnASmallSet) {
  Generator gen(6);
  VAE model({.latent_dim = 4, .hidden = 64}, gen);
  Adam optimizer(model.parameters(), 3e-3f);
  Tensor x = toy_images(32, 7);
  float first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    optimizer.zero_grad();
    Variable loss = model.loss(x, gen).total;
    (step == 0 ? first : last) = loss.item();
    loss.backward();
    optimizer.step();
  }
  EXPECT_LT(last, 0.6f * first) << "first " << first << ", last " << last;
}

TEST(VAE, SamplesArePixelProbabilitiesAndRepeatWithTheSeed) {
  Generator init(8);
  VAE model({}, init);
  Generator g1(42), g2(42), g3(43);
  Tensor a = model.sample(5, g1), b = model.sample(5, g2), c = model.sample(5, g3);
  EXPECT_EQ(a.shape(), (Shape{5, 1, 28, 28}));
  for (float p : a.tolist()) ASSERT_TRUE(p >= 0.f && p <= 1.f) << p;
  EXPECT_EQ(a.tolist(), b.tolist());
  EXPECT_NE(a.tolist(), c.tolist());
}

TEST(VAE, ReconstructionsVaryFromDrawToDraw) {
  Generator init(9);
  VAE model({}, init);
  Generator gen(1);
  Tensor x = toy_images(2, 4);
  Tensor r1 = model.reconstruct(x, gen), r2 = model.reconstruct(x, gen);
  EXPECT_EQ(r1.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_NE(r1.tolist(), r2.tolist());
}

TEST(VAE, InterpolationStartsAndEndsAtTheEncodedImages) {
  Generator init(10);
  VAE model({}, init);
  Tensor x = toy_images(2, 5);
  Tensor path = interpolate_images(model, x[0], x[1], 5);
  EXPECT_EQ(path.shape(), (Shape{5, 1, 28, 28}));
  Tensor mu = model.encode(x).mu.data();
  Tensor ends = model.decode_images(mu);
  for (int64_t i = 0; i < 784; ++i) {
    ASSERT_NEAR(path.data()[i], ends.data()[i], 1e-5f);
    ASSERT_NEAR(path.data()[4 * 784 + i], ends.data()[784 + i], 1e-5f);
  }
}

TEST(VAE, LatentGridOfTheTwoDimensionalVariant) {
  Generator init(11);
  VAE model({.latent_dim = 2}, init);
  Tensor grid = model.latent_grid(4, 2.f);
  EXPECT_EQ(grid.shape(), (Shape{16, 1, 28, 28}));
  // The top-left image is z = (-2, 2).
  Tensor corner = model.decode_images(Tensor::from({1, 2}, {-2.f, 2.f}));
  for (int64_t i = 0; i < 784; ++i) ASSERT_NEAR(grid.data()[i], corner.data()[i], 1e-6f);
  VAE big({}, init);
  EXPECT_NE(error_of([&] { big.latent_grid(4); }).find("needs latent_dim = 2"), std::string::npos);
}

TEST(VAE, GaussianDecoderWithLearnedSigma) {
  Generator gen(12);
  VAE model({.latent_dim = 4, .hidden = 32, .likelihood = Likelihood::Gaussian, .sigma = 0.2f, .learn_sigma = true},
            gen);
  ASSERT_TRUE(model.log_sigma.defined());
  EXPECT_NEAR(model.log_sigma.data().item(), std::log(0.2f), 1e-6f);
  VAE::Loss loss = model.loss(toy_images(4, 1), gen);
  EXPECT_EQ(loss.total.dim(), 0);
  EXPECT_TRUE(std::isfinite(loss.total.item()));
  loss.total.backward();
  EXPECT_TRUE(model.log_sigma.grad().defined());
  EXPECT_NE(model.describe().find("gaussian(learned sigma)"), std::string::npos);
}

TEST(VAE, GaussianDecoderWithFixedSigmaIsAGaussianNegativeLogLikelihood) {
  // sigma = 1: -log p(x | z) = sum_j (x_j - x_hat_j)^2 / 2 + 784 log(2 pi) / 2 per image.
  Generator init(13);
  VAE model({.latent_dim = 4, .hidden = 32, .likelihood = Likelihood::Gaussian, .sigma = 1.f}, init);
  EXPECT_FALSE(model.log_sigma.defined());
  Tensor x = toy_images(2, 3);
  Generator g1(4), g2(4);
  VAE::Loss loss = model.loss(x, g1);
  Tensor mean_image = sigmoid(model.forward(x, g2).logits.data());
  double expected = 0;
  for (int64_t i = 0; i < x.numel(); ++i) expected += 0.5 * std::pow(x.data()[i] - mean_image.data()[i], 2);
  expected = expected / 2 + 784 * 0.5 * std::log(2 * M_PI);
  EXPECT_NEAR(loss.reconstruction.item(), expected, 1e-4 * expected);
}

TEST(VAE, WrongShapesNameTheModelAndShapes) {
  Generator gen(0);
  VAE model({}, gen);
  std::string e = error_of([&] { model.loss(Tensor::zeros({3, 28}), gen); });
  EXPECT_NE(e.find("VAE(latent_dim=20"), std::string::npos) << e;
  EXPECT_NE(e.find("expected images [B, 1, 28, 28] or [B, 784]"), std::string::npos) << e;
  EXPECT_NE(e.find("got [3, 28]"), std::string::npos) << e;
  e = error_of([&] { model.decode(Tensor::zeros({2, 2})); });
  EXPECT_NE(e.find("expected latents [B, 20]"), std::string::npos) << e;
  e = error_of([&] { interpolate_images(model, Tensor::zeros({28}), Tensor::zeros({784}), 3); });
  EXPECT_NE(e.find("interpolate expects one 1x28x28 image each"), std::string::npos) << e;
}

using test::write_model_file;

// A Gaussian decoder's sigma comes from the file: zero, negative or not finite is an error naming the file (it was the
// VAE constructor's "sigma must be positive", naming none; found by fuzz/fuzz_checkpoint.cpp's check that every error
// names the file).
TEST(VAE, LoadingASigmaThatIsNotPositiveNamesTheFile) {
  VaeOptions o;
  o.latent_dim = 2;
  o.hidden = 3;
  o.image = {1, 4, 4};
  o.likelihood = Likelihood::Gaussian;
  for (const char* sigma : {"-0.1", "0", "nan", "1e300"}) {
    std::map<std::string, std::string> metadata = o.to_metadata();
    metadata["sigma"] = sigma;
    const std::string path = write_model_file("sigma.safetensors", {{"fc1.weight", {3, 16}}, {"fc21.weight", {2, 3}}},
                                              metadata);
    const std::string e = test::error_of([&] { load_vae(path); });
    std::remove(path.c_str());
    EXPECT_NE(e.find(path + ": metadata 'sigma' should be a positive finite number, got '" + sigma + "'"),
              std::string::npos)
        << e;
  }
}

}  // namespace hd
