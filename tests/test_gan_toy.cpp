// models/gan_toy.h: the two mixtures, the papers' mode metrics on hand-made sample sets, PacGAN's packing, the
// networks' shapes, and that a few steps of the game train with each loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "error_of.h"
#include "models/gan_toy.h"
#include "tensor/random.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// n copies of one point.
static Tensor repeated(double x, double y, int64_t n) {
  Tensor t({n, 2});
  for (int64_t i = 0; i < n; ++i) t.data()[2 * i] = static_cast<float>(x), t.data()[2 * i + 1] = static_cast<float>(y);
  return t;
}

// n points cycling through the modes' exact centres: every mode hit equally often.
static Tensor at_every_centre(const gan::ToyMixture& mixture, int64_t n) {
  Tensor t({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    const auto& [x, y] = mixture.means[static_cast<size_t>(i) % mixture.means.size()];
    t.data()[2 * i] = static_cast<float>(x), t.data()[2 * i + 1] = static_cast<float>(y);
  }
  return t;
}

TEST(ToyMixtures, RingHasEightModesOnTheUnitCircleAndGridTwentyFiveTwoApart) {
  const gan::ToyMixture ring = gan::ring_mixture(), grid = gan::grid_mixture();
  ASSERT_EQ(ring.means.size(), 8u);
  EXPECT_EQ(ring.std, 0.01);
  for (const auto& [x, y] : ring.means) EXPECT_NEAR(std::hypot(x, y), 1.0, 1e-12);
  ASSERT_EQ(grid.means.size(), 25u);
  EXPECT_EQ(grid.std, 0.05);
  for (const auto& [x, y] : grid.means) {
    EXPECT_TRUE(x == -4 || x == -2 || x == 0 || x == 2 || x == 4) << x;
    EXPECT_TRUE(y == -4 || y == -2 || y == 0 || y == 2 || y == 4) << y;
  }
  EXPECT_NE(error_of([] { gan::toy_mixture("spiral"); }).find("expected ring or grid"), std::string::npos);
}

TEST(ToyMixtures, SamplesOfTheDataScoreAsTheDataShould) {
  for (const gan::ToyMixture& mixture : {gan::ring_mixture(), gan::grid_mixture()}) {
    Generator rng(1);
    const Tensor x = gan::sample_mixture(mixture, 2500, rng);
    ASSERT_EQ(x.shape(), (Shape{2500, 2}));
    const gan::ModeMetrics m = gan::mode_metrics(mixture, x);
    EXPECT_EQ(m.modes_covered, m.modes) << mixture.name;
    EXPECT_GT(m.high_quality, 0.98) << mixture.name;  // P(|N(0, I_2)| < 3) = 1 - e^(-9/2) = 0.989
    EXPECT_LT(m.reverse_kl, 0.02) << mixture.name;
  }
}

TEST(ModeMetrics, AllSamplesAtOneRingModeCoverOneModeWithKlLogEight) {
  const gan::ToyMixture ring = gan::ring_mixture();
  const gan::ModeMetrics m = gan::mode_metrics(ring, repeated(0.0, 1.0, 2500));  // mode 2, (cos 90°, sin 90°)
  EXPECT_EQ(m.modes, 8);
  EXPECT_EQ(m.modes_covered, 1);
  EXPECT_EQ(m.high_quality, 1.0);
  EXPECT_NEAR(m.reverse_kl, std::log(8.0), 1e-12);
  EXPECT_EQ(m.counts[2], 2500);
}

TEST(ModeMetrics, PerfectSamplesCoverEveryModeWithKlZero) {
  for (const gan::ToyMixture& mixture : {gan::ring_mixture(), gan::grid_mixture()}) {
    const gan::ModeMetrics m = gan::mode_metrics(mixture, at_every_centre(mixture, 2500));
    EXPECT_EQ(m.modes_covered, m.modes) << mixture.name;
    EXPECT_EQ(m.high_quality, 1.0) << mixture.name;
    // 2500 = 312 * 8 + 4: the ring's counts differ by one, a KL of 8 (0.0002^2 / (2 * 0.125)) = 1.3e-6.
    EXPECT_NEAR(m.reverse_kl, 0.0, 2e-6) << mixture.name;
  }
}

TEST(ModeMetrics, FarAwaySamplesAreNoneOfHighQuality) {
  const gan::ModeMetrics m = gan::mode_metrics(gan::grid_mixture(), repeated(1.0, 1.0, 2500));  // between 4 modes
  EXPECT_EQ(m.high_quality, 0.0);
  EXPECT_EQ(m.modes_covered, 0);
  EXPECT_EQ(m.reverse_kl, std::numeric_limits<double>::infinity());
}

TEST(ModeMetrics, ASampleCountsOnlyWithinThreeStdOfItsNearestMode) {
  const gan::ToyMixture ring = gan::ring_mixture();  // std 0.01: the threshold is 0.03
  Tensor x = repeated(1.029, 0.0, 2);
  x.data()[2] = 1.031f;  // the second point just outside
  const gan::ModeMetrics m = gan::mode_metrics(ring, x);
  EXPECT_EQ(m.counts[0], 1);
  EXPECT_EQ(m.high_quality, 0.5);
}

TEST(Packing, PutsMConsecutiveSamplesSideBySide) {
  Tensor x({6, 2});
  for (int64_t i = 0; i < 12; ++i) x.data()[i] = static_cast<float>(i);
  const Variable p = gan::pack(Variable(x), 3);
  ASSERT_EQ(p.shape(), (Shape{2, 6}));
  EXPECT_EQ(p.data().tolist(), x.tolist());  // row 0: samples 0, 1, 2
  EXPECT_NE(error_of([&] { gan::pack(Variable(x), 4); }).find("--pack 4 does not divide the batch of 6"),
            std::string::npos);
}

// Unit j's value is the largest of its k pieces, piece i in column i*out + j of the linear map.
TEST(Maxout, EachUnitIsTheLargestOfItsPieces) {
  Generator rng(3);
  gan::Maxout maxout(3, 4, 5, rng);
  const Tensor x = randn({6, 3}, rng);
  const Tensor y = maxout(Variable(x)).data(), pieces = (*maxout.linear)(Variable(x)).data();  // [6, 4], [6, 20]
  ASSERT_EQ(y.shape(), (Shape{6, 4}));
  for (int64_t b = 0; b < 6; ++b)
    for (int64_t j = 0; j < 4; ++j) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < 5; ++i) best = std::max(best, pieces.data()[b * 20 + i * 4 + j]);
      EXPECT_EQ(y.data()[b * 4 + j], best) << "sample " << b << ", unit " << j;
    }
}

