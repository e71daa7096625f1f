// Every op case against PyTorch: same inputs in, same output and input gradients out.
#include <gtest/gtest.h>

#include <cmath>

#include "op_cases.h"
#include "op_fixtures.h"

namespace hd::test {

// float32 on both sides, but different summation orders (GEMM blocking, reductions):
// agreement to 1e-4 relative plus 1e-5 absolute. The same infinity, or nan on both sides (the mean of
// nothing), agrees.
static ::testing::AssertionResult close_to_torch(const Tensor& ours, const Tensor& torch, const std::string& what) {
  if (ours.shape() != torch.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(ours.shape()) << ", PyTorch has "
                                         << shape_str(torch.shape());
  for (int64_t i = 0; i < ours.numel(); ++i) {
    float a = ours.data()[i], b = torch.data()[i];
    if (a == b || (std::isnan(a) && std::isnan(b))) continue;
    if (!(std::fabs(a - b) <= 1e-5f + 1e-4f * std::fabs(b)))
      return ::testing::AssertionFailure() << what << " element " << i << ": " << a << ", PyTorch has " << b;
  }
  return ::testing::AssertionSuccess();
}

class MatchesPyTorch : public ::testing::TestWithParam<OpCase> {};

TEST_P(MatchesPyTorch, OutputAndGradients) {
  const OpCase& c = GetParam();
  FixtureCase f = load_fixture_case(c.name);
  Vars x;
  for (const auto& t : f.inputs) x.push_back(Variable(t, /*requires_grad=*/true));
  Variable out = c.fn(x, f.consts);
  EXPECT_TRUE(close_to_torch(out.data(), f.out, "output"));
  out.backward(Variable(f.gout));
  for (size_t i = 0; i < x.size(); ++i) {
    Tensor g = x[i].grad().defined() ? x[i].grad().data() : Tensor::zeros(x[i].shape());
    EXPECT_TRUE(close_to_torch(g, f.grads[i], "gradient of input " + std::to_string(i)));
  }
}

// d/dx_i of s = sum_j <dL/dx_j, v_j>: the backward rules differentiated once more (create_graph).
TEST_P(MatchesPyTorch, SecondDerivatives) {
  const OpCase& c = GetParam();
  if (!c.twice_differentiable) GTEST_SKIP() << c.op << " is first-order only";
  FixtureCase f = load_fixture_case(c.name);
  Vars x;
  for (const auto& t : f.inputs) x.push_back(Variable(t, /*requires_grad=*/true));
  Variable out = c.fn(x, f.consts);
  std::vector<Variable> grads = grad(out, x, Variable(f.gout), {.create_graph = true});
  Variable s;
  for (size_t j = 0; j < x.size(); ++j) {
    if (!grads[j].defined() || !grads[j].requires_grad()) continue;  // a gradient that does not depend on x
    Variable term = sum(grads[j] * Variable(f.directions[j]));
    s = s.defined() ? s + term : term;
  }
  std::vector<Variable> second(x.size());
  if (s.defined()) second = grad(s, x);
  for (size_t i = 0; i < x.size(); ++i) {
    Tensor gg = second[i].defined() ? second[i].data() : Tensor::zeros(x[i].shape());
    EXPECT_TRUE(close_to_torch(gg, f.second_grads[i], "second derivative for input " + std::to_string(i)));
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, MatchesPyTorch, ::testing::ValuesIn(op_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

}  // namespace hd::test
