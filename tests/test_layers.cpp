// nn/layers.h and nn/init.h against PyTorch and against finite differences.
//
//   LayerInit*     weights drawn from a seed equal PyTorch's from the same seed, bit for bit
//   MatchesTorch*  forward, backward and buffers equal PyTorch's on the cases that
//                  tests/reference/make_nn_fixtures.py wrote into tests/fixtures/nn.safetensors
//   Gradcheck*     each layer's gradients (input and parameters) equal finite differences
//   Errors         the messages a user sees for wrong inputs
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/matmul.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "fixtures.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/safetensors.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// ------------------------------------------------------------------------------------------ fixture

static const char* kScript = "/usr/bin/python3 tests/reference/make_nn_fixtures.py";

// The fixture file, read once; nullptr (and a test failure naming the script) when it is missing.
static const TensorFile* fixture() {
  static const std::optional<TensorFile> file = []() -> std::optional<TensorFile> {
    std::string path = test::fixture_path("nn.safetensors");
    if (!std::filesystem::exists(path)) return std::nullopt;
    return load_safetensors(path);
  }();
  if (!file) ADD_FAILURE() << "missing fixture " << test::fixture_path("nn.safetensors") << ": run " << kScript;
  return file ? &*file : nullptr;
}

static Tensor torch_value(const std::string& name) {
  auto it = fixture()->tensors.find(name);
  if (it == fixture()->tensors.end())
    throw std::runtime_error("nn.safetensors has no tensor '" + name + "': rerun " + std::string(kScript));
  return it->second;
}

// Every entry "<prefix><rest>" as "<rest>".
static std::map<std::string, Tensor> with_prefix(const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : fixture()->tensors)
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

// |got - want| <= atol + rtol |want| everywhere; on failure, the worst element.
static void expect_close(const Tensor& got, const Tensor& want, const std::string& what, float atol = 1e-5f,
                         float rtol = 1e-4f) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  double worst = 0;
  int64_t worst_i = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double excess = std::fabs(got.data()[i] - want.data()[i]) - (atol + rtol * std::fabs(want.data()[i]));
    if (!(excess <= worst)) worst = excess, worst_i = i;
  }
  if (worst_i >= 0)
    ADD_FAILURE() << what << ": element " << worst_i << " of " << shape_str(got.shape()) << " is "
                  << got.data()[worst_i] << ", PyTorch has " << want.data()[worst_i] << " (atol " << atol << ", rtol "
                  << rtol << ")";
}

static void expect_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  expect_close(got, want, what, 0.f, 0.f);
}

// Loads the case's weights into `layer`, runs forward and backward of loss = sum(y * R), and compares the
// output, every gradient, the buffers afterwards, and print() with PyTorch's repr.
static void check_against_torch(Module& layer, const std::string& name) {
  if (!fixture()) return;
  const std::string p = name + ".";
  layer.load_state_dict(with_prefix(p + "state."));
  layer.train(fixture()->metadata.at(p + "train") == "1");
  EXPECT_EQ(layer.print(), fixture()->metadata.at(p + "repr"));

  bool differentiable_input = fixture()->tensors.count(p + "grad.x") > 0;
  Variable x(torch_value(p + "x").clone(), /*requires_grad=*/differentiable_input);
  Variable y = layer(x);
  expect_close(y.data(), torch_value(p + "y"), name + " output");
  sum(y * Variable(torch_value(p + "R"))).backward();
  if (differentiable_input) {
    ASSERT_TRUE(x.grad().defined()) << name << ": no gradient reached the input";
    expect_close(x.grad().data(), torch_value(p + "grad.x"), name + " input gradient");
  }
  for (const auto& [pname, param] : layer.named_parameters()) {
    ASSERT_TRUE(param.grad().defined()) << name << ": no gradient reached " << pname;
    expect_close(param.grad().data(), torch_value(p + "grad." + pname), name + " gradient of " + pname);
  }
  for (const auto& [bname, buffer] : layer.named_buffers())
    expect_close(buffer, torch_value(p + "after." + bname), name + " " + bname);
}

