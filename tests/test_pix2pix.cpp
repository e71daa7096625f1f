// models/pix2pix.h: the U-Net's and the PatchGAN's shapes, one whole step against the PyTorch twin
// (tests/fixtures/pix2pix.safetensors, from tests/reference/make_pix2pix_fixture.py), the L1-only baseline, the
// masked composite, checkpoints, and the messages for wrong shapes and options.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "error_of.h"
#include "fixtures.h"
#include "models/pix2pix.h"
#include "nn/checkpoint.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"

namespace hd {

using test::error_of;  // tests/error_of.h

static const TensorFile& pix2pix_fixture() {
  static const TensorFile file = load_safetensors(test::fixture_path("pix2pix.safetensors"));
  return file;
}

// The fixture's two cases: "gan" (adversarial, with a mask, width 8, 28 x 28) and "l1" (the baseline, width 4, 12 x 12).
static pix2pix::Pix2PixOptions fixture_options(const std::string& prefix) {
  pix2pix::Pix2PixOptions o;
  o.adversarial = prefix == "gan";
  o.with_mask = prefix == "gan";
  o.base_width = prefix == "gan" ? 8 : 4;
  o.image = prefix == "gan" ? ImageShape{1, 28, 28} : ImageShape{1, 12, 12};
  return o;
}

static float max_abs_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float worst = 0.f;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]));
  return worst;
}

static float max_abs(const Tensor& t) {
  float m = 0.f;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data()[i]));
  return m;
}

static bool same(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, t] : a)
    if (!b.count(key) || t.tolist() != b.at(key).tolist()) return false;
  return true;
}

static std::map<std::string, Tensor> copy_of(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> copy;
  for (const auto& [name, t] : state) copy[name] = t.clone();
  return copy;
}

// A centre hole in random images: (x = [image with the hole at 0, mask], clean image, mask).
struct Holes {
  Tensor x, clean, damaged, mask;
};
static Holes holes(int64_t n, uint64_t seed, const ImageShape& s = {}) {
  Generator rng(seed);
  Holes h;
  h.clean = rand({n, s.channels, s.height, s.width}, rng);
  h.mask = Tensor::zeros({n, 1, s.height, s.width});
  h.damaged = h.clean.clone();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = s.height / 4; i < 3 * s.height / 4; ++i)
      for (int64_t j = s.width / 4; j < 3 * s.width / 4; ++j) {
        h.mask.data()[(b * s.height + i) * s.width + j] = 1.f;
        for (int64_t c = 0; c < s.channels; ++c)
          h.damaged.data()[((b * s.channels + c) * s.height + i) * s.width + j] = 0.f;
      }
  pix2pix::Pix2PixOptions o;
  o.image = s;
  o.with_mask = true;
  h.x = pix2pix::generator_input(o, h.damaged, h.mask);
  return h;
}

