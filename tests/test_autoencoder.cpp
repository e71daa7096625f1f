// models/autoencoder.h: shapes, training on a tiny synthetic set, and the messages for wrong inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include "error_of.h"
#include "models/autoencoder.h"
#include "nn/optim.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "model_file.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// n 28 x 28 images of four kinds (horizontal bar, vertical bar, square, empty frame) at random places:
// structured enough for a small network to learn within a few steps.
static Tensor toy_images(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor kinds = randint(0, 4, {n}, gen), offsets = randint(2, 14, {n, 2}, gen);
  Tensor x = Tensor::zeros({n, 1, 28, 28});
  for (int64_t i = 0; i < n; ++i) {
    const int kind = static_cast<int>(kinds.data()[i]);
    const int r0 = static_cast<int>(offsets.data()[2 * i]), c0 = static_cast<int>(offsets.data()[2 * i + 1]);
    for (int r = 0; r < 12; ++r)
      for (int c = 0; c < 12; ++c) {
        bool on = kind == 0 ? (r >= 5 && r < 8) : kind == 1 ? (c >= 5 && c < 8) : kind == 2 ? true
                                                                                             : (r == 0 || r == 11 || c == 0 || c == 11);
        if (on) x.data()[i * 784 + (r0 + r) * 28 + (c0 + c)] = 1.f;
      }
  }
  return x;
}

// Loss after `steps` Adam steps on `x` (full batch), and the loss before them.
static std::pair<float, float> train_steps(Autoencoder& model, const Tensor& x, int steps) {
  Adam optimizer(model.parameters(), 2e-3f);
  float first = 0, last = 0;
  for (int i = 0; i <= steps; ++i) {
    optimizer.zero_grad();
    Variable loss = model.loss(x);
    (i == 0 ? first : last) = loss.item();
    if (i == steps) break;
    loss.backward();
    optimizer.step();
  }
  return {first, last};
}

TEST(Autoencoder, MlpShapesAndParameterCount) {
  Generator gen(0);
  Autoencoder model({}, gen);  // 784-400-20-400-784
  EXPECT_EQ(model.num_parameters(), (784 * 400 + 400) + (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784));
  Tensor x = toy_images(3, 1);
  EXPECT_EQ(model.encode(x).shape(), (Shape{3, 20}));
  EXPECT_EQ(model.encode(x.reshape({3, 784})).shape(), (Shape{3, 20}));  // flat images work too
  EXPECT_EQ(model.forward(x).shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ(model.decode(Tensor::zeros({5, 20})).shape(), (Shape{5, 1, 28, 28}));
}

TEST(Autoencoder, ConvShapes) {
  Generator gen(0);
  Autoencoder model({.kind = AutoencoderKind::Conv, .latent_dim = 8}, gen);
  Tensor x = toy_images(2, 1);
  EXPECT_EQ(model.encode(x).shape(), (Shape{2, 8}));
  EXPECT_EQ(model.forward(x).shape(), (Shape{2, 1, 28, 28}));
  EXPECT_NE(model.print().find("ConvTranspose2d"), std::string::npos);
}

TEST(Autoencoder, ImagesArePixelProbabilities) {
  Generator gen(0);
  Autoencoder model({}, gen);
  Tensor images = model.decode_images(randn({4, 20}, gen) * 10.f);
  EXPECT_EQ(images.shape(), (Shape{4, 1, 28, 28}));
  for (float p : images.tolist()) ASSERT_TRUE(p >= 0.f && p <= 1.f) << p;
  Tensor again = model.reconstruct(toy_images(4, 2));
  EXPECT_EQ(again.shape(), (Shape{4, 1, 28, 28}));
  for (float p : again.tolist()) ASSERT_TRUE(p >= 0.f && p <= 1.f) << p;
}

TEST(Autoencoder, MlpLossDecreasesOnASmallSet) {
  Generator gen(3);
  Autoencoder model({.hidden = 64}, gen);
  auto [before, after] = train_steps(model, toy_images(32, 4), 30);
  // BCE summed over 784 pixels: ~543 (= 784 log 2) at the start for outputs near 1/2.
  EXPECT_GT(before, 400.f);
  EXPECT_LT(after, 0.6f * before) << "before " << before << ", after " << after;
}

TEST(Autoencoder, ConvLossDecreasesOnASmallSet) {
  Generator gen(5);
  Autoencoder model({.kind = AutoencoderKind::Conv, .latent_dim = 8}, gen);
  auto [before, after] = train_steps(model, toy_images(16, 6), 15);
  EXPECT_LT(after, 0.7f * before) << "before " << before << ", after " << after;
}

TEST(Autoencoder, MeanSquaredErrorVariant) {
  Generator gen(7);
  Autoencoder model({.hidden = 64, .loss = ReconstructionLoss::MeanSquaredError}, gen);
  auto [before, after] = train_steps(model, toy_images(32, 8), 30);
  EXPECT_LT(after, 0.6f * before) << "before " << before << ", after " << after;
  EXPECT_NE(model.describe().find("loss=mse"), std::string::npos);
}

TEST(Autoencoder, SameSeedSameWeights) {
  Generator g1(11), g2(11);
  Autoencoder a({}, g1), b({}, g2);
  Tensor z = Tensor::full({1, 20}, 0.5f);
  EXPECT_EQ(a.decode_images(z).tolist(), b.decode_images(z).tolist());
}

TEST(Autoencoder, WrongShapesNameTheModelAndShapes) {
  Generator gen(0);
  Autoencoder model({}, gen);
  std::string e = error_of([&] { model.encode(Tensor::zeros({3, 28})); });
  EXPECT_NE(e.find("Autoencoder(kind=mlp, latent_dim=20"), std::string::npos) << e;
  EXPECT_NE(e.find("expected images [B, 1, 28, 28] or [B, 784]"), std::string::npos) << e;
  EXPECT_NE(e.find("got [3, 28]"), std::string::npos) << e;
  e = error_of([&] { model.decode(Tensor::zeros({2, 3})); });
  EXPECT_NE(e.find("expected latents [B, 20]"), std::string::npos) << e;
  EXPECT_NE(e.find("got [2, 3]"), std::string::npos) << e;
  e = error_of([&] { model.loss(Tensor::zeros({2, 3, 28, 28})); });
  EXPECT_NE(e.find("got [2, 3, 28, 28]"), std::string::npos) << e;
}

using test::write_model_file;

// The same for the conv autoencoder, which halves the image twice.
TEST(Autoencoder, LoadingAnImageShapeTheConvArchitectureCannotHalveNamesTheFile) {
  AutoencoderOptions o;
  o.kind = AutoencoderKind::Conv;
  o.latent_dim = 2;
  o.image = {1, 3, 3};
  const std::string path =
      write_model_file("conv.safetensors", {{"encoder.0.weight", {32, 1, 4, 4}}, {"encoder.5.weight", {2, 0}}},
                       o.to_metadata());
  const std::string e = test::error_of([&] { load_autoencoder(path); });
  std::remove(path.c_str());
  EXPECT_NE(e.find(path + ": metadata 'image_shape' 1x3x3 does not fit the conv architecture"), std::string::npos)
      << e;
}

}  // namespace hd
