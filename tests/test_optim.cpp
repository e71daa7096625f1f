// nn/optim.h, nn/schedulers.h and nn/ema.h.
//
//   MatchesTorch*   SGD / Adam / AdamW after 10 steps equal PyTorch's, parameters and state, on the
//                   gradients tests/reference/make_optim_fixtures.py stored in tests/fixtures/optim.safetensors
//   AdamKernel*     tensor/optim_kernels' fast loop equals its one-element-at-a-time reference bit for bit
//   StateDict*      saving the state after 5 steps and loading it elsewhere continues exactly
//   Schedule*       learning rates against the documented closed forms
//   EMA*            the moving average, buffers, copy_to, state_dict
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <numbers>
#include <optional>

#include <fmt/format.h>

#include "error_of.h"
#include "fixtures.h"
#include "nn/ema.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "nn/schedulers.h"
#include "tensor/elementwise.h"
#include "tensor/optim_kernels.h"
#include "tensor/safetensors.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// ------------------------------------------------------------------------------------------ fixture

static const char* kScript = "/usr/bin/python3 tests/reference/make_optim_fixtures.py";
static constexpr int kSteps = 10;   // STEPS in the script
static constexpr int kParams = 3;   // len(PARAM_SHAPES)

static const TensorFile* fixture() {
  static const std::optional<TensorFile> file = []() -> std::optional<TensorFile> {
    std::string path = test::fixture_path("optim.safetensors");
    if (!std::filesystem::exists(path)) return std::nullopt;
    return load_safetensors(path);
  }();
  if (!file) ADD_FAILURE() << "missing fixture " << test::fixture_path("optim.safetensors") << ": run " << kScript;
  return file ? &*file : nullptr;
}

static bool has(const std::string& name) { return fixture()->tensors.count(name) > 0; }

static Tensor torch_value(const std::string& name) {
  auto it = fixture()->tensors.find(name);
  if (it == fixture()->tensors.end())
    throw std::runtime_error("optim.safetensors has no tensor '" + name + "': rerun " + std::string(kScript));
  return it->second;
}

// |got - want| <= tol * max(1, |want|) everywhere; on failure, the worst element.
static void expect_close(const Tensor& got, const Tensor& want, const std::string& what, float tol = 1e-5f) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    float g = got.data()[i], w = want.data()[i];
    if (!(std::fabs(g - w) <= tol * std::max(1.f, std::fabs(w)))) {
      ADD_FAILURE() << what << ": element " << i << " is " << g << ", PyTorch has " << w;
      return;
    }
  }
}

static void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(shape_str(a.shape()), shape_str(b.shape())) << what;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.data()[i] != b.data()[i]) {
      ADD_FAILURE() << what << ": element " << i << " differs: " << a.data()[i] << " vs " << b.data()[i];
      return;
    }
}

// Fresh parameters with the fixture's initial values.
static std::vector<Variable> initial_params() {
  std::vector<Variable> params;
  for (int i = 0; i < kParams; ++i) params.emplace_back(torch_value("init." + std::to_string(i)).clone(), true);
  return params;
}