TEST(Pix2Pix, UNetAndPatchGanHaveTheRightShapesFor28x28) {
  Generator rng(0);
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  pix2pix::Pix2Pix model(o, rng);
  const Holes h = holes(3, 1);
  EXPECT_EQ(h.x.shape(), (Shape{3, 2, 28, 28}));
  const Variable fake = (*model.generator)(Variable(h.x));
  EXPECT_EQ(fake.shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ((*model.discriminator)(Variable(h.x), fake).shape(), (Shape{3, 1, 7, 7})) << "one logit per patch";
  EXPECT_EQ(model.generator->up2->in_channels, 4 * 32) << "the decoder reads the bottleneck and the skip";
  EXPECT_EQ(model.discriminator->conv1->in_channels, 3) << "D reads the pair: image, mask, candidate";
  EXPECT_FALSE(model.generator->enc2->bias.defined()) << "no bias before BatchNorm";
}

TEST(Pix2Pix, OtherImageShapesDivisibleByFourWork) {
  pix2pix::Pix2PixOptions o;
  o.image = {3, 16, 20};
  o.base_width = 4;
  Generator rng(0);
  pix2pix::Pix2Pix model(o, rng);
  const Tensor x = rand({2, 3, 16, 20}, rng);
  const Variable fake = (*model.generator)(Variable(x));
  EXPECT_EQ(fake.shape(), (Shape{2, 3, 16, 20}));
  EXPECT_EQ((*model.discriminator)(Variable(x), fake).shape(), (Shape{2, 1, 4, 5}));
}

TEST(Pix2Pix, RepairGivesImagesInZeroOneWithoutChangingTheMode) {
  Generator rng(0);
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  o.base_width = 8;
  pix2pix::Pix2Pix model(o, rng);
  model.train();
  const Holes h = holes(4, 2);
  const Tensor out = model.repair(h.x);
  EXPECT_EQ(out.shape(), (Shape{4, 1, 28, 28}));
  for (int64_t i = 0; i < out.numel(); ++i) ASSERT_TRUE(out.data()[i] >= 0.f && out.data()[i] <= 1.f) << i;
  EXPECT_TRUE(model.is_training()) << "repair restores the training mode";
  // evaluation mode: each image's repair is its own, whatever else is in the batch
  const Tensor first = model.repair(h.x.narrow0(0, 1));
  EXPECT_LE(max_abs_difference(first, out.narrow0(0, 1)), 1e-6f);
}

TEST(Pix2Pix, CompositeKeepsTheKnownPixelsExactly) {
  Generator rng(0);
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  o.base_width = 8;
  pix2pix::Pix2Pix model(o, rng);
  const Holes h = holes(2, 3);
  const Tensor repaired = model.repair(h.x), out = model.inpaint(h.damaged, h.mask);
  int64_t kept = 0, filled = 0;
  for (int64_t i = 0; i < out.numel(); ++i) {
    if (h.mask.data()[i] == 0.f) {
      ASSERT_EQ(out.data()[i], h.damaged.data()[i]) << i;  // bit for bit
      ++kept;
    } else {
      ASSERT_EQ(out.data()[i], repaired.data()[i]) << i;
      ++filled;
    }
  }
  EXPECT_EQ(filled, 2 * 14 * 14);
  EXPECT_EQ(kept, 2 * 28 * 28 - filled);
  // a soft mask mixes: m G + (1 - m) x
  const Tensor half = Tensor::full({2, 1, 28, 28}, 0.5f);
  const Tensor mixed = pix2pix::keep_known_pixels(repaired, h.damaged, half);
  EXPECT_FLOAT_EQ(mixed.data()[5], 0.5f * repaired.data()[5] + 0.5f * h.damaged.data()[5]);
  std::string e = error_of([&] { pix2pix::keep_known_pixels(repaired, h.damaged, Tensor::zeros({2, 1, 14, 14})); });
  EXPECT_NE(e.find("keep_known_pixels: expected a mask [2, 1, 28, 28]"), std::string::npos) << e;
}

// The same seed gives PyTorch's starting weights: the layers, their order and their names are the twin's.
TEST(Pix2Pix, StartsFromTheTwinsWeightsUnderTheTwinsNames) {
  for (const std::string prefix : {"gan", "l1"}) {
    const auto& t = pix2pix_fixture().tensors;
    Generator rng(0);
    pix2pix::Pix2Pix model(fixture_options(prefix), rng);
    size_t compared = 0;
    for (const auto& [name, tensor] : model.state_dict()) {
      const std::string key = prefix + ".init." + name;
      if (prefix == "l1" && name.rfind("generator.", 0) != 0) continue;  // the baseline's D is not in the file
      ASSERT_TRUE(t.count(key)) << name << " is not in the PyTorch twin's state_dict";
      EXPECT_LE(max_abs_difference(tensor, t.at(key)), 1e-7f) << name;
      ++compared;
    }
    size_t in_fixture = 0;
    for (const auto& [name, tensor] : t) in_fixture += name.rfind(prefix + ".init.", 0) == 0;
    EXPECT_EQ(compared, in_fixture) << prefix;
  }
}

// One whole step (G(x) once, D step, G step through the updated D, both Adams) against the twin's train_step: the
// losses, every gradient left after the step, and every parameter and BatchNorm statistic after it.
static void expect_twins_step(const std::string& prefix) {
  const auto& t = pix2pix_fixture().tensors;
  Generator rng(0);
  pix2pix::Pix2Pix model(fixture_options(prefix), rng);
  model.train();
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  const Tensor& x = t.at(prefix + ".x");
  {
    NoGradGuard no_grad;  // G(x) as the step sees it; a copy of G keeps this forward's statistics out of the step
    Generator again(0);
    pix2pix::Pix2Pix copy(fixture_options(prefix), again);
    copy.train();
    const float d = max_abs_difference((*copy.generator)(Variable(x)).data(), t.at(prefix + ".fake"));
    EXPECT_LE(d, 1e-5f) << prefix << " G(x)";
    std::cout << "[ pix2pix " << prefix << " ] max |G(x) - torch| = " << d << "\n";
  }
  const pix2pix::Pix2PixLosses l = pix2pix::train_step(model, adam_d, adam_g, x, t.at(prefix + ".y"));
  EXPECT_NEAR(l.generator, t.at(prefix + ".loss_g").item(), 1e-4 * std::max(1.f, std::fabs(t.at(prefix + ".loss_g").item())));
  EXPECT_NEAR(l.l1, t.at(prefix + ".l1").item(), 1e-5);
  EXPECT_EQ(l.discriminator_stepped, model.options.adversarial);
  if (model.options.adversarial) {
    EXPECT_NEAR(l.discriminator, t.at(prefix + ".loss_d").item(), 1e-5);
    EXPECT_NEAR(l.adversarial, t.at(prefix + ".adversarial").item(), 1e-5);
  }
  float worst_grad = 0.f, worst_after = 0.f;
  size_t compared = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    const std::string key = prefix + ".grad." + name;
    if (!t.count(key)) {  // the baseline's D: no gradient in the twin, none here
      EXPECT_FALSE(p.grad().defined()) << prefix << " " << name;
      continue;
    }
    const Tensor& expected = t.at(key);
    ASSERT_TRUE(p.grad().defined()) << prefix << " " << name;
    const float g = max_abs_difference(p.grad().data(), expected) / std::max(1.f, max_abs(expected));
    EXPECT_LE(g, 1e-4f) << prefix << " grad " << name;
    worst_grad = std::max(worst_grad, g);
    ++compared;
  }
  for (const auto& [name, tensor] : model.state_dict()) {
    const std::string key = prefix + ".after." + name;
    if (!t.count(key)) continue;
    const float d = max_abs_difference(tensor, t.at(key));
    EXPECT_LE(d, 1e-5f) << prefix << " after " << name;  // Adam's first step moves each weight by about lr = 2e-4
    worst_after = std::max(worst_after, d);
  }
  EXPECT_GE(compared, 6u);
  std::cout << "[ pix2pix " << prefix << " ] |L_G - torch| = " << std::fabs(l.generator - t.at(prefix + ".loss_g").item())
            << ", |L_D - torch| = "
            << (model.options.adversarial ? std::fabs(l.discriminator - t.at(prefix + ".loss_d").item()) : 0.0)
            << ", |l1 - torch| = " << std::fabs(l.l1 - t.at(prefix + ".l1").item()) << "\n";
  std::cout << "[ pix2pix " << prefix << " ] max |grad - torch| / max(1, |torch|) = " << worst_grad
            << ", max |after - torch| = " << worst_after << "\n";
}

