// The shipped weights (weights/*.safetensors, written by `make weights`) against today's code: each file
// must load into the model its metadata names and still score on a part of the test set what it scored
// when it was trained. A change to a model that breaks them fails here, not in front of the lecture.
//
// The bounds are the values measured when the weights were made (weights/README.md) plus a margin; a
// missing file is a failure telling to run `make weights`.
//
// SameOutputsAsThePyTorchTwins: each file computes in hundun what it computes in its PyTorch twin
// (tests/reference/load_checkpoint_into_torch.py), on the outputs tests/reference/make_shipped_weights_fixture.py
// stored, so a shipped checkpoint opens in PyTorch as the same model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <tuple>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "metrics/frechet.h"
#include "models/vae.h"
#include "nn/checkpoint.h"
#include "fixtures.h"
#include "tensor/safetensors.h"

namespace hd {

// Per image, nats, on the first 1000 test images: the value measured when the weights were made
// (weights/README.md, 2026-11), plus 2%. An untrained model scores about 540.
constexpr double kAutoencoderBound = 219.2;  // measured 214.86
constexpr double kVaeBound = 248.5;          // measured 243.61
constexpr double kVae2dBound = 269.4;        // measured 264.13

// FD of 1000 samples (Generator(0)) against the first 2000 test images' features, by the shipped classifier: the
// value measured when the weights were made, plus 10% (FD of 1000 samples varies a few percent with the draw).
constexpr double kGanFdBound = 105.5;  // measured 95.87 (2026-12-03)
constexpr double kCganFdBound = 39.5;  // measured 35.89

static std::string shipped(const std::string& name) {
  return std::string(HUNDUN_SOURCE_DIR) + "/weights/" + name + ".safetensors";
}

static const std::string& metadata(const CheckpointInfo& info, const std::string& key) {
  static const std::string none;
  auto it = info.metadata.find(key);
  return it == info.metadata.end() ? none : it->second;
}

class ShippedWeights : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz") ||
        std::filesystem::exists(default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte"))
      test_ = new Dataset(load_fashion_mnist(false));
  }
  static void TearDownTestSuite() {
    delete test_;
    test_ = nullptr;
  }

  // The checkpoint's metadata, after checking the file is there, small and without optimizer state.
  CheckpointInfo open(const std::string& name) {
    const std::string path = shipped(name);
    if (!std::filesystem::exists(path)) {
      ADD_FAILURE() << path << " is missing: run `make weights` to train and write the shipped weights";
      return {};
    }
    EXPECT_LT(std::filesystem::file_size(path), 5'000'000u) << path;
    for (const auto& [key, tensor] : load_safetensors(path).tensors)
      EXPECT_EQ(key.rfind("model.", 0), 0u) << path << " holds " << key << ": export it with `hundun export`";
    return read_checkpoint_info(path);
  }

  // The first n test images (no shuffling: the same images every run).
  static Tensor test_images(int64_t n) { return subset(*test_, n, /*seed=*/0).images; }

  static Dataset* test_;
};
Dataset* ShippedWeights::test_ = nullptr;

#define REQUIRE_DATA() \
  if (!test_) GTEST_FAIL() << "Fashion-MNIST is not installed (make deps)"

TEST_F(ShippedWeights, ClassifierStillClassifies) {
  REQUIRE_DATA();
  const CheckpointInfo info = open("classifier");
  if (info.metadata.empty()) return;
  EXPECT_EQ(metadata(info, "trained_by"), "hundun train classifier");
  std::shared_ptr<ImageClassifier> model = make_classifier(metadata(info, "model"));
  load_checkpoint(shipped("classifier"), *model);
  const ClassifierMetrics m = evaluate(*model, subset(*test_, 2000, /*seed=*/0));
  EXPECT_GE(m.accuracy, 0.88) << "test accuracy on the first 2000 test images";
}