// Sets each parameter's gradient to the fixture's for `step` (none where the fixture has none).
static void set_fixture_grads(std::vector<Variable>& params, int step) {
  for (int i = 0; i < kParams; ++i) {
    std::string name = "grad." + std::to_string(step) + "." + std::to_string(i);
    if (has(name)) {
      params[i].set_grad(Variable(torch_value(name).clone()));
    } else {
      params[i].zero_grad();
    }
  }
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(std::vector<Variable>)>;

// The configs of make_optim_fixtures.py's CONFIGS.
static const std::vector<std::pair<std::string, MakeOptimizer>>& configs() {
  static const std::vector<std::pair<std::string, MakeOptimizer>> all = {
      {"sgd_plain", [](auto p) { return std::make_unique<SGD>(p, 0.1f); }},
      {"sgd_momentum", [](auto p) { return std::make_unique<SGD>(p, 0.1f, 0.9f, 0.1f, 1e-2f); }},
      {"sgd_nesterov", [](auto p) { return std::make_unique<SGD>(p, 0.1f, 0.9f, 0.f, 1e-2f, true); }},
      {"adam_default", [](auto p) { return std::make_unique<Adam>(p); }},
      {"adam_weight_decay", [](auto p) { return std::make_unique<Adam>(p, 1e-2f, 0.8f, 0.99f, 1e-8f, 0.1f); }},
      {"adamw", [](auto p) { return std::make_unique<AdamW>(p, 1e-2f, 0.8f, 0.99f, 1e-8f, 0.1f); }},
  };
  return all;
}

static void run_steps(Optimizer& optimizer, std::vector<Variable>& params, int from, int to) {
  for (int step = from; step < to; ++step) {
    set_fixture_grads(params, step);
    optimizer.step();
  }
}

// ------------------------------------------------------------------------------------------ optimizers

TEST(Optim, MatchesTorchParametersAndState) {
  if (!fixture()) return;
  for (const auto& [config, make] : configs()) {
    SCOPED_TRACE(config);
    std::vector<Variable> params = initial_params();
    std::unique_ptr<Optimizer> optimizer = make(params);
    run_steps(*optimizer, params, 0, kSteps);
    EXPECT_EQ(optimizer->steps_taken(), kSteps);
    for (int i = 0; i < kParams; ++i)
      expect_close(params[i].data(), torch_value(config + ".after." + std::to_string(i)), config + " parameter " + std::to_string(i));

    // The state has PyTorch's names and values: "<i>.<name>" = state_dict()["state"][i][name].
    std::map<std::string, Tensor> state = optimizer->state_dict();
    size_t torch_entries = 0;
    for (const auto& [name, value] : fixture()->tensors) {
      std::string prefix = config + ".state.";
      if (name.rfind(prefix, 0) != 0) continue;
      ++torch_entries;
      std::string key = name.substr(prefix.size());
      ASSERT_TRUE(state.count(key)) << config << " has no state entry '" << key << "'";
      expect_close(state.at(key), value, config + " state " + key);
    }
    EXPECT_EQ(state.size(), torch_entries + 2) << "expected PyTorch's entries plus 'step' and 'lr'";
  }
}

TEST(Optim, ParameterWithoutGradientIsSkippedAndGetsNoState) {
  if (!fixture()) return;
  std::vector<Variable> params = initial_params();
  Adam adam(params, 0.1f);
  run_steps(adam, params, 0, 1);  // parameter 2 has no gradient at step 0
  expect_identical(params[2].data(), torch_value("init.2"), "parameter 2");
  std::map<std::string, Tensor> state = adam.state_dict();
  EXPECT_TRUE(state.count("0.exp_avg"));
  EXPECT_FALSE(state.count("2.exp_avg"));
  EXPECT_FALSE(state.count("2.step"));
}

// The update is elementwise, so one parameter of 100000 elements (split across threads and blocks)
// must end exactly where 100 parameters of 1000 elements do.
TEST(Optim, LargeParameterUpdatesLikeSmallOnes) {
  const int64_t n = 100000, pieces = 100, piece = n / pieces;
  Generator gen(7);
  Tensor init = randn({n}, gen);
  std::vector<Tensor> grads;
  for (int step = 0; step < 3; ++step) grads.push_back(randn({n}, gen));

  for (int kind = 0; kind < 3; ++kind) {
    SCOPED_TRACE(kind);
    auto make = [&](std::vector<Variable> p) -> std::unique_ptr<Optimizer> {
      if (kind == 0) return std::make_unique<SGD>(p, 0.1f, 0.9f, 0.f, 1e-2f, true);
      if (kind == 1) return std::make_unique<Adam>(p, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f);
      return std::make_unique<AdamW>(p, 1e-2f);
    };
    std::vector<Variable> big{Variable(init.clone(), true)};
    std::vector<Variable> small;
    for (int64_t k = 0; k < pieces; ++k) small.emplace_back(init.narrow0(k * piece, (k + 1) * piece).clone(), true);
    auto big_opt = make(big), small_opt = make(small);
    for (const Tensor& g : grads) {
      big[0].set_grad(Variable(g.clone()));
      for (int64_t k = 0; k < pieces; ++k) small[k].set_grad(Variable(g.narrow0(k * piece, (k + 1) * piece).clone()));
      big_opt->step();
      small_opt->step();
    }
    for (int64_t k = 0; k < pieces; ++k)
      expect_identical(big[0].data().narrow0(k * piece, (k + 1) * piece), small[k].data(), "piece " + std::to_string(k));
  }
}

// The vectorised, threaded Adam loop against the reference loop, for every kind of weight decay, at sizes
// below a vector, across block edges and above the threading threshold; v also holds zeros and denormals.
TEST(Optim, AdamKernelEqualsItsReference) {
  for (int64_t n : {1, 15, 4097, 100003}) {
    for (int kind = 0; kind < 3; ++kind) {
      SCOPED_TRACE(fmt::format("n={} kind={}", n, kind));
      Generator gen(11);
      Tensor p = randn({n}, gen), g = randn({n}, gen), m = randn({n}, gen), v = abs(randn({n}, gen));
      v.data()[0] = 0.f;
      if (n > 2) v.data()[1] = 1e-40f;
      AdamScalars s{0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, kind == 1 ? 1e-2f : 0.f, kind == 2 ? 0.9999f : 1.f,
                    kind == 2, 0.05f, 0.3f};
      Tensor p0 = p.clone(), p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
      adam_update(p.data(), g.data(), m.data(), v.data(), n, s);
      adam_update_reference(p2.data(), g.data(), m2.data(), v2.data(), n, s);
      expect_identical(p, p2, "p");
      expect_identical(m, m2, "m");
      expect_identical(v, v2, "v");
      EXPECT_NE(p.data()[0], p0.data()[0]) << "the step moved nothing";
    }
  }
}

TEST(Optim, ZeroGradForgetsGradients) {
  std::vector<Variable> params{Variable(Tensor::ones({2}), true)};
  SGD sgd(params, 0.1f);
  params[0].set_grad(Variable(Tensor::ones({2})));
  sgd.zero_grad();
  EXPECT_FALSE(params[0].grad().defined());
  sgd.step();  // nothing to do
  EXPECT_EQ(params[0].data().tolist(), (std::vector<float>{1.f, 1.f}));
}

TEST(Optim, SetLrChangesTheNextStep) {
  std::vector<Variable> params{Variable(Tensor::zeros({1}), true)};
  SGD sgd(params, 0.1f);
  sgd.set_lr(0.5f);
  params[0].set_grad(Variable(Tensor::ones({1})));
  sgd.step();
  EXPECT_FLOAT_EQ(params[0].data().item(), -0.5f);
}

TEST(Optim, ConstructorErrors) {
  Variable p(Tensor::zeros({2}), true);
  EXPECT_NE(error_of([] { SGD({}, 0.1f); }).find("empty parameter list"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({p}, -1.f); }).find("invalid learning rate -1"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({p}, 0.1f, 0.f, 0.f, 0.f, true); }).find("Nesterov"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({p, p}, 0.1f); }).find("parameters 0 and 1 are the same"), std::string::npos);
  EXPECT_NE(error_of([&] { Adam({p}, 0.1f, 1.f); }).find("Adam: invalid beta1 1"), std::string::npos);
  EXPECT_NE(error_of([&] { AdamW({p}, 0.1f, 0.9f, 0.999f, -1.f); }).find("AdamW: invalid epsilon"), std::string::npos);
}

