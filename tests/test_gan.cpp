// models/gan.h: DCGAN's shapes and its PyTorch twin's weights, the five losses' steps, WGAN-GP's penalised
// critic step against PyTorch (tests/fixtures/gan.safetensors, from tests/reference/make_gan_fixture.py),
// checkpoints and an exact resume, and the messages for wrong inputs and impossible files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "fixtures.h"
#include "models/gan.h"
#include "nn/checkpoint.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// The tiny GAN of the fixture: latent 5, features 3, 1 x 8 x 8 images.
static gan::GanOptions tiny(gan::GanLoss loss) {
  gan::GanOptions o;
  o.latent_dim = 5;
  o.features = 3;
  o.image = {1, 8, 8};
  o.loss = loss;
  return o;
}

static Tensor real_batch(int64_t n, uint64_t seed) {
  Generator rng(seed);
  Tensor x = rand({n, 1, 8, 8}, rng);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 2.f * x.data()[i] - 1.f;
  return x;
}

static bool same(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, t] : a)
    if (!b.count(key) || t.tolist() != b.at(key).tolist()) return false;
  return true;
}

// A copy of the parameters (not BatchNorm's running statistics, which every training-mode forward moves).
static std::map<std::string, Tensor> snapshot(const Module& m) {
  std::map<std::string, Tensor> copy;
  for (const auto& [name, p] : m.named_parameters()) copy[name] = p.data().clone();
  return copy;
}

static float max_abs_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float worst = 0.f;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]));
  return worst;
}

static const TensorFile& gan_fixture() {
  static const TensorFile file = load_safetensors(test::fixture_path("gan.safetensors"));
  return file;
}

TEST(GAN, Dcgan28MakesImagesAndLogitsOfTheRightShape) {
  Generator rng(0);
  gan::GAN model({}, rng);
  const Variable images = (*model.generator)(Variable(randn({3, 100}, rng)));
  EXPECT_EQ(images.shape(), (Shape{3, 1, 28, 28}));
  for (int64_t i = 0; i < images.numel(); ++i) ASSERT_LE(std::fabs(images.data().data()[i]), 1.f);  // tanh
  EXPECT_EQ((*model.discriminator)(images).shape(), (Shape{3, 1}));
  EXPECT_EQ(model.discriminator->conv2->out_channels, 128);
  EXPECT_EQ(model.generator->fc->out_features, 128 * 7 * 7);
  model.eval();
  const Tensor samples = model.sample(4, rng);  // pixels in [0, 1]
  EXPECT_EQ(samples.shape(), (Shape{4, 1, 28, 28}));
  for (int64_t i = 0; i < samples.numel(); ++i) ASSERT_TRUE(samples.data()[i] >= 0.f && samples.data()[i] <= 1.f);
}

TEST(GAN, ImageSizeChannelsAndLatentSizeAreOptions) {
  gan::GanOptions o;
  o.latent_dim = 16;
  o.features = 8;
  o.image = {3, 32, 32};
  Generator rng(0);
  gan::GAN model(o, rng);
  const Variable images = (*model.generator)(Variable(randn({2, 16}, rng)));
  EXPECT_EQ(images.shape(), (Shape{2, 3, 32, 32}));
  EXPECT_EQ((*model.discriminator)(images).shape(), (Shape{2, 1}));
}

TEST(GAN, WrongShapesAreRefusedNamingWhatWasExpected) {
  Generator rng(0);
  gan::GAN model({}, rng);
  std::string e = error_of([&] { (*model.discriminator)(Variable(Tensor::zeros({2, 1, 27, 27}))); });
  EXPECT_NE(e.find("expected images [B, 1, 28, 28]"), std::string::npos) << e;
  e = error_of([&] { (*model.generator)(Variable(Tensor::zeros({2, 99}))); });
  EXPECT_NE(e.find("expected latents [B, 100]"), std::string::npos) << e;
  gan::GanOptions odd;
  odd.image = {1, 30, 30};
  e = error_of([&] { gan::GAN bad(odd, rng); });
  EXPECT_NE(e.find("multiples of 4"), std::string::npos) << e;
  EXPECT_NE(e.find("1x30x30"), std::string::npos) << e;
  Adam adam_d(model.discriminator->parameters()), adam_g(model.generator->parameters());
  e = error_of([&] { gan::train_step(model, adam_d, adam_g, Tensor::zeros({4, 1, 8, 8}), rng); });
  EXPECT_NE(e.find("expected images [B, 1, 28, 28]"), std::string::npos) << e;
  EXPECT_THROW(gan::loss_from_name("wasserstein"), std::invalid_argument);
}