// ae.safetensors: the MLP autoencoder; reconstruction BCE per image on the first 1000 test images.
TEST_F(ShippedWeights, AutoencoderStillReconstructs) {
  REQUIRE_DATA();
  const CheckpointInfo info = open("ae");
  if (info.metadata.empty()) return;
  ASSERT_EQ(metadata(info, "model"), "ae");
  ASSERT_EQ(metadata(info, "arch"), "mlp");
  AutoencoderOptions o;
  o.latent_dim = std::stoll(metadata(info, "latent_dim"));
  o.hidden = std::stoll(metadata(info, "hidden"));
  Autoencoder model(o);
  load_checkpoint(shipped("ae"), model);
  NoGradGuard no_grad;
  const double loss = model.loss(test_images(1000)).item();
  EXPECT_LT(loss, kAutoencoderBound) << "reconstruction BCE per image on the first 1000 test images";
}

// The negative ELBO per image on the first 1000 test images, one z per image from Generator(0) (what
// `hundun eval vae --test-size 1000` prints).
static double negative_elbo(const std::string& name, const CheckpointInfo& info, const Tensor& images) {
  VaeOptions o;
  o.latent_dim = std::stoll(metadata(info, "latent_dim"));
  o.hidden = std::stoll(metadata(info, "hidden"));
  VAE model(o);
  load_checkpoint(shipped(name), model);
  NoGradGuard no_grad;
  Generator gen(0);
  return model.loss(images, gen).total.item();
}

TEST_F(ShippedWeights, VaeStillFitsTheTestSet) {
  REQUIRE_DATA();
  // name, latent size, bound on the negative ELBO
  for (const auto& [name, latent, bound] : {std::tuple{"vae", "20", kVaeBound}, std::tuple{"vae2d", "2", kVae2dBound}}) {
    SCOPED_TRACE(name);
    const CheckpointInfo info = open(name);
    if (info.metadata.empty()) continue;
    ASSERT_EQ(metadata(info, "model"), "vae");
    EXPECT_EQ(metadata(info, "latent_dim"), latent);
    EXPECT_LT(negative_elbo(name, info, test_images(1000)), bound) << "negative ELBO per image on the first 1000 test images";
  }
}

TEST_F(ShippedWeights, GansStillMakeGarments) {
  REQUIRE_DATA();
  const CheckpointInfo judge_info = open("classifier");
  if (judge_info.metadata.empty()) return;
  std::shared_ptr<ImageClassifier> judge = make_classifier(metadata(judge_info, "model"));
  load_checkpoint(shipped("classifier"), *judge);
  const FeatureClassifier classify = [&](const Tensor& images) { return features_and_probabilities(*judge, images); };
  const FeatureStatistics real = feature_statistics(classify_in_batches(test_images(2000), classify).first);
  for (const auto& [name, bound] : {std::pair{"gan", kGanFdBound}, std::pair{"cgan", kCganFdBound}}) {
    SCOPED_TRACE(name);
    if (open(name).metadata.empty()) continue;
    const std::shared_ptr<gan::GAN> model = gan::load_gan(shipped(name));
    Generator gen(0);
    const QualityReport q = quality_report(model->sample(1000, gen), classify, real);
    EXPECT_LT(q.fd, bound) << describe(q);
    EXPECT_EQ(q.classes_covered, 10) << describe(q);
  }
  // `hundun sample gan --class K` gives that class: most of 200 samples of each class are judged to be of it. Measured
  // 134 (pullover) to 199 (trouser, bag) of 200; the upper-body garments are the ones the judge itself confuses most.
  if (open("cgan").metadata.empty()) return;
  const std::shared_ptr<gan::GAN> cgan = gan::load_gan(shipped("cgan"));
  ASSERT_EQ(cgan->num_classes(), 10);
  for (int64_t k = 0; k < 10; ++k) {
    Generator gen(static_cast<uint64_t>(k));
    const Tensor p = classify_in_batches(cgan->sample_class(200, k, gen), classify).second;  // [200, 10]
    int64_t right = 0;
    for (int64_t i = 0; i < 200; ++i) right += std::max_element(p.data() + i * 10, p.data() + i * 10 + 10) - (p.data() + i * 10) == k;
    EXPECT_GE(right, 120) << "class " << k << " (" << fashion_mnist_classes()[static_cast<size_t>(k)]
                                     << "): " << right << " of 200 samples judged to be of it";
  }
}

// ------------------------------------------------------------------------- the PyTorch twins