TEST(Optim, GradientOfWrongShapeIsAnError) {
  std::vector<Variable> params{Variable(Tensor::zeros({2, 3}), true)};
  Adam adam(params);
  params[0].set_grad(Variable(Tensor::zeros({3, 2})));
  EXPECT_EQ(error_of([&] { adam.step(); }),
            "Adam.step: parameter 0 has shape [2, 3] but its gradient has shape [3, 2]");
}

// ------------------------------------------------------------------------------------------ state_dict

// Clones, as a checkpoint on disk would be: state_dict() shares the optimizer's live buffers.
static std::map<std::string, Tensor> snapshot(const Optimizer& optimizer) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : optimizer.state_dict()) out[name] = t.clone();
  return out;
}

TEST(Optim, StateDictContinuesExactly) {
  if (!fixture()) return;
  for (const auto& [config, make] : configs()) {
    SCOPED_TRACE(config);
    std::vector<Variable> straight = initial_params();
    auto straight_opt = make(straight);
    run_steps(*straight_opt, straight, 0, kSteps);

    // Steps 0-4, then the parameters and state move to a new optimizer that takes steps 5-9.
    std::vector<Variable> first = initial_params();
    auto first_opt = make(first);
    run_steps(*first_opt, first, 0, 5);
    std::map<std::string, Tensor> saved = snapshot(*first_opt);

    std::vector<Variable> resumed = initial_params();
    for (int i = 0; i < kParams; ++i) resumed[i].data().copy_(first[i].data());
    auto resumed_opt = make(resumed);
    resumed_opt->load_state_dict(saved);
    EXPECT_EQ(resumed_opt->steps_taken(), 5);
    run_steps(*resumed_opt, resumed, 5, kSteps);
    for (int i = 0; i < kParams; ++i) expect_identical(resumed[i].data(), straight[i].data(), "parameter " + std::to_string(i));
  }
}