TEST(Pix2Pix, AdversarialStepWithMaskIsThePyTorchTwinsStep) { expect_twins_step("gan"); }
TEST(Pix2Pix, L1OnlyStepIsThePyTorchTwinsStep) { expect_twins_step("l1"); }

// The baseline trains G on lambda L1 alone: D is never run (its BatchNorm statistics do not move), never stepped.
TEST(Pix2Pix, L1OnlyModeNeverTouchesTheDiscriminator) {
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  o.base_width = 8;
  o.adversarial = false;
  Generator rng(0);
  pix2pix::Pix2Pix model(o, rng);
  model.train();
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  const auto d_before = copy_of(model.discriminator->state_dict());
  const auto g_before = copy_of(model.generator->state_dict());
  const Holes h = holes(4, 5);
  double first = 0;
  for (int step = 0; step < 3; ++step) {
    const pix2pix::Pix2PixLosses l = pix2pix::train_step(model, adam_d, adam_g, h.x, h.clean);
    EXPECT_FALSE(l.discriminator_stepped);
    EXPECT_EQ(l.discriminator, 0.0);
    EXPECT_NEAR(l.generator, 100.0 * l.l1, 1e-3 * l.generator);
    if (step == 0) first = l.l1;
    else EXPECT_LT(l.l1, first);
  }
  EXPECT_TRUE(same(d_before, model.discriminator->state_dict()));
  EXPECT_FALSE(same(g_before, model.generator->state_dict()));
  EXPECT_EQ(adam_d.steps_taken(), 0);
  for (const Variable& p : model.discriminator->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Pix2Pix, AdversarialStepMovesBothNetworks) {
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  o.base_width = 8;
  Generator rng(0);
  pix2pix::Pix2Pix model(o, rng);
  model.train();
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  const auto d_before = copy_of(model.discriminator->state_dict());
  const Holes h = holes(4, 6);
  const pix2pix::Pix2PixLosses l = pix2pix::train_step(model, adam_d, adam_g, h.x, h.clean);
  EXPECT_TRUE(l.discriminator_stepped);
  EXPECT_TRUE(std::isfinite(l.discriminator) && std::isfinite(l.generator));
  EXPECT_NEAR(l.generator, l.adversarial + 100.0 * l.l1, 1e-3 * l.generator);
  EXPECT_FALSE(same(d_before, model.discriminator->state_dict()));
  EXPECT_EQ(adam_d.steps_taken(), 1);
  EXPECT_EQ(adam_g.steps_taken(), 1);
}

TEST(Pix2Pix, DropoutIsASwitchThatAddsNoParameters) {
  pix2pix::Pix2PixOptions o;
  o.base_width = 4;
  o.image = {1, 8, 8};
  Generator a(0), b(0);
  pix2pix::Pix2Pix plain(o, a);
  o.dropout = 0.5f;
  pix2pix::Pix2Pix noisy(o, b);
  EXPECT_TRUE(same(plain.state_dict(), noisy.state_dict()));
  EXPECT_FALSE(plain.generator->drop_mid);
  ASSERT_TRUE(noisy.generator->drop_mid);
  const Tensor x = Tensor::full({2, 1, 8, 8}, 0.5f);
  EXPECT_EQ(noisy.repair(x).tolist(), plain.repair(x).tolist()) << "no dropout in evaluation mode";
}

TEST(Pix2Pix, BadShapesAndOptionsAreRefusedNamingPix2pixAndWhatWasExpected) {
  Generator rng(0);
  pix2pix::Pix2PixOptions o;
  o.image = {1, 30, 30};
  std::string e = error_of([&] { pix2pix::Pix2Pix bad(o, rng); });
  EXPECT_NE(e.find("pix2pix: image 1x30x30"), std::string::npos) << e;
  EXPECT_NE(e.find("multiples of 4"), std::string::npos) << e;
  o = {};
  o.base_width = 0;
  e = error_of([&] { pix2pix::Pix2Pix bad(o, rng); });
  EXPECT_NE(e.find("pix2pix: base_width 0 should be in 1..1024"), std::string::npos) << e;
  o = {};
  o.dropout = 1.f;
  EXPECT_NE(error_of([&] { pix2pix::Pix2Pix bad(o, rng); }).find("pix2pix: dropout 1 should be in [0, 1)"),
            std::string::npos);
  o = {};
  o.lambda_l1 = -1.f;
  EXPECT_NE(error_of([&] { pix2pix::Pix2Pix bad(o, rng); }).find("pix2pix: lambda_l1 -1"), std::string::npos);

  o = {};
  o.with_mask = true;
  o.base_width = 4;
  pix2pix::Pix2Pix model(o, rng);
  e = error_of([&] { model.repair(Tensor::zeros({2, 1, 28, 28})); });
  EXPECT_NE(e.find("pix2pix::UNetGenerator"), std::string::npos) << e;
  EXPECT_NE(e.find("expected inputs (image and mask) [B, 2, 28, 28]"), std::string::npos) << e;
  e = error_of([&] { pix2pix::generator_input(o, Tensor::zeros({2, 1, 28, 28}), Tensor()); });
  EXPECT_NE(e.find("pix2pix: a model with_mask needs a mask [2, 1, 28, 28]"), std::string::npos) << e;
  e = error_of([&] { pix2pix::generator_input(o, Tensor::zeros({2, 1, 27, 27}), Tensor()); });
  EXPECT_NE(e.find("pix2pix: expected damaged images [B, 1, 28, 28]"), std::string::npos) << e;
  pix2pix::Pix2PixOptions no_mask = o;
  no_mask.with_mask = false;
  e = error_of([&] { pix2pix::generator_input(no_mask, Tensor::zeros({2, 1, 28, 28}), Tensor::zeros({2, 1, 28, 28})); });
  EXPECT_NE(e.find("without with_mask"), std::string::npos) << e;
  e = error_of([&] { (*model.discriminator)(Variable(Tensor::zeros({2, 2, 28, 28})), Variable(Tensor::zeros({3, 1, 28, 28}))); });
  EXPECT_NE(e.find("pix2pix::PatchDiscriminator"), std::string::npos) << e;
  EXPECT_NE(e.find("D judges pairs"), std::string::npos) << e;
  Adam adam_d(model.discriminator->parameters()), adam_g(model.generator->parameters());
  e = error_of([&] { pix2pix::train_step(model, adam_d, adam_g, Tensor::zeros({2, 2, 28, 28}), Tensor::zeros({2, 1, 14, 14})); });
  EXPECT_NE(e.find("expected clean images [B, 1, 28, 28]"), std::string::npos) << e;
}

// Both networks as named CheckpointParts with the options as metadata: load_pix2pix builds the same model and
// repairs bit for bit as the one saved.
TEST(Pix2Pix, CheckpointRoundTripGivesIdenticalRepairs) {
  char name[] = "/tmp/hundun_pix2pix_XXXXXX";
  ASSERT_TRUE(mkdtemp(name));
  const std::string path = std::string(name) + "/pix2pix.safetensors";
  pix2pix::Pix2PixOptions o;
  o.with_mask = true;
  o.base_width = 8;
  o.lambda_l1 = 10.f;
  o.image = {1, 16, 16};
  Generator rng(3);
  pix2pix::Pix2Pix model(o, rng);
  model.train();
  Adam adam_d(model.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  const Holes h = holes(4, 7, o.image);
  for (int i = 0; i < 2; ++i) pix2pix::train_step(model, adam_d, adam_g, h.x, h.clean);  // running statistics move
  CheckpointParts parts;
  parts.modules = {{"generator", model.generator.get()}, {"discriminator", model.discriminator.get()}};
  CheckpointInfo info;
  info.metadata = model.metadata();
  save_checkpoint(path, parts, info);

  std::shared_ptr<pix2pix::Pix2Pix> loaded = pix2pix::load_pix2pix(path);
  EXPECT_FALSE(loaded->is_training());
  EXPECT_EQ(loaded->describe(), "pix2pix(image=1x16x16, base_width=8, lambda_l1=10, with mask)");
  EXPECT_TRUE(same(loaded->state_dict(), model.state_dict()));
  EXPECT_EQ(loaded->repair(h.x).tolist(), model.repair(h.x).tolist());
  EXPECT_EQ(loaded->inpaint(h.damaged, h.mask).tolist(), model.inpaint(h.damaged, h.mask).tolist());

  // metadata that disagrees with the file's own tensors is refused before anything is built
  info.metadata["base_width"] = "900";
  save_checkpoint(path, parts, info);
  std::string e = error_of([&] { pix2pix::load_pix2pix(path); });
  EXPECT_NE(e.find(path + ": its metadata implies 'model.generator.enc1.weight' of shape [900, 2, 4, 4]"),
            std::string::npos) << e;
  // a checkpoint of another model
  info.metadata["model"] = "gan";
  save_checkpoint(path, parts, info);
  e = error_of([&] { pix2pix::load_pix2pix(path); });
  EXPECT_NE(e.find("not a 'pix2pix' model"), std::string::npos) << e;
  std::filesystem::remove_all(name);
}

TEST(Pix2Pix, FromMetadataRefusesImpossibleOptionsNamingTheFile) {
  auto error_for = [](std::map<std::string, std::string> changes) {
    std::map<std::string, std::string> m = pix2pix::Pix2PixOptions{}.to_metadata();
    for (const auto& [k, v] : changes) m[k] = v;
    return error_of([&] { pix2pix::Pix2PixOptions::from_metadata(Metadata(m, "bad.safetensors")); });
  };
  EXPECT_EQ(error_for({}), "(no exception)");
  std::string e = error_for({{"image_shape", "1,30,30"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'image_shape' 1x30x30"), std::string::npos) << e;
  e = error_for({{"base_width", "0"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'base_width' should be an integer in [1, 1024]"), std::string::npos) << e;
  e = error_for({{"lambda_l1", "-3"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'lambda_l1'"), std::string::npos) << e;
  e = error_for({{"with_mask", "yes"}});
  EXPECT_NE(e.find("bad.safetensors: metadata 'with_mask' should be one of"), std::string::npos) << e;
  const pix2pix::Pix2PixOptions back = [] {
    pix2pix::Pix2PixOptions o;
    o.with_mask = true;
    o.adversarial = false;
    o.dropout = 0.5f;
    o.lambda_l1 = 1.f;
    o.image = {1, 12, 8};
    return pix2pix::Pix2PixOptions::from_metadata(Metadata(o.to_metadata(), "ok.safetensors"));
  }();
  EXPECT_TRUE(back.with_mask);
  EXPECT_FALSE(back.adversarial);
  EXPECT_EQ(back.dropout, 0.5f);
  EXPECT_EQ(back.lambda_l1, 1.f);
  EXPECT_EQ(back.image, (ImageShape{1, 12, 8}));
}

}  // namespace hd