// ------------------------------------------------------------------------------------- initialisation

TEST(LayerInit, DefaultInitialisationMatchesPyTorchFromTheSameSeed) {
  if (!fixture()) return;
  Generator gen(0);  // torch.manual_seed(0), then the layers in the same order
  Linear l1(784, 400, gen);
  Linear l2(400, 20, gen);
  Conv2d conv(1, 8, 3, 1, 0, 1, true, gen);
  ConvTranspose2d deconv(8, 4, 4, /*stride=*/2, 0, 0, true, 1, gen);
  Embedding emb(10, 3, gen);
  Linear l3(6, 5, /*bias=*/false, gen);
  BatchNorm2d bn(3);

  Tensor w1 = l1.weight.data().reshape({-1});
  expect_equal(w1.narrow0(0, 512), torch_value("init.l1.weight.head"), "l1.weight head");
  expect_equal(w1.narrow0(w1.numel() - 512, w1.numel()), torch_value("init.l1.weight.tail"), "l1.weight tail");
  expect_equal(l1.bias.data(), torch_value("init.l1.bias"), "l1.bias");
  expect_equal(l2.weight.data(), torch_value("init.l2.weight"), "l2.weight");
  expect_equal(l2.bias.data(), torch_value("init.l2.bias"), "l2.bias");
  expect_equal(conv.weight.data(), torch_value("init.conv.weight"), "conv.weight");
  expect_equal(conv.bias.data(), torch_value("init.conv.bias"), "conv.bias");
  expect_equal(deconv.weight.data(), torch_value("init.deconv.weight"), "deconv.weight");  // fan_in = 4 * 4 * 4
  expect_equal(deconv.bias.data(), torch_value("init.deconv.bias"), "deconv.bias");
  expect_equal(emb.weight.data(), torch_value("init.emb.weight"), "emb.weight");
  expect_equal(l3.weight.data(), torch_value("init.l3.weight"), "l3.weight");
  for (const auto& [name, t] : bn.state_dict())
    if (name != "num_batches_tracked") expect_equal(t, torch_value("init.bn." + name), "bn." + name);
}

TEST(LayerInit, DefaultGeneratorAfterManualSeedGivesTheSameWeights) {
  if (!fixture()) return;
  manual_seed(0);
  Linear l1(784, 400);
  Linear l2(400, 20);
  expect_equal(l2.weight.data(), torch_value("init.l2.weight"), "l2.weight");
}

TEST(LayerInit, InitFunctionsMatchTorchNnInit) {
  if (!fixture()) return;
  Generator gen(1);  // the sequence INIT_FNS in make_nn_fixtures.py
  std::vector<std::pair<Shape, std::function<void(Tensor&)>>> steps = {
      {{4, 6, 3, 3}, [&](Tensor& t) { init::xavier_uniform_(t, 1.0, gen); }},
      {{5, 7}, [&](Tensor& t) { init::xavier_normal_(t, 2.0, gen); }},
      {{8, 3, 2, 2}, [&](Tensor& t) { init::kaiming_uniform_(t, 0.1, init::FanMode::FanOut, "leaky_relu", gen); }},
      {{3, 4}, [&](Tensor& t) { init::kaiming_normal_(t, 0.0, init::FanMode::FanIn, "relu", gen); }},
      {{6, 5}, [&](Tensor& t) { init::kaiming_normal_(t, 0.0, init::FanMode::FanOut, "tanh", gen); }},
      {{20}, [&](Tensor& t) { init::uniform_(t, -2.0, 3.0, gen); }},
      {{7}, [&](Tensor& t) { init::normal_(t, 1.5, 0.5, gen); }},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    Tensor t(steps[i].first);
    steps[i].second(t);
    expect_equal(t, torch_value("initfn." + std::to_string(i)), "init step " + std::to_string(i));
  }
}