// The same seed gives PyTorch's starting weights: the layers, their order and their names are the twin's.
TEST(GAN, StartsFromTheTwinsWeightsUnderTheTwinsNames) {
  Generator rng(0);
  gan::GAN model(tiny(gan::GanLoss::WassersteinGP), rng);
  const auto& t = gan_fixture().tensors;
  size_t in_fixture = 0;
  for (const auto& [name, tensor] : t) in_fixture += name.rfind("state.", 0) == 0;
  const auto state = model.state_dict();
  EXPECT_EQ(state.size(), in_fixture);
  for (const auto& [name, tensor] : state) {
    ASSERT_TRUE(t.count("state." + name)) << name << " is not in the PyTorch twin's state_dict";
    EXPECT_LE(max_abs_difference(tensor, t.at("state." + name)), 1e-7f) << name;
  }
  EXPECT_FALSE(model.discriminator->bn2) << "the WGAN-GP critic has no BatchNorm";
}

// The penalty differentiates the critic's gradient (create_graph through conv, leaky_relu, linear): loss and
// every critic gradient as PyTorch computes them.
TEST(GAN, WganGpPenalisedCriticStepHasPytorchsGradients) {
  const auto& t = gan_fixture().tensors;
  Generator rng(0);
  gan::GAN model(tiny(gan::GanLoss::WassersteinGP), rng);
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : model.state_dict()) state[name] = t.at("state." + name).clone();
  model.load_state_dict(state);
  model.train();
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = (*model.generator)(Variable(t.at("z"))).data();
  }
  EXPECT_LE(max_abs_difference(fake, t.at("fake")), 1e-5f);
  gan::Discriminator& D = *model.discriminator;
  const Tensor& x = t.at("x");
  const Variable penalty = gan::gradient_penalty(D, x, t.at("fake"), t.at("eps"), 10.f);
  const Variable loss_d =
      gan::discriminator_loss(gan::GanLoss::WassersteinGP, D(Variable(x)), D(Variable(t.at("fake")))) + penalty;
  EXPECT_NEAR(penalty.item(), t.at("penalty").item(), 1e-4 * std::max(1.f, std::fabs(t.at("penalty").item())));
  EXPECT_NEAR(loss_d.item(), t.at("loss_d").item(), 1e-4 * std::max(1.f, std::fabs(t.at("loss_d").item())));
  loss_d.backward();
  for (const auto& [name, p] : D.named_parameters()) {
    const Tensor& expected = t.at("grad.discriminator." + name);
    float scale = 0.f;
    for (int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::fabs(expected.data()[i]));
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LE(max_abs_difference(p.grad().data(), expected), 1e-4f * std::max(1.f, scale)) << name;
  }
}

// Goodfellow et al.'s reason for the non-saturating loss: while D confidently rejects a fake (logit -8), the
// minimax loss log(1 - D(G(z))) gives G almost no gradient, -log D(G(z)) a full one.
TEST(GAN, MinimaxGeneratorLossSaturatesWhereNonSaturatingDoesNot) {
  auto slope = [](gan::GanLoss loss) {
    Variable d_fake(Tensor::full({1, 1}, -8.f), true);
    gan::generator_loss(loss, d_fake).backward();
    return std::fabs(d_fake.grad().item());
  };
  EXPECT_LT(slope(gan::GanLoss::Minimax), 1e-3f);
  EXPECT_GT(slope(gan::GanLoss::NonSaturating), 0.99f);
}

