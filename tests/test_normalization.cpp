// Tests for the fused batch_norm and group_norm ops (autograd/normalization.h) and its kernels (tensor/normalization.h).
// Its values against PyTorch and its derivatives against finite differences are in the op cases
// (tests/op_cases.h); here: the kernels against plain double loops, the fused backward against the
// same rule written with differentiable ops, the running statistics (by hand and against PyTorch's buffers), and
// the argument checks.
#include "autograd/normalization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "fixtures.h"
#include "tensor/normalization.h"
#include "tensor/safetensors.h"
#include "tensor_checks.h"

namespace hd::test {
namespace {

Tensor random_tensor(const Shape& shape, unsigned seed, float scale = 1.f, float offset = 0.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = offset + scale * dist(gen);
  return t;
}

void expect_close(const Tensor& a, const Tensor& b, float tol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_NEAR(a.data()[i], b.data()[i], tol * (1.f + std::fabs(b.data()[i]))) << what << " at " << i;
}

// Per-channel mean and biased variance of x: [N, C, *] in double, two passes (the definition).
std::pair<std::vector<double>, std::vector<double>> reference_statistics(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  std::vector<double> mean(C, 0.0), var(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) mean[c] += x.data()[(n * C + c) * S + i];
    mean[c] /= static_cast<double>(N * S);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) var[c] += std::pow(x.data()[(n * C + c) * S + i] - mean[c], 2);
    var[c] /= static_cast<double>(N * S);
  }
  return {mean, var};
}

TEST(BatchNormStatistics, MatchDoubleTwoPassSums) {
  // A large mean next to a small spread is where a plain sum-of-squares formula loses every digit.
  for (const Shape& shape : {Shape{64, 5}, Shape{8, 3, 17}, Shape{16, 4, 28, 28}}) {
    Tensor x = random_tensor(shape, 1, 0.5f, 100.f);
    auto [mean, var] = batch_norm_statistics(x);
    auto [ref_mean, ref_var] = reference_statistics(x);
    for (int64_t c = 0; c < x.size(1); ++c) {
      EXPECT_NEAR(mean.data()[c], ref_mean[c], 1e-5 * std::fabs(ref_mean[c])) << shape_str(shape);
      EXPECT_NEAR(var.data()[c], ref_var[c], 1e-4 * ref_var[c]) << shape_str(shape);
    }
  }
}

// The backward a create_graph pass takes (differentiable ops) and the fused kernels give the same gradients.
void expect_fused_backward_matches_differentiable(bool training) {
  Tensor x_data = random_tensor({8, 3, 5, 6}, 2, 2.f, 1.f);
  Tensor g = random_tensor({8, 3, 5, 6}, 3);
  Tensor running_mean = random_tensor({3}, 4), running_var = Tensor::full({3}, 1.7f);
  Variable x(x_data, true), w(random_tensor({3}, 5), true), b(random_tensor({3}, 6), true);
  Variable y = batch_norm(x, running_mean, running_var, w, b, training);
  std::vector<Variable> fused = grad(y, {x, w, b}, Variable(g), {.retain_graph = true});
  std::vector<Variable> composed = grad(y, {x, w, b}, Variable(g), {.create_graph = true});
  const char* names[] = {"dx", "dweight", "dbias"};
  for (int i = 0; i < 3; ++i) expect_close(fused[i].data(), composed[i].data(), 1e-4f, names[i]);
}

TEST(BatchNormOp, FusedBackwardMatchesDifferentiableRuleInTraining) { expect_fused_backward_matches_differentiable(true); }
TEST(BatchNormOp, FusedBackwardMatchesDifferentiableRuleInEvaluation) {
  expect_fused_backward_matches_differentiable(false);
}

TEST(BatchNormOp, TrainingUpdatesRunningStatisticsWithTheUnbiasedVariance) {
  Tensor x = random_tensor({6, 2, 3}, 7, 3.f, -2.f);
  Tensor running_mean = Tensor::from({2}, {0.5f, -1.f}), running_var = Tensor::from({2}, {2.f, 0.25f});
  auto [ref_mean, ref_var] = reference_statistics(x);
  std::vector<float> old_mean = running_mean.tolist(), old_var = running_var.tolist();
  batch_norm(x, running_mean, running_var, Variable(), Variable(), /*training=*/true, /*momentum=*/0.3f);
  const double n = 6 * 3;
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(running_mean.data()[c], 0.7 * old_mean[c] + 0.3 * ref_mean[c], 1e-5);
    EXPECT_NEAR(running_var.data()[c], 0.7 * old_var[c] + 0.3 * ref_var[c] * n / (n - 1), 1e-5);
  }
}