TEST(LayerInit, FansAndGains) {
  init::Fans fans = init::calculate_fan_in_and_fan_out({16, 8, 3, 3});
  EXPECT_EQ(fans.fan_in, 8 * 9);
  EXPECT_EQ(fans.fan_out, 16 * 9);
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 5.0 / 3);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3));
  EXPECT_NE(error_of([] { init::calculate_fan_in_and_fan_out({5}); }).find("at least 2 dimensions"),
            std::string::npos);
  EXPECT_NE(error_of([] { init::calculate_gain("swish"); }).find("'swish'"), std::string::npos);
}

TEST(LayerInit, NormLayersStartAsTheIdentityMap) {
  BatchNorm1d bn(3);
  LayerNorm ln(4);
  GroupNorm gn(1, 2);
  EXPECT_EQ(bn.weight.data().tolist(), std::vector<float>(3, 1.f));
  EXPECT_EQ(bn.bias.data().tolist(), std::vector<float>(3, 0.f));
  EXPECT_EQ(bn.running_mean.tolist(), std::vector<float>(3, 0.f));
  EXPECT_EQ(bn.running_var.tolist(), std::vector<float>(3, 1.f));
  EXPECT_EQ(ln.weight.data().tolist(), std::vector<float>(4, 1.f));
  EXPECT_EQ(gn.bias.data().tolist(), std::vector<float>(2, 0.f));
}

// ------------------------------------------------------------------------------- against PyTorch

TEST(MatchesTorch, Linear) {
  Linear layer(5, 3);
  check_against_torch(layer, "linear");
}
TEST(MatchesTorch, LinearWithoutBiasOnABatchOfSequences) {
  Linear layer(5, 3, /*bias=*/false);
  check_against_torch(layer, "linear_nobias_3d");
}
TEST(MatchesTorch, Conv2dStrideAndPadding) {
  Conv2d layer(3, 4, 3, /*stride=*/2, /*padding=*/1);
  check_against_torch(layer, "conv2d");
}
TEST(MatchesTorch, Conv2dDilatedWithoutBias) {
  Conv2d layer(2, 3, 3, 1, 0, /*dilation=*/2, /*bias=*/false);
  check_against_torch(layer, "conv2d_dilated_nobias");
}
TEST(MatchesTorch, ConvTranspose2d) {
  ConvTranspose2d layer(4, 2, 4, /*stride=*/2, /*padding=*/1);
  check_against_torch(layer, "conv_transpose2d");
}
TEST(MatchesTorch, ConvTranspose2dOutputPadding) {
  ConvTranspose2d layer(3, 2, 3, /*stride=*/2, /*padding=*/1, /*output_padding=*/1);
  check_against_torch(layer, "conv_transpose2d_output_padding");
}
TEST(MatchesTorch, BatchNorm1dTrainingUpdatesRunningStatistics) {
  BatchNorm1d layer(4);
  check_against_torch(layer, "batchnorm1d_train");
}
TEST(MatchesTorch, BatchNorm1dTrainingOnSequences) {
  BatchNorm1d layer(3, 1e-5f, /*momentum=*/0.25f);
  check_against_torch(layer, "batchnorm1d_train_3d");
}
TEST(MatchesTorch, BatchNorm1dEvalUsesRunningStatistics) {
  BatchNorm1d layer(4);
  check_against_torch(layer, "batchnorm1d_eval");
}
TEST(MatchesTorch, BatchNorm2dTrainingUpdatesRunningStatistics) {
  BatchNorm2d layer(3);
  check_against_torch(layer, "batchnorm2d_train");
}
TEST(MatchesTorch, BatchNorm2dEvalUsesRunningStatistics) {
  BatchNorm2d layer(3, /*eps=*/1e-3f);
  check_against_torch(layer, "batchnorm2d_eval");
}
TEST(MatchesTorch, GroupNorm) {
  GroupNorm layer(2, 6);
  check_against_torch(layer, "groupnorm");
}
TEST(MatchesTorch, GroupNormOnSequencesWithoutAffine) {
  GroupNorm layer(3, 3, 1e-5f, /*affine=*/false);
  check_against_torch(layer, "groupnorm_3d_noaffine");
}
TEST(MatchesTorch, LayerNorm) {
  LayerNorm layer(8);
  check_against_torch(layer, "layernorm");
}
TEST(MatchesTorch, LayerNormOverTwoAxes) {
  LayerNorm layer(Shape{4, 4}, /*eps=*/1e-4f);
  check_against_torch(layer, "layernorm_2d");
}
TEST(MatchesTorch, EmbeddingAccumulatesRepeatedRows) {
  Embedding layer(10, 4);
  check_against_torch(layer, "embedding");
}
TEST(MatchesTorch, Activations) {
  ReLU relu;
  LeakyReLU leaky(0.2f);
  SiLU silu;
  GELU gelu;
  Tanh tanh;
  Sigmoid sigmoid;
  Softplus softplus;
  check_against_torch(relu, "relu");
  check_against_torch(leaky, "leaky_relu");
  check_against_torch(silu, "silu");
  check_against_torch(gelu, "gelu");
  check_against_torch(tanh, "tanh");
  check_against_torch(sigmoid, "sigmoid");
  check_against_torch(softplus, "softplus");
}
TEST(MatchesTorch, FlattenAndUnflatten) {
  Flatten flatten;
  Unflatten unflatten(1, {3, 4});
  check_against_torch(flatten, "flatten");
  check_against_torch(unflatten, "unflatten");
}
TEST(MatchesTorch, NestedSequential) {
  Sequential model{std::make_shared<Conv2d>(2, 4, 3, 1, /*padding=*/1), std::make_shared<BatchNorm2d>(4),
                   std::make_shared<LeakyReLU>(0.2f),
                   std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                       std::make_shared<Flatten>(), std::make_shared<Linear>(4 * 5 * 5, 3)}),
                   std::make_shared<Dropout>(0.0), std::make_shared<Tanh>()};
  check_against_torch(model, "sequential");
}