// One step of each loss: finite losses; D's step lowers D's loss on the same real and fake batch; G changes only
// on a generator step (WGAN-GP: every 5th), and then its loss through the updated D goes down.
TEST(GAN, EachLossStepIsFiniteAndMovesWhatItShould) {
  for (gan::GanLoss loss : {gan::GanLoss::Minimax, gan::GanLoss::NonSaturating, gan::GanLoss::LeastSquares,
                            gan::GanLoss::Hinge, gan::GanLoss::WassersteinGP}) {
    SCOPED_TRACE(gan::loss_name(loss));
    Generator init(1), rng(2);
    gan::GAN model(tiny(loss), init);
    model.train();
    Adam adam_d(model.discriminator->parameters(), 2e-3f, 0.5f, 0.999f);
    Adam adam_g(model.generator->parameters(), 2e-3f, 0.5f, 0.999f);
    const Tensor x = real_batch(16, 3);
    for (int step = 1; step <= model.options.n_critic(); ++step) {
      const auto g_before = snapshot(*model.generator);
      const auto d_before = snapshot(*model.discriminator);
      Generator replay = rng;  // the same z as the step draws
      const Tensor z = randn({16, 5}, replay);
      gan::AdversarialLosses l = gan::train_step(model, adam_d, adam_g, x, rng);
      ASSERT_TRUE(std::isfinite(l.discriminator) && std::isfinite(l.generator));
      EXPECT_FALSE(same(d_before, snapshot(*model.discriminator)));
      EXPECT_EQ(l.generator_stepped, step == model.options.n_critic());
      EXPECT_EQ(!same(g_before, snapshot(*model.generator)), l.generator_stepped);
      if (!l.generator_stepped) continue;
      // G's loss on the same z through the (unchanged since) D: lower after G's step
      const Variable after = gan::generator_loss(loss, (*model.discriminator)((*model.generator)(Variable(z))));
      EXPECT_LT(after.item(), l.generator);
    }
    // D's own loss on fixed batches goes down when only D steps (BatchNorm: batch statistics, deterministic)
    Generator fixed(4);
    const Tensor fake = [&] {
      NoGradGuard no_grad;
      return (*model.generator)(Variable(randn({16, 5}, fixed))).data();
    }();
    auto loss_d = [&] {
      return gan::discriminator_loss(loss, (*model.discriminator)(Variable(x)), (*model.discriminator)(Variable(fake)));
    };
    const double before = loss_d().item();
    Variable l = loss_d();
    adam_d.zero_grad();
    l.backward();
    adam_d.step();
    EXPECT_LT(loss_d().item(), before);
  }
}

// Two networks, two Adams and the noise stream as named CheckpointParts: saved after 3 steps and resumed, the
// run goes on bit for bit; load_gan reads the same file back for sampling.
TEST(GAN, CheckpointRoundTripsAndResumeIsBitIdentical) {
  char name[] = "/tmp/hundun_gan_XXXXXX";
  ASSERT_TRUE(mkdtemp(name));
  const std::string path = std::string(name) + "/gan.safetensors";
  struct Run {
    Generator rng;
    gan::GAN model;
    Adam adam_d, adam_g;
    explicit Run(uint64_t seed)
        : rng(seed), model(tiny(gan::GanLoss::NonSaturating), rng),
          adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f),
          adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f) {}
    CheckpointParts parts() {
      CheckpointParts p;
      p.modules = {{"generator", model.generator.get()}, {"discriminator", model.discriminator.get()}};
      p.optimizers = {{"generator", &adam_g}, {"discriminator", &adam_d}};
      p.random_stream = &rng;
      return p;
    }
    void steps(int n) {
      for (int i = 0; i < n; ++i) gan::train_step(model, adam_d, adam_g, real_batch(8, 10 + adam_d.steps_taken()), rng);
    }
  };
  Run unbroken(7);
  unbroken.steps(3);
  CheckpointInfo info;
  info.step = 3;
  info.metadata = unbroken.model.metadata();
  save_checkpoint(path, unbroken.parts(), info);
  unbroken.steps(3);

  Run resumed(99);  // other weights and stream: everything comes from the file
  EXPECT_EQ(load_checkpoint(path, resumed.parts()).step, 3);
  resumed.steps(3);
  EXPECT_TRUE(same(resumed.model.state_dict(), unbroken.model.state_dict()));
  EXPECT_TRUE(same(resumed.adam_d.state_dict(), unbroken.adam_d.state_dict()));
  EXPECT_TRUE(same(resumed.adam_g.state_dict(), unbroken.adam_g.state_dict()));
  EXPECT_EQ(resumed.rng.get_state(), unbroken.rng.get_state());

  std::shared_ptr<gan::GAN> loaded = gan::load_gan(path);
  EXPECT_FALSE(loaded->is_training());
  EXPECT_EQ(loaded->describe(), "DCGAN(latent_dim=5, features=3, image=1x8x8, loss=ns)");
  Run at_three(7);
  at_three.steps(3);
  at_three.model.eval();
  Generator a(5), b(5);
  EXPECT_EQ(loaded->sample(4, a).tolist(), at_three.model.sample(4, b).tolist());
  std::filesystem::remove_all(name);
}