// PyTorch's rule on numbers small enough to do by hand: momentum 0.5, n = 4 values per channel (n / (n - 1) = 4/3).
TEST(BatchNormRunningStats, UpdateIsPyTorchsFormulaWithTheUnbiasedVariance) {
  Tensor running_mean = Tensor::from({2}, {1.f, -2.f}), running_var = Tensor::from({2}, {2.f, 4.f});
  update_running_stats_(running_mean, running_var, Tensor::from({2}, {3.f, 0.f}), Tensor::from({2}, {1.5f, 0.75f}),
                        /*count=*/4, /*momentum=*/0.5f);
  EXPECT_FLOAT_EQ(running_mean.data()[0], 2.f);   // 0.5 * 1 + 0.5 * 3
  EXPECT_FLOAT_EQ(running_mean.data()[1], -1.f);  // 0.5 * -2 + 0.5 * 0
  EXPECT_FLOAT_EQ(running_var.data()[0], 2.f);    // 0.5 * 2 + 0.5 * 1.5 * 4/3
  EXPECT_FLOAT_EQ(running_var.data()[1], 2.5f);   // 0.5 * 4 + 0.5 * 0.75 * 4/3
  expect_invalid([&] { update_running_stats_(running_mean, running_var, running_mean, running_var, 1, 0.1f); },
                 {"update_running_stats_", "count is 1"});
  expect_invalid([&] { update_running_stats_(running_mean, running_var, Tensor::zeros({3}), running_var, 4, 0.1f); },
                 {"update_running_stats_", "batch_mean must have shape [2]", "got [3]"});
}

// The BatchNorm layers' PyTorch fixtures (tests/reference/make_nn_fixtures.py): the buffers before and after one
// training call, from the batch's statistics (tensor/normalization.h) and the update alone.
TEST(BatchNormRunningStats, UpdateGivesPyTorchsBuffersAfterATrainingCall) {
  const TensorFile torch = load_safetensors(fixture_path("nn.safetensors"));
  const std::pair<const char*, float> cases[] = {
      {"batchnorm1d_train", 0.1f}, {"batchnorm1d_train_3d", 0.25f}, {"batchnorm2d_train", 0.1f}};
  for (const auto& [name, momentum] : cases) {
    const std::string p = std::string(name) + ".";
    const Tensor x = torch.tensors.at(p + "x");
    Tensor running_mean = torch.tensors.at(p + "state.running_mean").clone();
    Tensor running_var = torch.tensors.at(p + "state.running_var").clone();
    auto [mean, var] = batch_norm_statistics(x);
    update_running_stats_(running_mean, running_var, mean, var, x.numel() / x.size(1), momentum);
    expect_close(running_mean, torch.tensors.at(p + "after.running_mean"), 1e-6f, p + "running_mean");
    expect_close(running_var, torch.tensors.at(p + "after.running_var"), 1e-6f, p + "running_var");
  }
}

TEST(BatchNormOp, EvaluationIsAnAffineMapPerChannelAndLeavesRunningStatisticsAlone) {
  Tensor x = random_tensor({4, 2}, 8);
  Tensor running_mean = Tensor::from({2}, {0.5f, -1.f}), running_var = Tensor::from({2}, {4.f, 0.25f});
  Tensor w = Tensor::from({2}, {2.f, 3.f}), b = Tensor::from({2}, {0.1f, -0.2f});
  Tensor y = batch_norm(x, running_mean, running_var, w, b, /*training=*/false, 0.1f, /*eps=*/0.f).data();
  for (int64_t n = 0; n < 4; ++n) {
    EXPECT_NEAR(y.at({n, 0}), (x.at({n, 0}) - 0.5f) / 2.f * 2.f + 0.1f, 1e-6);
    EXPECT_NEAR(y.at({n, 1}), (x.at({n, 1}) + 1.f) / 0.5f * 3.f - 0.2f, 1e-6);
  }
  expect_values(running_mean, {2}, {0.5f, -1.f});
  expect_values(running_var, {2}, {4.f, 0.25f});
}

