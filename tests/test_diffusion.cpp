// models/diffusion.h: the schedules against PyTorch's numbers and their health check, q_sample's statistics, the
// U-Net against its PyTorch twin (tests/fixtures/diffusion.safetensors, from tests/reference/make_diffusion_fixture.py:
// weights, output, gradients, parameter count), a tiny training run, the samplers' determinism, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "error_of.h"
#include "fixtures.h"
#include "model_file.h"
#include "models/diffusion.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tensor_checks.h"

namespace hd {
namespace {

using diffusion::DiffusionModel;
using diffusion::DiffusionOptions;
using diffusion::NoiseSchedule;
using test::error_of;

const TensorFile& fixture() {
  static const TensorFile file = load_safetensors(test::fixture_path("diffusion.safetensors"));
  return file;
}

// The fixture's tiny U-Net: channels (8, 16), time_dim 16, GroupNorm(4), 1 x 8 x 8 images.
diffusion::UNetOptions tiny_unet() {
  diffusion::UNetOptions o;
  o.channels = {8, 16};
  o.time_dim = 16;
  o.groups = 4;
  o.image = {1, 8, 8};
  return o;
}

DiffusionOptions tiny_model(int64_t T = 50) {
  DiffusionOptions o;
  o.unet = tiny_unet();
  o.T = T;
  return o;
}

float max_abs_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float worst = 0.f;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]));
  return worst;
}

void expect_table(const std::vector<double>& table, const Tensor& torch, const char* what) {
  ASSERT_EQ(static_cast<int64_t>(table.size()), torch.numel()) << what;
  for (int64_t t = 0; t < torch.numel(); ++t)
    ASSERT_NEAR(table[t], torch.data()[t], 1e-6 * (1 + std::fabs(torch.data()[t]))) << what << " at t = " << t;
}

// ------------------------------------------------------------------------------------------ schedules

TEST(NoiseSchedule, LinearIsHoEtAlsBetasAndTheirCumulativeProductAsPyTorchComputesThem) {
  const NoiseSchedule s = NoiseSchedule::linear();
  expect_table(s.beta, fixture().tensors.at("linear.beta"), "beta");
  expect_table(s.alpha_bar, fixture().tensors.at("linear.alpha_bar"), "alpha_bar");
  EXPECT_DOUBLE_EQ(s.beta.front(), 1e-4);
  EXPECT_DOUBLE_EQ(s.beta.back(), 0.02);
}

TEST(NoiseSchedule, CosineIsNicholAndDhariwalsClippedAtPoint999) {
  const NoiseSchedule s = NoiseSchedule::cosine();
  expect_table(s.beta, fixture().tensors.at("cosine.beta"), "beta");
  expect_table(s.alpha_bar, fixture().tensors.at("cosine.alpha_bar"), "alpha_bar");
  EXPECT_DOUBLE_EQ(s.beta.back(), 0.999);
}

TEST(NoiseSchedule, HealthCheckPassesBothSchedulesAndFailsOneThatLeavesTheImage) {
  for (const NoiseSchedule& s : {NoiseSchedule::linear(), NoiseSchedule::cosine()}) {
    const diffusion::ScheduleHealth h = diffusion::check_schedule(s);
    EXPECT_TRUE(h.snr_falls);
    EXPECT_TRUE(h.ok()) << h.str();
    EXPECT_LT(h.signal_left, 0.01);
    EXPECT_NE(h.str().find("close to N(0, I)"), std::string::npos);
  }
  // 10 steps of the linear schedule's small betas leave almost all of x_0 in x_T.
  const diffusion::ScheduleHealth short_one = diffusion::check_schedule(NoiseSchedule::linear(10));
  EXPECT_FALSE(short_one.ok());
  EXPECT_NE(short_one.str().find("NOT close"), std::string::npos);
}