TEST(Optim, LoadStateDictRestoresLr) {
  std::vector<Variable> params{Variable(Tensor::zeros({2}), true)};
  SGD a(params, 0.1f), b(params, 0.3f);
  a.set_lr(0.025f);
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.lr(), 0.025f);
}

TEST(Optim, LoadStateDictErrorsNameTheEntryAndChangeNothing) {
  std::vector<Variable> params{Variable(Tensor::zeros({2, 3}), true), Variable(Tensor::zeros({4}), true)};
  Adam adam(params);
  for (auto& p : params) p.set_grad(Variable(Tensor::ones(p.shape())));
  adam.step();
  const std::map<std::string, Tensor> good = snapshot(adam);

  auto with = [&](const std::string& key, const Tensor& value) {
    auto state = good;
    state[key] = value;
    return state;
  };
  auto without = [&](const std::string& key) {
    auto state = good;
    state.erase(key);
    return state;
  };
  Adam other(params, 0.5f);
  EXPECT_EQ(error_of([&] { other.load_state_dict(with("0.exp_avg", Tensor::zeros({3, 2}))); }),
            "Adam.load_state_dict: '0.exp_avg' has shape [3, 2], expected [2, 3]");
  EXPECT_EQ(error_of([&] { other.load_state_dict(with("2.exp_avg", Tensor::zeros({4}))); }),
            "Adam.load_state_dict: entry '2.exp_avg' is for parameter 2, but there are 2 parameters");
  EXPECT_EQ(error_of([&] { other.load_state_dict(with("0.momentum_buffer", Tensor::zeros({2, 3}))); }),
            "Adam.load_state_dict: unexpected entry '0.momentum_buffer' (Adam keeps 'step', 'exp_avg', 'exp_avg_sq' "
            "per parameter)");
  EXPECT_EQ(error_of([&] { other.load_state_dict(without("1.exp_avg_sq")); }),
            "Adam.load_state_dict: parameter 1 has only part of its state (expected all of '1.step', '1.exp_avg', "
            "'1.exp_avg_sq')");
  EXPECT_EQ(error_of([&] { other.load_state_dict(without("lr")); }), "Adam.load_state_dict: missing 'lr'");
  EXPECT_EQ(error_of([&] { other.load_state_dict(with("1.step", Tensor::scalar(1.5f))); }),
            "Adam.load_state_dict: '1.step' is 1.5, expected a whole number >= 0");
  EXPECT_EQ(other.lr(), 0.5f);  // none of the failed loads changed anything
  EXPECT_EQ(other.steps_taken(), 0);
  EXPECT_EQ(other.state_dict().size(), 2u);

  SGD sgd(params, 0.1f);  // plain SGD keeps no per-parameter state
  std::map<std::string, Tensor> sgd_state = sgd.state_dict();
  sgd_state["0.momentum_buffer"] = Tensor::zeros({2, 3});
  EXPECT_EQ(error_of([&] { sgd.load_state_dict(sgd_state); }),
            "SGD.load_state_dict: unexpected entry '0.momentum_buffer' (SGD keeps nothing per parameter)");
}