TEST(MatchesTorch, DropoutDrawsTorchsMaskFromTheSameSeed) {
  if (!fixture()) return;
  Generator gen(2);  // torch.manual_seed(2)
  Dropout dropout(0.3, gen);
  Variable x(torch_value("dropout.x"), /*requires_grad=*/true);
  Variable y1 = dropout(x);
  expect_equal(y1.data(), torch_value("dropout.y1"), "first mask");
  expect_equal(dropout(x).data(), torch_value("dropout.y2"), "second mask");  // the stream continues
  sum(y1 * Variable(torch_value("dropout.R"))).backward();
  expect_equal(x.grad().data(), torch_value("dropout.grad.x"), "gradient");
}

// ------------------------------------------------------------------------------ finite differences

// gradcheck (or gradgradcheck) of layer(x) with respect to x and the parameters in `slots`. Each
// evaluation points the layer's members at the Variables gradcheck perturbs, so the check runs the
// layer's own forward; the original parameters are put back afterwards.
static GradcheckResult check_layer(Module& layer, const Tensor& x, std::vector<Variable*> slots,
                                   bool second_order = false, bool x_is_differentiable = true) {
  std::vector<Variable> originals;
  std::vector<Tensor> inputs;
  if (x_is_differentiable) inputs.push_back(x);
  for (Variable* s : slots) {
    originals.push_back(*s);
    inputs.push_back(s->data());
  }
  size_t first_param = x_is_differentiable ? 1 : 0;
  DifferentiableFn f = [&](const std::vector<Variable>& v) {
    for (size_t i = 0; i < slots.size(); ++i) *slots[i] = v[first_param + i];
    return layer(x_is_differentiable ? v[0] : Variable(x));
  };
  GradcheckResult result = second_order ? gradgradcheck(f, inputs) : gradcheck(f, inputs);
  for (size_t i = 0; i < slots.size(); ++i) *slots[i] = originals[i];
  return result;
}

// Parameters away from their starting values (1 and 0 for the norms), so every term matters.
static void randomize(Module& layer, uint64_t seed) {
  Generator gen(seed);
  for (auto& p : layer.parameters()) p.data().copy_(normal(p.shape(), 0.5, 0.5, gen));
}