static const char* kTwinScript = "/usr/bin/python3 tests/reference/make_shipped_weights_fixture.py";
constexpr int64_t kTwinImages = 16;  // N in the script: the first 16 test images

// Expects `got` to equal the fixture's entry (|got - want| <= 1e-4 + 1e-4 |want|: two float32 GEMMs
// summing in different orders), which the script computed from the weights file at the same step.
static void expect_same_as_torch(const TensorFile& torch, const std::string& name, const std::string& entry,
                                 const CheckpointInfo& info, const Tensor& got) {
  SCOPED_TRACE(name + ".safetensors, " + entry);
  auto step = torch.metadata.find(name + ".step");
  ASSERT_TRUE(step != torch.metadata.end() && step->second == std::to_string(info.step))
      << "the fixture was made from other weights than weights/" << name << ".safetensors (step "
      << info.step << "): rerun " << kTwinScript;
  auto want = torch.tensors.find(entry);
  ASSERT_TRUE(want != torch.tensors.end()) << "no " << entry << " in the fixture: rerun " << kTwinScript;
  ASSERT_EQ(shape_str(got.shape()), shape_str(want->second.shape()));
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = got.data()[i], w = want->second.data()[i];
    ASSERT_LE(std::fabs(g - w), 1e-4f + 1e-4f * std::fabs(w))
        << "element " << i << ": hundun " << g << ", PyTorch " << w;
  }
}

TEST_F(ShippedWeights, SameOutputsAsThePyTorchTwins) {
  REQUIRE_DATA();
  const std::string fixture = test::fixture_path("shipped_weights_torch.safetensors");
  if (!std::filesystem::exists(fixture)) GTEST_FAIL() << "missing fixture " << fixture << ": run " << kTwinScript;
  const TensorFile torch = load_safetensors(fixture);
  const Tensor x = test_images(kTwinImages);  // [16, 1, 28, 28]
  NoGradGuard no_grad;

  CheckpointInfo info = open("classifier");
  if (info.metadata.empty()) return;
  std::shared_ptr<ImageClassifier> classifier = make_classifier(metadata(info, "model"));
  load_checkpoint(shipped("classifier"), *classifier);
  classifier->eval();  // BatchNorm with its running statistics, as PyTorch's module.eval()
  expect_same_as_torch(torch, "classifier", "classifier.logits", info, classifier->forward(Variable(x)).data());

  info = open("ae");
  if (info.metadata.empty()) return;
  AutoencoderOptions ae_options;
  ae_options.latent_dim = std::stoll(metadata(info, "latent_dim"));
  ae_options.hidden = std::stoll(metadata(info, "hidden"));
  Autoencoder ae(ae_options);
  load_checkpoint(shipped("ae"), ae);
  expect_same_as_torch(torch, "ae", "ae.reconstruction", info, ae.reconstruct(x));

  for (const std::string name : {"vae", "vae2d"}) {
    info = open(name);
    if (info.metadata.empty()) return;
    VaeOptions o;
    o.latent_dim = std::stoll(metadata(info, "latent_dim"));
    o.hidden = std::stoll(metadata(info, "hidden"));
    VAE vae(o);
    load_checkpoint(shipped(name), vae);
    expect_same_as_torch(torch, name, name + ".decoded_mu", info, vae.decode_images(vae.encode(Variable(x)).mu.data()));
  }

  for (const std::string name : {"gan", "cgan"}) {
    info = open(name);
    if (info.metadata.empty()) return;
    const std::shared_ptr<gan::GAN> model = gan::load_gan(shipped(name));  // in eval mode
    ASSERT_TRUE(torch.tensors.count("gan.z")) << "rerun " << kTwinScript;
    expect_same_as_torch(torch, name, name + ".generated", info, model->decode_images(torch.tensors.at("gan.z")));
    Tensor labels({kTwinImages});  // the classes in turn, as the script gives them
    for (int64_t i = 0; i < kTwinImages; ++i) labels.data()[i] = static_cast<float>(i % 10);
    const Variable d = model->discriminator->forward(Variable(to_minus_one_one(x)),
                                                     model->num_classes() > 0 ? labels : Tensor());
    expect_same_as_torch(torch, name, name + ".d_logits", info, d.data());
  }
}

}  // namespace hd