// ------------------------------------------------------------------------------------------ clipping

TEST(Optim, ClipGradNormMatchesTorch) {
  if (!fixture()) return;
  std::vector<Variable> params = initial_params();
  set_fixture_grads(params, 0);  // parameter 2 has no gradient: ignored
  float norm = clip_grad_norm_(params, 1.0f);
  EXPECT_NEAR(norm, torch_value("clip.norm").item(), 1e-5f);
  for (int i = 0; i < 2; ++i)
    expect_close(params[i].grad().data(), torch_value("clip.grad." + std::to_string(i)), "clipped gradient " + std::to_string(i));
}

TEST(Optim, ClipGradNormLeavesSmallGradientsAlone) {
  std::vector<Variable> params{Variable(Tensor::zeros({2}), true)};
  params[0].set_grad(Variable(Tensor::from({2}, {3.f, 4.f})));
  EXPECT_FLOAT_EQ(clip_grad_norm_(params, 10.f), 5.f);
  EXPECT_EQ(params[0].grad().data().tolist(), (std::vector<float>{3.f, 4.f}));
  EXPECT_FLOAT_EQ(clip_grad_norm_(params, 1.f), 5.f);
  EXPECT_NEAR(params[0].grad().data().at({0}), 0.6f, 1e-6f);
  EXPECT_EQ(clip_grad_norm_({Variable(Tensor::zeros({2}), true)}, 1.f), 0.f);  // no gradients at all
}

TEST(Optim, ClipGradNormLeavesNonFiniteGradientsAlone) {
  std::vector<Variable> params{Variable(Tensor::zeros({2}), true)};
  params[0].set_grad(Variable(Tensor::from({2}, {INFINITY, 1.f})));
  EXPECT_EQ(clip_grad_norm_(params, 1.f), INFINITY);
  EXPECT_EQ(params[0].grad().data().tolist(), (std::vector<float>{INFINITY, 1.f}));
}

// ------------------------------------------------------------------------------------------ schedulers

static std::vector<Variable> one_param() { return {Variable(Tensor::zeros({1}), true)}; }

// PyTorch: construction sets epoch 0's lr (last_epoch = 0); each step() moves one epoch on.
TEST(Schedule, StepLRFollowsTheClosedForm) {
  SGD sgd(one_param(), 0.1f);
  StepLR schedule(sgd, /*step_size=*/3, /*gamma=*/0.5);
  for (int64_t epoch = 0; epoch < 12; ++epoch) {
    EXPECT_EQ(schedule.last_epoch(), epoch);
    EXPECT_FLOAT_EQ(sgd.lr(), static_cast<float>(0.1 * std::pow(0.5, epoch / 3))) << "epoch " << epoch;
    schedule.step();
  }
}

TEST(Schedule, CosineAnnealingFollowsTheClosedForm) {
  SGD sgd(one_param(), 0.1f);
  const int64_t T_max = 10;
  const double eta_min = 0.001;
  CosineAnnealingLR schedule(sgd, T_max, eta_min);
  for (int64_t epoch = 0; epoch <= 2 * T_max; ++epoch) {
    double want = eta_min + (0.1 - eta_min) * (1 + std::cos(std::numbers::pi * epoch / T_max)) / 2;
    EXPECT_FLOAT_EQ(sgd.lr(), static_cast<float>(want)) << "epoch " << epoch;
    schedule.step();
  }
  schedule.set_last_epoch(T_max);
  EXPECT_FLOAT_EQ(sgd.lr(), static_cast<float>(eta_min));
}