TEST(GAN, FromMetadataRefusesImpossibleSizesNamingTheFile) {
  auto error_for = [](std::map<std::string, std::string> changes) {
    std::map<std::string, std::string> m = gan::GanOptions{}.to_metadata();
    for (const auto& [k, v] : changes) m[k] = v;
    return error_of([&] { gan::GanOptions::from_metadata(Metadata(m, "bad.safetensors")); });
  };
  std::string e = error_for({{"image_shape", "1,30,30"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'image_shape' 1x30x30"), std::string::npos) << e;
  EXPECT_NE(e.find("multiples of 4"), std::string::npos) << e;
  e = error_for({{"latent_dim", "0"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'latent_dim' should be an integer in [1, 4096]"), std::string::npos) << e;
  e = error_for({{"features", "100000"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'features'"), std::string::npos) << e;
  e = error_for({{"loss", "wasserstein"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'loss' should be one of"), std::string::npos) << e;
  EXPECT_EQ(error_for({}), "(no exception)");

  // A file whose metadata disagrees with its own tensors is refused before anything is built.
  char name[] = "/tmp/hundun_gan_XXXXXX";
  ASSERT_TRUE(mkdtemp(name));
  const std::string path = std::string(name) + "/gan.safetensors";
  Generator rng(0);
  gan::GAN model(tiny(gan::GanLoss::NonSaturating), rng);
  CheckpointParts parts;
  parts.modules = {{"generator", model.generator.get()}, {"discriminator", model.discriminator.get()}};
  CheckpointInfo info;
  info.metadata = model.metadata();
  info.metadata["latent_dim"] = "4000";
  save_checkpoint(path, parts, info);
  e = error_of([&] { gan::load_gan(path); });
  EXPECT_NE(e.find(path + ": its metadata implies 'model.generator.fc.weight' of shape [24, 4000]"), std::string::npos) << e;
  std::filesystem::remove_all(name);
}


// One whole step of Algorithm 1 (D step, then G step, both Adams) with the switches on, against the twin's
// train_step: the losses, every gradient left after the step and every parameter after it. The same seeds give
// the same weights, and Generator(1) the same z as torch.manual_seed(1).
static void expect_twins_step(const std::string& prefix, const gan::GanOptions& options) {
  const auto& t = gan_fixture().tensors;
  Generator rng(0);
  gan::GAN model(options, rng);
  model.train();
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  Generator step_rng(1);
  const Tensor labels = options.num_classes > 0 ? t.at(prefix + ".y") : Tensor();
  const gan::AdversarialLosses l = gan::train_step(model, adam_d, adam_g, t.at(prefix + ".x"), step_rng, labels);
  EXPECT_NEAR(l.discriminator, t.at(prefix + ".loss_d").item(), 1e-4);
  EXPECT_NEAR(l.generator, t.at(prefix + ".loss_g").item(), 1e-4);
  size_t compared = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(t.count(prefix + ".grad." + name)) << name << " is not among the twin's parameters";
    const Tensor& expected = t.at(prefix + ".grad." + name);
    float scale = 0.f;
    for (int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::fabs(expected.data()[i]));
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LE(max_abs_difference(p.grad().data(), expected), 1e-4f * std::max(1.f, scale)) << prefix << " " << name;
    // A bias right before BatchNorm has a gradient of rounding noise only (the norm removes any shift), which
    // Adam's first step turns into +-lr either way: its value after the step is not comparable.
    if (scale > 1e-5f) {
      EXPECT_LE(max_abs_difference(p.data(), t.at(prefix + ".after." + name)), 1e-6f) << prefix << " " << name;
    }
    ++compared;
  }
  EXPECT_GE(compared, 10u);
}

// conditional (one-hot into G, label planes into D), the minibatch-std plane, and R1 through BatchNorm
TEST(GAN, ConditionalMinibatchStdR1StepIsThePyTorchTwinsStep) {
  gan::GanOptions o = tiny(gan::GanLoss::NonSaturating);
  o.num_classes = 3;
  o.minibatch_std = true;
  o.r1_gamma = 1.f;
  expect_twins_step("cond", o);
}

// PacGAN with m = 2 on a batch of 7: cut to 6, D sees 3 packs
TEST(GAN, PackedStepIsThePyTorchTwinsStep) {
  gan::GanOptions o = tiny(gan::GanLoss::LeastSquares);
  o.pack = 2;
  expect_twins_step("pack", o);
}

TEST(GAN, ConditionalSamplesAskForOneClassAndRefuseOthers) {
  gan::GanOptions o = tiny(gan::GanLoss::NonSaturating);
  o.num_classes = 10;
  Generator rng(0);
  gan::GAN model(o, rng);
  model.eval();
  EXPECT_EQ(model.num_classes(), 10);
  Generator a(3), b(3);
  const Tensor sevens = model.sample_class(5, 7, a);
  EXPECT_EQ(sevens.shape(), (Shape{5, 1, 8, 8}));
  // the same z with the label planes of class 7 given by hand: the same images
  const Tensor z = randn({5, 5}, b);
  EXPECT_EQ(model.decode_class_images(z, Tensor::full({5}, 7.f)).tolist(), sevens.tolist());
  EXPECT_NE(model.decode_class_images(z, Tensor::full({5}, 2.f)).tolist(), sevens.tolist()) << "the class is ignored";
  EXPECT_NE(error_of([&] { model.sample_class(2, 10, a); }).find("class 10 is outside 0..9"), std::string::npos);
  EXPECT_NE(error_of([&] { model.sample_class(2, -1, a); }).find("outside 0..9"), std::string::npos);
  EXPECT_NE(error_of([&] { model.decode_class_images(z, Tensor::full({5}, 2.5f)); }).find("not one of 0..9"),
            std::string::npos);
  EXPECT_NE(error_of([&] { model.decode_class_images(z, Tensor()); }).find("one class label per image"),
            std::string::npos);
  gan::GAN plain(tiny(gan::GanLoss::NonSaturating), rng);
  EXPECT_EQ(plain.num_classes(), 0);
  EXPECT_NE(error_of([&] { plain.sample_class(2, 1, a); }).find("unconditional"), std::string::npos);
  gan::GanOptions both = o;
  both.pack = 2;
  EXPECT_NE(error_of([&] { gan::GAN g(both, rng); }).find("pack"), std::string::npos);
}

TEST(GAN, PackRefusesABatchItCannotPack) {
  gan::GanOptions o = tiny(gan::GanLoss::NonSaturating);
  o.pack = 4;
  Generator rng(0);
  gan::GAN model(o, rng);
  EXPECT_NE(error_of([&] { (*model.discriminator)(Variable(real_batch(6, 1))); }).find("multiple of 4"),
            std::string::npos);
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  EXPECT_NE(error_of([&] { gan::train_step(model, adam_d, adam_g, real_batch(3, 1), rng); }).find("at least 4"),
            std::string::npos);
}

// Karras et al.'s plane: a batch of identical images has standard deviation 0 (sqrt of the 1e-8 floor), a varied
// one a clearly larger value.
TEST(GAN, MinibatchStdPlaneIsSmallForACollapsedBatch) {
  Tensor same_images({4, 2, 3, 3});
  for (int64_t i = 0; i < same_images.numel(); ++i) same_images.data()[i] = static_cast<float>(i % 18) * 0.1f;
  const Tensor collapsed = gan::minibatch_std(Variable(same_images)).data();
  const Tensor varied = gan::minibatch_std(Variable(real_batch(4, 2).reshape({4, 2, 4, 8}))).data();
  EXPECT_EQ(collapsed.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_NEAR(collapsed.data()[2 * 9], 1e-4f, 1e-6f);  // sqrt(0 + 1e-8)
  EXPECT_GT(varied.data()[2 * 32], 0.3f);               // uniform [-1, 1]: std about 0.58
}
}  // namespace hd
