// The engine's behaviour: accumulation over uses, freeing the graph, retain_graph, create_graph,
// no_grad, detach, and the errors a user sees.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/activation.h"
#include "autograd/dot.h"
#include "autograd/elementwise.h"
#include "autograd/matmul.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "tensor/elementwise.h"

namespace hd {

static Variable param(std::vector<float> values) {
  auto n = static_cast<int64_t>(values.size());
  return Variable(Tensor::from({n}, values), /*requires_grad=*/true);
}

using test::error_of;  // tests/error_of.h

TEST(Autograd, ChainRuleThroughTwoOps) {
  Variable x = param({2.f});
  Variable y = sum(square(x) * 3.f);  // y = 3 x^2, dy/dx = 6x = 12
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 12.f);
}

TEST(Autograd, VariableUsedTwiceGetsTheSumOfBothGradients) {
  Variable x = param({3.f});
  Variable y = sum(x * x + x);  // dy/dx = 2x + 1 = 7
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 7.f);
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCallsUntilZeroGrad) {
  Variable x = param({1.f, 2.f});
  sum(x * 2.f).backward();
  sum(x * 2.f).backward();
  EXPECT_EQ(x.grad().data().tolist(), (std::vector<float>{4.f, 4.f}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, LeafGradientsNeverShareStorage) {
  // add passes its gradient straight through to both inputs; scaling one .grad in place
  // (as gradient clipping does) must not change the other.
  Variable x = param({1.f, 2.f}), y = param({3.f, 4.f});
  Tensor upstream = Tensor::from({2}, {1.f, 1.f});
  (x + y).backward(Variable(upstream));
  mul_(x.grad().data(), 0.5f);
  EXPECT_EQ(y.grad().data().tolist(), (std::vector<float>{1.f, 1.f}));
  EXPECT_EQ(upstream.tolist(), (std::vector<float>{1.f, 1.f}));
}

TEST(Autograd, SecondBackwardThroughFreedGraphThrows) {
  Variable x = param({1.f, 2.f});
  Variable y = sum(exp(x));
  y.backward();
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("second time"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retain_graph"), std::string::npos) << msg;
}

TEST(Autograd, RetainGraphAllowsASecondBackwardThatAccumulates) {
  Variable x = param({0.5f});
  Variable y = sum(exp(x));
  y.backward({.retain_graph = true});
  y.backward();
  EXPECT_NEAR(x.grad().item(), 2.f * std::exp(0.5f), 1e-6f);
}

TEST(Autograd, BackwardFreesSavedValues) {
  Variable x = param({1.f, 2.f});
  Variable y = exp(x);
  Variable loss = sum(y);
  loss.backward();
  EXPECT_TRUE(y.grad_fn()->freed);
  EXPECT_FALSE(y.grad_fn()->saved_output.defined());
  EXPECT_FALSE(static_cast<bool>(y.grad_fn()->backward));
}

TEST(Autograd, NonScalarBackwardNeedsAGradient) {
  Variable x = param({1.f, 2.f});
  Variable y = x * 2.f;
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("scalar"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  y.backward(Variable(Tensor::from({2}, {1.f, -1.f})));
  EXPECT_EQ(x.grad().data().tolist(), (std::vector<float>{2.f, -2.f}));
}

TEST(Autograd, GradientOfWrongShapeIsRejected) {
  Variable x = param({1.f, 2.f});
  std::string msg = error_of([&] { (x * 2.f).backward(Variable(Tensor::ones({3}))); });
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
}

TEST(Autograd, BackwardOnAConstantThrows) {
  Variable c(Tensor::ones({}));
  std::string msg = error_of([&] { c.backward(); });
  EXPECT_NE(msg.find("does not require grad"), std::string::npos) << msg;
}

TEST(Autograd, NoGradRecordsNothing) {
  Variable x = param({1.f});
  NoGradGuard guard;
  Variable y = x * 2.f;
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, DetachCutsTheGraph) {
  Variable x = param({3.f});
  Variable y = sum(x * x.detach());  // dy/dx = x (the detached factor is a constant)
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 3.f);
}

TEST(Autograd, OnlyLeavesCanBeMarkedRequiresGrad) {
  Variable x = param({1.f});
  Variable y = x * 2.f;
  std::string msg = error_of([&] { y.requires_grad_(); });
  EXPECT_NE(msg.find("mul_scalar"), std::string::npos) << msg;
}

TEST(Autograd, ConstantsGetNoGradient) {
  Variable x = param({2.f});
  Variable c(Tensor::from({1}, {5.f}));
  sum(x * c).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_FLOAT_EQ(x.grad().item(), 5.f);
}

TEST(Autograd, CreateGraphGivesDifferentiableGradients) {
  Variable x = param({0.7f});
  Variable y = sum(pow(x, 3.f));  // y' = 3x^2, y'' = 6x
  std::vector<Variable> g = grad(y, {x}, Variable(), {.create_graph = true});
  EXPECT_TRUE(g[0].requires_grad());
  EXPECT_NEAR(g[0].item(), 3.f * 0.49f, 1e-6f);
  std::vector<Variable> gg = grad(sum(g[0]), {x});
  EXPECT_NEAR(gg[0].item(), 6.f * 0.7f, 1e-5f);
}

TEST(Autograd, SecondDerivativeThroughSavedOutput) {
  // tanh's rule reuses its output; with create_graph that output must be differentiable again.
  Variable x = param({0.3f});
  Variable g = grad(sum(tanh(x)), {x}, Variable(), {.create_graph = true})[0];  // 1 - tanh^2
  Variable gg = grad(sum(g), {x})[0];                                           // -2 tanh (1 - tanh^2)
  float t = std::tanh(0.3f);
  EXPECT_NEAR(gg.item(), -2.f * t * (1.f - t * t), 1e-6f);
}

TEST(Autograd, WithoutCreateGraphGradientsAreConstants) {
  Variable x = param({0.7f});
  std::vector<Variable> g = grad(sum(pow(x, 3.f)), {x});
  EXPECT_FALSE(g[0].requires_grad());
  EXPECT_FALSE(x.grad().defined());  // grad() leaves .grad alone
}

TEST(Autograd, GradientPenaltyPattern) {
  // || d D(x) / dx ||^2 differentiated with respect to D's weight, as a WGAN-GP does.
  Variable w = Variable(Tensor::from({2, 1}, {0.5f, -1.5f}), true);
  Variable x = Variable(Tensor::from({1, 2}, {1.f, 2.f}), true);
  Variable d = sum(tanh(matmul(x, w)));
  Variable gx = grad(d, {x}, Variable(), {.create_graph = true})[0];
  Variable penalty = sum(square(gx));
  penalty.backward();
  ASSERT_TRUE(w.grad().defined());
  // Analytic: gx = (1 - t^2) w^T, t = tanh(x.w) = tanh(-2.5); penalty = (1-t^2)^2 |w|^2.
  float t = std::tanh(-2.5f), s = 1 - t * t;
  float dp_dw0 = 2 * s * s * 0.5f + (0.5f * 0.5f + 1.5f * 1.5f) * 2 * s * (-2 * t * s) * 1.f;
  EXPECT_NEAR(w.grad().data().data()[0], dp_dw0, 1e-4f);
}

TEST(Autograd, DotGraphNamesOpsAndLeaves) {
  Variable x = param({1.f, 2.f});
  x.set_name("x");
  Variable y = sum(relu(x * 2.f));
  std::string dot = to_dot(y);
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("relu"), std::string::npos);
  EXPECT_NE(dot.find("mul_scalar"), std::string::npos);
  EXPECT_NE(dot.find("x\\n[2]"), std::string::npos);
}

}  // namespace hd