TEST(BatchNormOp, BadArgumentsNameTheOpAndWhatWasExpected) {
  Tensor x = Tensor::zeros({4, 3, 2, 2});
  Tensor stats = Tensor::zeros({3});
  expect_invalid([&] { batch_norm(Tensor::zeros({4}), Tensor(), Tensor(), Variable(), Variable(), true); },
                 {"batch_norm", "expected input [N, C]", "got [4]"});
  expect_invalid([&] { batch_norm(x, Tensor::zeros({4}), stats, Variable(), Variable(), true); },
                 {"batch_norm", "running_mean must have shape [3]", "got [4]"});
  expect_invalid([&] { batch_norm(x, stats, stats, Tensor::ones({2}), Variable(), true); },
                 {"batch_norm", "weight must have shape [3]", "input [4, 3, 2, 2]", "got [2]"});
  expect_invalid([&] { batch_norm(x, stats, stats, Variable(), Tensor::ones({3, 1}), true); },
                 {"batch_norm", "bias must have shape [3]", "got [3, 1]"});
  expect_invalid([&] { batch_norm(x, Tensor(), Tensor(), Variable(), Variable(), /*training=*/false); },
                 {"batch_norm", "running_mean is undefined", "expected shape [3]"});
  expect_invalid([&] { batch_norm(x, stats, Tensor(), Variable(), Variable(), true); },
                 {"batch_norm", "both running_mean and running_var"});
  expect_invalid([&] { batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Variable(), Variable(), true); },
                 {"batch_norm", "more than 1 value per channel", "[1, 3]"});
  expect_invalid([&] { batch_norm_forward(x, stats, Tensor::zeros({2}), Tensor(), Tensor()); },
                 {"batch_norm", "inv_std must have shape [3]"});
  expect_invalid([&] { batch_norm_backward(Tensor::zeros({4, 3}), x, stats, stats, Tensor(), true); },
                 {"batch_norm_backward", "g must have the input's shape [4, 3, 2, 2]", "got [4, 3]"});
}

// ------------------------------------------------------------------------------------------- group_norm

// group_norm from the definition, with differentiable ops: x viewed as [N, G, M], each row normalised.
Variable group_norm_by_definition(const Variable& x, int64_t groups, const Variable& w, const Variable& b, float eps) {
  const Variable xg = reshape(x, {x.size(0), groups, -1});
  const Variable centered = xg - mean(xg, {2}, /*keepdim=*/true);
  const Variable xhat = reshape(centered / sqrt(mean(square(centered), {2}, true) + eps), x.shape());
  return xhat * reshape(w, {1, x.size(1), 1, 1}) + reshape(b, {1, x.size(1), 1, 1});
}

// At a U-Net's size (8 groups of 4 channels of 14 x 14, threaded): the kernels' output and fused backward give what
// the definition and autograd through it give.
TEST(GroupNormOp, MatchesItsDefinitionForwardAndBackwardAtUNetSize) {
  const Variable x(random_tensor({6, 32, 14, 14}, 21, 2.f, 1.f), true);
  const Variable w(random_tensor({32}, 22, 0.5f, 1.f), true), b(random_tensor({32}, 23), true);
  const Tensor g = random_tensor({6, 32, 14, 14}, 24);
  const Variable fused = group_norm(x, 8, w, b);
  const Variable plain = group_norm_by_definition(x, 8, w, b, 1e-5f);
  expect_close(fused.data(), plain.data(), 1e-4f, "output");
  const std::vector<Variable> gf = grad(fused, {x, w, b}, Variable(g));
  const std::vector<Variable> gp = grad(plain, {x, w, b}, Variable(g));
  expect_close(gf[0].data(), gp[0].data(), 1e-3f, "dx");
  expect_close(gf[1].data(), gp[1].data(), 1e-3f, "dweight");
  expect_close(gf[2].data(), gp[2].data(), 1e-3f, "dbias");
}

TEST(GroupNormOp, EachSamplesGroupHasMeanZeroAndVarianceOne) {
  const Tensor y = group_norm(Variable(random_tensor({2, 6, 3, 3}, 5, 3.f, -2.f)), 3).data();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t g = 0; g < 3; ++g) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < 18; ++i) {
        const double v = y.data()[(n * 3 + g) * 18 + i];
        s += v;
        ss += v * v;
      }
      EXPECT_NEAR(s / 18, 0.0, 1e-5);
      EXPECT_NEAR(ss / 18, 1.0, 1e-3);  // eps 1e-5 next to a variance of about 9
    }
}

TEST(GroupNormOp, RejectsGroupsThatDoNotDivideTheChannelsAndWrongShapes) {
  const Variable x(Tensor::zeros({2, 6, 2, 2}));
  expect_invalid([&] { group_norm(x, 4); }, {"group_norm", "6 channels", "num_groups = 4"});
  expect_invalid([&] { group_norm(x, 0); }, {"group_norm", "num_groups = 0"});
  expect_invalid([&] { group_norm(Variable(Tensor::zeros({6})), 2); }, {"group_norm", "expected input [N, C, *]"});
  expect_invalid([&] { group_norm(x, 2, Variable(Tensor::ones({3}))); }, {"group_norm", "weight must have shape [6]"});
  expect_invalid([&] { group_norm_forward(x.data(), Tensor::zeros({2, 3}), Tensor::zeros({2, 2}), Tensor(), Tensor()); },
                 {"group_norm", "inv_std must have shape [2, 3]"});
}

}  // namespace
}  // namespace hd::test