TEST(Schedule, WarmupCosineRampsPeaksAndDecays) {
  Adam adam(one_param(), 1e-3f);
  WarmupCosine schedule(adam, /*warmup=*/4, /*total=*/14, /*min_lr=*/1e-5);
  std::vector<float> lrs;
  for (int i = 0; i < 20; ++i, schedule.step()) lrs.push_back(adam.lr());
  for (int e = 0; e < 4; ++e) EXPECT_FLOAT_EQ(lrs[e], static_cast<float>(1e-3 * (e + 1) / 5)) << e;
  EXPECT_FLOAT_EQ(lrs[4], 1e-3f);                                          // the peak
  EXPECT_FLOAT_EQ(lrs[9], static_cast<float>(1e-5 + (1e-3 - 1e-5) / 2));   // halfway down the cosine
  EXPECT_FLOAT_EQ(lrs[14], 1e-5f);                                         // the end
  EXPECT_FLOAT_EQ(lrs[19], 1e-5f);                                         // and after it
  for (int e = 4; e < 14; ++e) EXPECT_GT(lrs[e], lrs[e + 1]) << e;
}

TEST(Schedule, LinearWarmupThenConstant) {
  SGD sgd(one_param(), 0.2f);
  LinearWarmup schedule(sgd, 3);
  std::vector<float> want = {0.05f, 0.1f, 0.15f, 0.2f, 0.2f};
  for (float lr : want) {
    EXPECT_FLOAT_EQ(sgd.lr(), lr);
    schedule.step();
  }
}

// Resuming: a fresh scheduler (made from the optimizer's initial lr) jumps to the saved step.
TEST(Schedule, SetLastEpochResumes) {
  SGD a(one_param(), 0.1f), b(one_param(), 0.1f);
  WarmupCosine straight(a, 5, 50), resumed(b, 5, 50);
  for (int i = 0; i < 17; ++i) straight.step();
  resumed.set_last_epoch(17);
  EXPECT_EQ(a.lr(), b.lr());
  EXPECT_EQ(resumed.last_epoch(), 17);
}

TEST(Schedule, Errors) {
  SGD sgd(one_param(), 0.1f);
  EXPECT_EQ(error_of([&] { StepLR(sgd, 0); }), "StepLR: step_size must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { WarmupCosine(sgd, 10, 10); }),
            "WarmupCosine: expected 0 <= warmup < total, got warmup=10, total=10");
}

// ------------------------------------------------------------------------------------------ EMA

static std::shared_ptr<Sequential> small_net(uint64_t seed) {
  Generator gen(seed);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Linear>(3, 4, gen));
  net->add(std::make_shared<BatchNorm1d>(4));
  return net;
}

TEST(EMA, AveragesParametersAndCopiesBuffers) {
  auto net = small_net(1);
  EMA ema(*net, 0.9f);
  Tensor w0 = net->state_dict().at("0.weight").clone();
  std::map<std::string, Tensor> state = net->state_dict();
  state.at("0.weight").fill_(1.f);
  state.at("1.running_mean").fill_(5.f);
  ema.update(*net);
  EXPECT_EQ(ema.num_updates(), 1);

  Tensor shadow = ema.state_dict().at("0.weight");
  for (int64_t i = 0; i < shadow.numel(); ++i)
    EXPECT_NEAR(shadow.data()[i], 0.9f * w0.data()[i] + 0.1f * 1.f, 1e-6f);
  EXPECT_EQ(ema.state_dict().at("1.running_mean").tolist(), std::vector<float>(4, 5.f));  // copied, not averaged

  auto target = small_net(2);
  ema.copy_to(*target);
  for (const auto& [name, t] : ema.state_dict()) expect_identical(target->state_dict().at(name), t, name);
}

TEST(EMA, StateDictRoundTripAndErrors) {
  auto net = small_net(1);
  EMA a(*net, 0.99f);
  net->state_dict().at("0.bias").fill_(3.f);
  a.update(*net);
  EMA b(*small_net(2), 0.99f);
  b.load_state_dict(a.state_dict());
  for (const auto& [name, t] : a.state_dict()) expect_identical(b.state_dict().at(name), t, name);

  Sequential other;
  other.add(std::make_shared<Linear>(3, 5));
  EXPECT_EQ(error_of([&] { a.update(other); }),
            "EMA.update: the model's '0.bias' has shape [5], the EMA's [4]");
  auto state = a.state_dict();
  state.erase("0.bias");
  EXPECT_EQ(error_of([&] { b.load_state_dict(state); }), "EMA.load_state_dict: missing '0.bias'");
}

}  // namespace hd