// x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps: for a constant x_0 = 0.5 its mean is sqrt(abar_t) / 2 and its
// standard deviation sqrt(1 - abar_t).
TEST(QSample, HasTheClosedFormsMeanAndVarianceAtEachStep) {
  const NoiseSchedule s = NoiseSchedule::linear();
  Generator gen(3);
  for (int64_t step : {0, 250, 999}) {
    const Tensor x0 = Tensor::full({512, 1, 8, 8}, 0.5f);
    const Tensor x_t = diffusion::q_sample(s, x0, Tensor::full({512}, static_cast<float>(step)), randn(x0.shape(), gen));
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < x_t.numel(); ++i) {
      sum += x_t.data()[i];
      sum_sq += x_t.data()[i] * x_t.data()[i];
    }
    const double mean = sum / x_t.numel(), sd = std::sqrt(sum_sq / x_t.numel() - mean * mean);
    EXPECT_NEAR(mean, 0.5 * std::sqrt(s.alpha_bar[step]), 0.01) << "t = " << step;
    EXPECT_NEAR(sd, std::sqrt(1 - s.alpha_bar[step]), 0.01) << "t = " << step;
  }
}

TEST(QSample, RejectsStepsOutsideTheSchedule) {
  const NoiseSchedule s = NoiseSchedule::linear(100);
  const Tensor x0 = Tensor::zeros({2, 1, 4, 4});
  EXPECT_NE(error_of([&] { diffusion::q_sample(s, x0, Tensor::full({2}, 100.f), x0); }).find("outside [0, 100)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { diffusion::q_sample(s, x0, Tensor::zeros({3}), x0); }).find("t [B]"), std::string::npos);
}

// ------------------------------------------------------------------------------------------------ U-Net

TEST(UNet, Unet28KeepsTheImageShapeAndHasItsTwinsParameterCount) {
  Generator gen(0);
  DiffusionModel model({}, gen);
  const Variable out = model(Variable(randn({2, 1, 28, 28}, gen)), Variable(Tensor::from({2}, {0.f, 999.f})));
  EXPECT_EQ(out.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(model.num_parameters(), static_cast<int64_t>(fixture().tensors.at("parameters_unet28").data()[0]));
  EXPECT_EQ(model.num_parameters(), 1545921);  // python3 bench/torch/ddpm.py --count-parameters
}

TEST(UNet, StartsFromTheTwinsWeightsUnderTheTwinsNames) {
  Generator gen(0);
  diffusion::UNet unet(tiny_unet(), gen);
  const auto& t = fixture().tensors;
  size_t in_fixture = 0;
  for (const auto& [name, tensor] : t) in_fixture += name.rfind("state.", 0) == 0;
  const auto state = unet.state_dict();
  EXPECT_EQ(state.size(), in_fixture);
  for (const auto& [name, tensor] : state) {
    ASSERT_TRUE(t.count("state." + name)) << name << " is not in the PyTorch twin's state_dict";
    EXPECT_LE(max_abs_difference(tensor, t.at("state." + name)), 1e-7f) << name;
  }
}

TEST(UNet, GivesPyTorchsOutputAndGradients) {
  Generator gen(1);
  diffusion::UNet unet(tiny_unet(), gen);
  const auto& t = fixture().tensors;
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : unet.state_dict()) state[name] = t.at("state." + name).clone();
  unet.load_state_dict(state);
  const Variable out = unet(Variable(t.at("x")), Variable(t.at("t")));
  EXPECT_LE(max_abs_difference(out.data(), t.at("out")), 2e-5f);
  std::vector<Variable> params;
  std::vector<std::string> names;
  for (const auto& [name, p] : unet.named_parameters()) {
    params.push_back(p);
    names.push_back(name);
  }
  const std::vector<Variable> grads = grad(out, params, Variable(t.at("gout")));
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& expected = t.at("grad." + names[i]);
    float scale = 1.f;
    for (int64_t k = 0; k < expected.numel(); ++k) scale = std::max(scale, std::fabs(expected.data()[k]));
    EXPECT_LE(max_abs_difference(grads[i].data(), expected), 1e-4f * scale) << names[i];
  }
}

// Algorithm 1 step for step as the twin runs it: the same weights from the same seed, then the same x0, t and eps
// from the same stream, so the same losses.
TEST(Diffusion, TrainingStepsGivePyTorchsLosses) {
  Generator gen(0);
  DiffusionModel model(tiny_model(50), gen);
  Tensor x0 = rand({4, 1, 8, 8}, gen);
  for (int64_t i = 0; i < x0.numel(); ++i) x0.data()[i] = 2.f * x0.data()[i] - 1.f;
  EXPECT_LE(max_abs_difference(x0, fixture().tensors.at("train.x0")), 1e-6f);
  Adam adam(model.parameters(), 1e-3f);
  EMA ema(model, 0.999f);
  const Tensor& torch_losses = fixture().tensors.at("train.losses");
  for (int64_t s = 0; s < 3; ++s)
    EXPECT_NEAR(diffusion::train_step(model, adam, ema, x0, gen).loss, torch_losses.data()[s], 1e-5) << "step " << s;
}

TEST(UNet, ChannelsLevelsAndImageSizeAreOptionsCheckedUpFront) {
  Generator gen(0);
  diffusion::UNetOptions o = tiny_unet();
  o.channels = {8, 16, 24};
  o.image = {1, 12, 12};
  diffusion::UNet three_levels(o, gen);
  EXPECT_EQ(three_levels(Variable(randn({1, 1, 12, 12}, gen)), Variable(Tensor::zeros({1}))).shape(),
            (Shape{1, 1, 12, 12}));
  o.image = {1, 10, 10};
  EXPECT_NE(error_of([&] { diffusion::UNet(o, gen); }).find("multiples of 4"), std::string::npos);
  o = tiny_unet();
  o.channels = {8, 10};
  EXPECT_NE(error_of([&] { diffusion::UNet(o, gen); }).find("multiple of the 4 GroupNorm groups"), std::string::npos);
}

// ------------------------------------------------------------------------------------------- the model

// Squares of a few sizes and places, in [-1, 1]: something to learn.
Tensor toy_images(int64_t n) {
  Tensor x = Tensor::full({n, 1, 8, 8}, -1.f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t size = 2 + i % 3, at = i % 4;
    for (int64_t r = at; r < at + size; ++r)
      for (int64_t c = at; c < at + size; ++c) x.data()[i * 64 + r * 8 + c] = 1.f;
  }
  return x;
}

TEST(Diffusion, ATinyTrainingRunsLossFalls) {
  Generator gen(4);
  DiffusionModel model(tiny_model(), gen);
  Adam adam(model.parameters(), 3e-3f);
  EMA ema(model, 0.9f);
  const Tensor x0 = toy_images(32);
  double first = 0, last = 0;
  const int steps = 80;
  for (int s = 0; s < steps; ++s) {
    const double loss = diffusion::train_step(model, adam, ema, x0, gen).loss;
    if (s < 10) first += loss / 10;
    if (s >= steps - 10) last += loss / 10;
  }
  EXPECT_LT(last, 0.6 * first) << "first 10 steps " << first << ", last 10 " << last;
  EXPECT_EQ(ema.num_updates(), steps);
}

// The EMA warms up: after k steps its decay is min(0.999, (1 + k) / (10 + k)), 2/11 after the first.
TEST(Diffusion, TheEmaWarmsUpSoThatAYoungShadowFollowsTheWeights) {
  Generator gen(13);
  DiffusionModel model(tiny_model(), gen);
  Adam adam(model.parameters(), 1e-2f);
  EMA ema(model, 0.999f);
  const Tensor before = model.unet->conv_in->weight.data().clone();
  diffusion::train_step(model, adam, ema, toy_images(4), gen);
  const Tensor after = model.unet->conv_in->weight.data(), shadow = ema.state_dict().at("unet.conv_in.weight");
  const float d = 2.f / 11.f;
  for (int64_t i = 0; i < shadow.numel(); ++i)
    ASSERT_NEAR(shadow.data()[i], d * before.data()[i] + (1 - d) * after.data()[i], 1e-6);
}

TEST(Diffusion, EitherObjectivesPredictionsAreConsistentWithXt) {
  for (diffusion::Objective objective : {diffusion::Objective::Epsilon, diffusion::Objective::V}) {
    Generator gen(2);
    DiffusionOptions o = tiny_model();
    o.objective = objective;
    DiffusionModel model(o, gen);
    const Tensor x_t = randn({2, 1, 8, 8}, gen);
    const DiffusionModel::Prediction p = model.predict(x_t, 30);
    const double abar = model.schedule.alpha_bar[30];
    for (int64_t i = 0; i < x_t.numel(); ++i)  // x_t = sqrt(abar) x0_hat + sqrt(1 - abar) eps_hat
      ASSERT_NEAR(std::sqrt(abar) * p.x0.data()[i] + std::sqrt(1 - abar) * p.eps.data()[i], x_t.data()[i], 1e-4);
  }
}

TEST(Diffusion, MinSnrWeightsAboveEverySnrGiveLSimple) {
  Generator gen(5);
  DiffusionModel plain(tiny_model(), gen);
  DiffusionOptions o = tiny_model();
  o.min_snr_gamma = 1e9;  // min(SNR, gamma) / SNR = 1 at every t
  DiffusionModel weighted(o, gen);
  weighted.load_state_dict(plain.state_dict());
  const Tensor x0 = toy_images(4), t = Tensor::from({4}, {0.f, 10.f, 30.f, 49.f}), noise = randn(x0.shape(), gen);
  EXPECT_NEAR(weighted.loss(x0, t, noise).item(), plain.loss(x0, t, noise).item(), 1e-6);
  o.min_snr_gamma = 5;  // the weights are at most 1, below 1 where SNR > 5 (t = 0)
  DiffusionModel min_snr(o, gen);
  min_snr.load_state_dict(plain.state_dict());
  EXPECT_LT(min_snr.loss(x0, t, noise).item(), plain.loss(x0, t, noise).item());
}

TEST(Samplers, DdimWithEtaZeroIsDeterministicWhateverTheGenerator) {
  Generator gen(6);
  DiffusionModel model(tiny_model(), gen);
  const Tensor x_T = randn({2, 1, 8, 8}, gen);
  diffusion::SamplerOptions o;
  o.steps = 10;
  Generator a(1), b(2);
  EXPECT_EQ(model.generate(x_T, o, a).tolist(), model.generate(x_T, o, b).tolist());
  o.eta = 1;  // with eta > 0 the noise z comes from the generator
  Generator c(1), d(2);
  EXPECT_NE(model.generate(x_T, o, c).tolist(), model.generate(x_T, o, d).tolist());
}

TEST(Samplers, TheSameSeedGivesTheSameSamplesWithEitherSampler) {
  Generator gen(7);
  DiffusionModel model(tiny_model(20), gen);
  for (diffusion::Sampler sampler : {diffusion::Sampler::DDPM, diffusion::Sampler::DDIM}) {
    model.sampling.sampler = sampler;
    model.sampling.eta = 0.5;
    model.sampling.steps = 5;
    Generator a(9), b(9);
    const Tensor first = model.sample(3, a), second = model.sample(3, b);
    EXPECT_EQ(first.tolist(), second.tolist()) << diffusion::sampler_name(sampler);
    EXPECT_EQ(first.shape(), (Shape{3, 1, 8, 8}));
    for (int64_t i = 0; i < first.numel(); ++i) ASSERT_TRUE(first.data()[i] >= 0.f && first.data()[i] <= 1.f);
  }
}

TEST(Samplers, TrajectoryKeepsXtEveryKStepsAndTheEnd) {
  Generator gen(8);
  DiffusionModel model(tiny_model(20), gen);
  const Tensor x_T = randn({1, 1, 8, 8}, gen);
  diffusion::Trajectory ddpm;
  diffusion::ddpm_sample(model, x_T, gen, 5, &ddpm);
  EXPECT_EQ(ddpm.t, (std::vector<int64_t>{19, 14, 9, 4, -1}));
  EXPECT_EQ(ddpm.x.front().tolist(), x_T.tolist());
  diffusion::Trajectory ddim;
  const Tensor x0 = diffusion::ddim_sample(model, x_T, 4, 0.0, gen, 1, &ddim);
  EXPECT_EQ(ddim.t, (std::vector<int64_t>{19, 14, 9, 4, -1}));
  EXPECT_EQ(ddim.x.back().tolist(), x0.tolist());
  EXPECT_EQ(diffusion::ddim_timesteps(1000, 50).front(), 19);
  EXPECT_EQ(diffusion::ddim_timesteps(1000, 1), (std::vector<int64_t>{999}));
}

TEST(Samplers, RejectStepsOutsideOneToTAndEtaOutsideZeroToOne) {
  Generator gen(9);
  DiffusionModel model(tiny_model(20), gen);
  const Tensor x_T = randn({1, 1, 8, 8}, gen);
  diffusion::SamplerOptions o;
  o.steps = 21;
  EXPECT_NE(error_of([&] { model.generate(x_T, o, gen); }).find("steps must be in [1, T = 20], got 21"), std::string::npos);
  o.steps = 0;
  EXPECT_NE(error_of([&] { model.generate(x_T, o, gen); }).find("got 0"), std::string::npos);
  o.steps = 5;
  o.eta = 1.5;
  EXPECT_NE(error_of([&] { model.generate(x_T, o, gen); }).find("eta must be in [0, 1], got 1.5"), std::string::npos);
  o.eta = -0.1;
  EXPECT_NE(error_of([&] { model.generate(x_T, o, gen); }).find("eta"), std::string::npos);
  EXPECT_NE(error_of([] { diffusion::schedule_from_name("quadratic"); }).find("linear or cosine"), std::string::npos);
  EXPECT_NE(error_of([] { diffusion::objective_from_name("x0"); }).find("eps or v"), std::string::npos);
  EXPECT_NE(error_of([] { diffusion::sampler_from_name("euler"); }).find("ddpm or ddim"), std::string::npos);
}

TEST(Diffusion, OptionsRoundTripThroughMetadataAndAreCheckedAgainstTheTensors) {
  DiffusionOptions o = tiny_model(40);
  o.schedule = diffusion::ScheduleKind::Cosine;
  o.objective = diffusion::Objective::V;
  const DiffusionOptions back = DiffusionOptions::from_metadata(Metadata(o.to_metadata(), "m"));
  EXPECT_EQ(back.unet.channels, o.unet.channels);
  EXPECT_EQ(back.T, 40);
  EXPECT_EQ(back.schedule, diffusion::ScheduleKind::Cosine);
  EXPECT_EQ(back.objective, diffusion::Objective::V);
  auto m = o.to_metadata();
  m["channels"] = "8,16,32,64,128,256";
  EXPECT_NE(error_of([&] { DiffusionOptions::from_metadata(Metadata(m, "f.safetensors")); }).find("1 to 5 levels"),
            std::string::npos);
  m["channels"] = "8,2000";
  EXPECT_NE(error_of([&] { DiffusionOptions::from_metadata(Metadata(m, "f.safetensors")); }).find("[1, 1024]"),
            std::string::npos);
}

// Classifier-free guidance: the label changes the prediction, "no label" is the unconditional one, and
// eps = (1 + w) eps(x, c) - w eps(x).
TEST(Guidance, MixesTheConditionalAndUnconditionalPredictions) {
  Generator gen(11);
  DiffusionOptions o = tiny_model();
  o.unet.num_classes = 10;
  DiffusionModel model(o, gen);
  EXPECT_EQ(model.unet->label_emb->weight.shape(), (Shape{11, 16}));  // ten classes and "no label"
  const Tensor x_t = randn({2, 1, 8, 8}, gen), three = Tensor::full({2}, 3.f), five = Tensor::full({2}, 5.f);
  const Tensor eps3 = model.predict(x_t, 20, three).eps, eps5 = model.predict(x_t, 20, five).eps;
  const Tensor eps_none = model.predict(x_t, 20).eps;
  EXPECT_NE(eps3.tolist(), eps5.tolist());
  EXPECT_EQ(eps_none.tolist(), model.predict(x_t, 20, Tensor::full({2}, 10.f)).eps.tolist());
  const Tensor guided = model.predict(x_t, 20, three, 2.0).eps;
  for (int64_t i = 0; i < guided.numel(); ++i)
    ASSERT_NEAR(guided.data()[i], 3 * eps3.data()[i] - 2 * eps_none.data()[i], 1e-5);
}

TEST(Guidance, TrainingNeedsLabelsOnlyForAConditionalModelAndSamplingChecksClasses) {
  Generator gen(12);
  DiffusionOptions o = tiny_model();
  o.unet.num_classes = 10;
  DiffusionModel conditional(o, gen), plain(tiny_model(), gen);
  Adam adam(conditional.parameters(), 1e-3f), adam_plain(plain.parameters(), 1e-3f);
  EMA ema(conditional, 0.9f), ema_plain(plain, 0.9f);
  const Tensor x0 = toy_images(4), labels = Tensor::from({4}, {0.f, 1.f, 2.f, 9.f});
  EXPECT_TRUE(std::isfinite(diffusion::train_step(conditional, adam, ema, x0, gen, labels).loss));
  EXPECT_NE(error_of([&] { diffusion::train_step(conditional, adam, ema, x0, gen); }).find("needs labels"),
            std::string::npos);
  EXPECT_NE(error_of([&] { diffusion::train_step(plain, adam_plain, ema_plain, x0, gen, labels); }).find("takes no labels"),
            std::string::npos);
  diffusion::SamplerOptions s;
  s.steps = 2;
  s.guidance = 1;
  EXPECT_NE(error_of([&] { plain.generate(randn({1, 1, 8, 8}, gen), s, gen); }).find("unconditional"), std::string::npos);
  s.label = 10;
  EXPECT_NE(error_of([&] { conditional.generate(randn({1, 1, 8, 8}, gen), s, gen); }).find("[0, 10), got 10"),
            std::string::npos);
  s.label = 4;
  EXPECT_EQ(conditional.generate(randn({2, 1, 8, 8}, gen), s, gen).shape(), (Shape{2, 1, 8, 8}));
  // The twin's count: U-Net-28 and an Embedding(11, 128).
  DiffusionOptions big;
  big.unet.num_classes = 10;
  EXPECT_EQ(DiffusionModel(big, gen).num_parameters(), 1545921 + 11 * 128);
}

// A file whose metadata claims a bigger U-Net than its tensors hold is refused before anything is built.
TEST(Diffusion, ACheckpointWhoseMetadataDisagreesWithItsTensorsIsRefused) {
  std::map<std::string, std::string> metadata = tiny_model().to_metadata();
  metadata["channels"] = "512,1024";
  const std::string path = test::write_model_file(
      "diffusion_hostile.safetensors",
      {{"unet.time_mlp.0.weight", {16, 16}}, {"unet.conv_in.weight", {8, 1, 3, 3}}}, metadata);
  const std::string message = error_of([&] { diffusion::load_diffusion(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("unet.conv_in.weight"), std::string::npos) << message;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace hd
