// Every op case's backward rule against central finite differences (first and second derivatives).
// The inputs are PyTorch's fixture inputs, drawn away from kinks (see make_op_fixtures.py).
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "op_cases.h"
#include "op_fixtures.h"
#include "tensor/elementwise.h"

namespace hd::test {

class Gradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(Gradcheck, FirstDerivativesMatchFiniteDifferences) {
  const OpCase& c = GetParam();
  if (!c.finite_differences) GTEST_SKIP() << c.name << " is at a point where " << c.op << " is not differentiable";
  FixtureCase f = load_fixture_case(c.name);
  GradcheckResult r = gradcheck([&](const Vars& x) { return c.fn(x, f.consts); }, f.inputs);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message;
}

TEST_P(Gradcheck, SecondDerivativesMatchFiniteDifferences) {
  const OpCase& c = GetParam();
  if (!c.twice_differentiable) GTEST_SKIP() << c.op << " is first-order only";
  if (!c.finite_differences) GTEST_SKIP() << c.name << " is at a point where " << c.op << " is not differentiable";
  FixtureCase f = load_fixture_case(c.name);
  GradcheckResult r = gradgradcheck([&](const Vars& x) { return c.fn(x, f.consts); }, f.inputs);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message;
}

INSTANTIATE_TEST_SUITE_P(Ops, Gradcheck, ::testing::ValuesIn(op_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

TEST(GradcheckHelper, CatchesAWrongBackwardRule) {
  // A deliberately wrong rule (d/dx x^2 claimed to be x) must be reported, or the checks above prove nothing.
  auto wrong_square = [](const Vars& x) {
    return record_op("square", hd::square(x[0].data()), {x[0]},
                     [a = x[0]](const Variable& g, const Variable&) { return std::vector<Variable>{g * a}; });
  };
  GradcheckResult r = gradcheck(wrong_square, {Tensor::from({3}, {0.5f, -1.f, 2.f})});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("analytic"), std::string::npos);
}

TEST(GradcheckHelper, CatchesAWrongSecondDerivative) {
  // First derivative right (2x) but computed from a constant copy of x: its derivative is lost.
  auto detached_square = [](const Vars& x) {
    return record_op("square", hd::square(x[0].data()), {x[0]}, [a = x[0]](const Variable& g, const Variable&) {
      return std::vector<Variable>{g * Variable(hd::mul(a.data(), 2.f))};
    });
  };
  EXPECT_TRUE(gradcheck(detached_square, {Tensor::from({2}, {0.5f, -1.f})}).ok);
  EXPECT_FALSE(gradgradcheck(detached_square, {Tensor::from({2}, {0.5f, -1.f})}).ok);
}

}  // namespace hd::test