TEST(ToyGAN, NetworksHaveThePaperShapes) {
  Generator rng(0);
  gan::ToyGanOptions o;
  o.pack = 2;
  gan::ToyGAN gan(o, rng);
  // G: 2*400 + 3 * 400*400 (no biases) + 4 BatchNorms (2*400) + 400*2 + 2.
  EXPECT_EQ(gan.generator->num_parameters(), 2 * 400 + 3 * 400 * 400 + 4 * 800 + 400 * 2 + 2);
  // D with m = 2: maxout (4 -> 200 x 5), (200 -> 200 x 5) twice, then 200 -> 1.
  EXPECT_EQ(gan.discriminator->num_parameters(), (4 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201);
  const Tensor x = gan.sample(10, rng);
  EXPECT_EQ(x.shape(), (Shape{10, 2}));
  EXPECT_EQ((*gan.discriminator)(gan::pack(Variable(x), 2)).shape(), (Shape{5, 1}));
}

TEST(ToyGAN, AFewStepsOfEachLossStayFiniteAndMoveBothNetworks) {
  for (gan::GanLoss loss : {gan::GanLoss::Minimax, gan::GanLoss::NonSaturating, gan::GanLoss::LeastSquares,
                            gan::GanLoss::Hinge}) {
    Generator rng(3);
    gan::ToyGanOptions o;
    o.g_hidden = 16, o.d_hidden = 8, o.pack = 2, o.loss = loss;  // small, for speed
    gan::ToyGAN gan(o, rng);
    Adam adam_d(gan.discriminator->parameters(), 1e-3f, 0.8f, 0.999f);
    Adam adam_g(gan.generator->parameters(), 1e-3f, 0.8f, 0.999f);
    const Tensor before_g = gan.generator->out->weight.data().clone();
    const Tensor before_d = gan.discriminator->out->weight.data().clone();
    for (int step = 0; step < 3; ++step) {
      const gan::AdversarialLosses l =
          gan::train_step(gan, adam_d, adam_g, gan::sample_mixture(gan::ring_mixture(), 8, rng), rng);
      EXPECT_TRUE(std::isfinite(l.discriminator) && std::isfinite(l.generator)) << gan::loss_name(loss);
    }
    EXPECT_NE(gan.generator->out->weight.data().tolist(), before_g.tolist()) << gan::loss_name(loss);
    EXPECT_NE(gan.discriminator->out->weight.data().tolist(), before_d.tolist()) << gan::loss_name(loss);
  }
}

TEST(ToyGAN, RefusesWganGpAndABadPack) {
  Generator rng(0);
  gan::ToyGanOptions o;
  o.loss = gan::GanLoss::WassersteinGP;
  EXPECT_NE(error_of([&] { gan::ToyGAN g(o, rng); }).find("not wgan-gp"), std::string::npos);
  o.loss = gan::GanLoss::NonSaturating;
  o.g_hidden = 4, o.d_hidden = 4, o.pack = 3;
  gan::ToyGAN g(o, rng);
  Adam adam_d(g.discriminator->parameters(), 1e-3f), adam_g(g.generator->parameters(), 1e-3f);
  const Tensor real = gan::sample_mixture(gan::ring_mixture(), 8, rng);
  EXPECT_NE(error_of([&] { gan::train_step(g, adam_d, adam_g, real, rng); }).find("--pack 3 does not divide"),
            std::string::npos);
}

// Karras et al.'s feature: D's last maxout layer takes one input more, and D then judges a sample by its batch.
TEST(ToyGAN, MinibatchStdWidensDsLastLayerAndJudgesASampleByItsBatch) {
  gan::ToyGanOptions o;
  o.g_hidden = 8, o.d_hidden = 6, o.minibatch_std = true;
  Generator rng(0);
  gan::ToyGAN with_std(o, rng);
  ASSERT_TRUE(with_std.discriminator->last);
  EXPECT_EQ(with_std.discriminator->last->in_features, 6 + 1);
  EXPECT_EQ(with_std.discriminator->hidden->size(), 2u);  // the other d_layers - 1 layers as before
  o.minibatch_std = false;
  gan::ToyGAN without(o, rng);
  EXPECT_FALSE(without.discriminator->last);

  // The same point (0, 0) as the first row of a collapsed batch and of a spread one.
  const Tensor collapsed = repeated(0, 0, 8);
  Tensor spread_with_origin = at_every_centre(gan::grid_mixture(), 8).clone();
  spread_with_origin.data()[0] = 0, spread_with_origin.data()[1] = 0;
  const auto first_logit = [](gan::ToyGAN& gan, const Tensor& batch) {
    NoGradGuard no_grad;
    return (*gan.discriminator)(Variable(batch)).data().data()[0];
  };
  EXPECT_NE(first_logit(with_std, collapsed), first_logit(with_std, spread_with_origin));
  EXPECT_EQ(first_logit(without, collapsed), first_logit(without, spread_with_origin));  // no batch feature
}

}  // namespace hd