TEST(Gradcheck, Linear) {
  Generator gen(1);
  Linear layer(4, 3, gen);
  auto r = check_layer(layer, randn({2, 4}, gen), {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, Conv2dSecondOrder) {
  Generator gen(2);
  Conv2d layer(2, 3, 3, /*stride=*/2, /*padding=*/1, 1, true, gen);
  Tensor x = randn({2, 2, 5, 5}, gen);
  auto r = check_layer(layer, x, {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
  r = check_layer(layer, x, {&layer.weight, &layer.bias}, /*second_order=*/true);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, ConvTranspose2d) {
  Generator gen(3);
  ConvTranspose2d layer(2, 3, 3, /*stride=*/2, /*padding=*/1, /*output_padding=*/1, true, 1, gen);
  auto r = check_layer(layer, randn({2, 2, 3, 3}, gen), {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, BatchNorm1dTraining) {
  BatchNorm1d layer(3);
  randomize(layer, 4);
  auto r = check_layer(layer, randn({5, 3}), {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, BatchNorm2dTrainingSecondOrder) {
  BatchNorm2d layer(2);
  randomize(layer, 5);
  Tensor x = randn({3, 2, 2, 3});
  auto r = check_layer(layer, x, {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
  r = check_layer(layer, x, {&layer.weight, &layer.bias}, /*second_order=*/true);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, BatchNorm2dEval) {
  BatchNorm2d layer(2);
  randomize(layer, 6);
  layer.running_mean.copy_(Tensor::from({2}, {0.3f, -0.2f}));
  layer.running_var.copy_(Tensor::from({2}, {0.5f, 2.f}));
  layer.eval();
  auto r = check_layer(layer, randn({2, 2, 2, 2}), {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, GroupNormSecondOrder) {
  GroupNorm layer(2, 4);
  randomize(layer, 7);
  Tensor x = randn({2, 4, 3});
  auto r = check_layer(layer, x, {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
  r = check_layer(layer, x, {&layer.weight, &layer.bias}, /*second_order=*/true);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, LayerNormSecondOrder) {
  LayerNorm layer(5);
  randomize(layer, 8);
  Tensor x = randn({3, 5});
  auto r = check_layer(layer, x, {&layer.weight, &layer.bias});
  EXPECT_TRUE(r.ok) << r.message;
  r = check_layer(layer, x, {&layer.weight, &layer.bias}, /*second_order=*/true);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, EmbeddingWeight) {
  Generator gen(9);
  Embedding layer(6, 3, gen);
  Tensor index = Tensor::from({2, 2}, {1, 4, 4, 0});
  auto r = check_layer(layer, index, {&layer.weight}, false, /*x_is_differentiable=*/false);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, DropoutWithAFixedMask) {
  Generator gen(10);
  Dropout layer(0.4, gen);
  Tensor x = randn({3, 5});
  // Reseeding before each call draws the same mask, so the layer is a fixed function of x.
  auto f = [&](const std::vector<Variable>& v) {
    gen.manual_seed(11);
    return layer(v[0]);
  };
  auto r = gradcheck(f, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, ActivationsInASequential) {
  Sequential model{std::make_shared<LeakyReLU>(0.1f), std::make_shared<SiLU>(), std::make_shared<GELU>(),
                   std::make_shared<Tanh>(), std::make_shared<Softplus>(), std::make_shared<Sigmoid>()};
  // Away from 0, where leaky_relu has its kink.
  Tensor x = Tensor::from({2, 3}, {-1.5f, -0.4f, 0.3f, 0.8f, 1.7f, -2.2f});
  auto r = check_layer(model, x, {});
  EXPECT_TRUE(r.ok) << r.message;
}

// --------------------------------------------------------------------------------------- behaviour

TEST(Layers, BatchNormEvalLeavesRunningStatisticsAlone) {
  BatchNorm1d bn(2);
  bn.eval();
  bn(randn({4, 2}));
  EXPECT_EQ(bn.running_mean.tolist(), std::vector<float>(2, 0.f));
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.f);
}

TEST(Layers, BatchNormTrainingNormalisesEachChannel) {
  BatchNorm2d bn(3);
  Variable y = bn(normal({8, 3, 4, 4}, 5.0, 3.0));
  Tensor m = mean(y, {0, 2, 3}).data();
  Tensor v = var(y, {0, 2, 3}, /*correction=*/0).data();
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(m.data()[c], 0.f, 1e-5f);
    EXPECT_NEAR(v.data()[c], 1.f, 1e-3f);
  }
}

TEST(Layers, RunningStatisticsUpdateIsNotRecorded) {
  BatchNorm1d bn(2);
  Variable x(randn({4, 2}), /*requires_grad=*/true);
  bn(x);
  // The running buffers are plain tensors; no graph holds them and they need no gradient.
  for (const auto& [name, b] : bn.named_buffers()) EXPECT_FALSE(Variable(b).requires_grad()) << name;
}

TEST(Layers, DropoutIsTheIdentityInEvalAndZeroWithPOne) {
  Tensor x = randn({10});
  Dropout half(0.5);
  half.eval();
  EXPECT_EQ(half(x).data().tolist(), x.tolist());
  Dropout all(1.0);
  EXPECT_EQ(all(x).data().tolist(), std::vector<float>(10, 0.f));
}

TEST(Layers, DropoutKeepsTheExpectedValue) {
  Generator gen(3);
  Dropout dropout(0.25, gen);
  Tensor y = dropout(Tensor::ones({20000})).data();
  EXPECT_NEAR(mean(Variable(y)).item(), 1.f, 0.02f);
}

static std::string names_of_state(const Module& m) {
  std::string names;
  for (const auto& [name, t] : m.state_dict()) names += name + " ";
  return names;
}

TEST(Layers, SequentialAppliesInOrderAndIndexes) {
  Sequential seq;
  auto fc = seq.add(std::make_shared<Linear>(3, 2));
  seq.add(std::make_shared<ReLU>());
  EXPECT_EQ(seq.size(), 2u);
  EXPECT_EQ(seq[0], fc);
  Tensor x = randn({4, 3});
  EXPECT_EQ(seq(x).data().tolist(), relu(linear(x, fc->weight, fc->bias)).data().tolist());
  EXPECT_EQ(names_of_state(seq), "0.bias 0.weight ");
}

TEST(Layers, ErrorsNameTheLayerAndTheShapes) {
  Linear fc(784, 400);
  EXPECT_EQ(error_of([&] { fc(Tensor::zeros({2, 100})); }),
            "Linear(in_features=784, out_features=400, bias=True): input has shape [2, 100], 100 features, expected 784");
  Conv2d conv(3, 8, 3);
  EXPECT_EQ(error_of([&] { conv(Tensor::zeros({2, 1, 28, 28})); }),
            "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)): expected input [B, 3, H, W], got [2, 1, 28, 28]");
  BatchNorm1d bn(4);
  EXPECT_NE(error_of([&] { bn(Tensor::zeros({1, 4})); }).find("more than 1 value per channel"), std::string::npos);
  EXPECT_NE(error_of([&] { bn(Tensor::zeros({2, 5})); }).find("expected input [N, 4] or [N, 4, L], got [2, 5]"),
            std::string::npos);
  Embedding emb(10, 3);
  EXPECT_NE(error_of([&] { emb(Tensor::from({2}, {3, 10})); }).find("index 10"), std::string::npos);
  LayerNorm ln(Shape{4, 4});
  EXPECT_NE(error_of([&] { ln(Tensor::zeros({2, 4, 5})); }).find("expected input [*, 4, 4], got [2, 4, 5]"),
            std::string::npos);
  Unflatten unflatten(1, {3, 5});
  EXPECT_NE(error_of([&] { unflatten(Tensor::zeros({2, 12})); }).find("cannot split axis 1 of size 12"),
            std::string::npos);
  EXPECT_NE(error_of([] { GroupNorm(3, 8); }).find("divisible"), std::string::npos);
  EXPECT_NE(error_of([] { Dropout(1.5); }).find("between 0 and 1"), std::string::npos);
  EXPECT_NE(error_of([] { ConvTranspose2d(2, 2, 3, 1, 0, /*output_padding=*/1); }).find("output_padding"),
            std::string::npos);
}

}  // namespace hd
