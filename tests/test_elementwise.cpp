// Elementwise ops: broadcasting, each op's values (hand-computed on small inputs), the fast
// exp/log/tanh/... against double-precision libm, the in-place ops, and the error messages.
#include <gtest/gtest.h>

#include "tensor_checks.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "tensor/elementwise.h"
#include "tensor/fast_math.h"

namespace hd {
namespace {

using namespace test;  // expect_invalid, expect_values, pattern, kNaN, kInf (tests/tensor_checks.h)

// --- broadcasting ---

TEST(BroadcastShapes, AlignsFromTheRightAndStretchesSizeOne) {
  EXPECT_EQ(broadcast_shapes({4, 1, 3}, {5, 1}, "t"), (Shape{4, 5, 3}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "t"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({3}, {2, 3}, "t"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 4}, "t"), (Shape{0, 4}));
}

TEST(BroadcastShapes, MismatchNamesOpAndBothShapes) {
  expect_invalid([] { broadcast_shapes({2, 3}, {4}, "add"); }, {"add: shapes [2, 3] and [4] do not broadcast"});
}

TEST(Add, SameShape) {
  expect_values(add(Tensor::from({2, 2}, {1, 2, 3, 4}), Tensor::from({2, 2}, {10, 20, 30, 40})), {2, 2},
                {11, 22, 33, 44});
}

TEST(Add, BroadcastsBothOperandsToANewShape) {
  // [4, 1, 3] + [5, 1] -> [4, 5, 3]: out[i, j, k] = a[i, 0, k] + b[j, 0]
  Tensor a = pattern({4, 1, 3}), b = Tensor::from({5, 1}, {0, 10, 20, 30, 40});
  Tensor out = add(a, b);
  ASSERT_EQ(out.shape(), (Shape{4, 5, 3}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(out.at({i, j, k}), a.at({i, 0, k}) + b.at({j, 0}));
}

TEST(Add, ScalarTensorBroadcastsEitherSide) {
  Tensor s = Tensor::scalar(10.f), x = Tensor::from({2, 2}, {1, 2, 3, 4});
  expect_values(add(s, x), {2, 2}, {11, 12, 13, 14});
  expect_values(add(x, s), {2, 2}, {11, 12, 13, 14});
  expect_values(add(s, s), {}, {20});
}

TEST(Add, RowVectorBroadcastsOverRows) {
  expect_values(add(Tensor::from({3}, {1, 2, 3}), Tensor::from({2, 3}, {0, 0, 0, 10, 10, 10})), {2, 3},
                {1, 2, 3, 11, 12, 13});
}

TEST(Sub, ColumnBroadcastsAlongRows) {
  expect_values(sub(Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}), Tensor::from({2, 1}, {1, 4})), {2, 3},
                {0, 1, 2, 0, 1, 2});
}

TEST(MulDiv, Values) {
  Tensor a = Tensor::from({3}, {1, -2, 6}), b = Tensor::from({3}, {2, 4, -3});
  expect_values(mul(a, b), {3}, {2, -8, -18});
  expect_values(div(a, b), {3}, {0.5f, -0.5f, -2});
  expect_values(div(Tensor::from({2}, {1, -1}), Tensor::zeros({2})), {2}, {kInf, -kInf});
}

TEST(Add, LargeRowBroadcastMatchesLoop) {
  // Big enough for the threaded path.
  Tensor a = pattern({300, 1000}), b = pattern({1000}, 1.f);
  Tensor out = add(a, b);
  for (int64_t i = 0; i < 300; i += 7)
    for (int64_t j = 0; j < 1000; j += 3) ASSERT_FLOAT_EQ(out.at({i, j}), a.at({i, j}) + b.at({j}));
}

TEST(Mul, LargeGeneralBroadcastMatchesLoop) {
  // [61, 1, 509] * [43, 1]: neither operand is a plain row or column of the other, and the
  // threads' pieces of the output start in the middle of inner runs.
  Tensor a = pattern({61, 1, 509}), b = pattern({43, 1}, 2.f);
  Tensor out = mul(a, b);
  ASSERT_EQ(out.shape(), (Shape{61, 43, 509}));
  for (int64_t i = 0; i < 61; i += 4)
    for (int64_t j = 0; j < 43; j += 3)
      for (int64_t k = 0; k < 509; k += 7) ASSERT_FLOAT_EQ(out.at({i, j, k}), a.at({i, 0, k}) * b.at({j, 0}));
}

TEST(Where, LargeWithBroadcastCondition) {
  Tensor cond = gt(pattern({700, 1}), 0.f), a = pattern({700, 300}, 1.f), b = pattern({300}, 2.f);
  Tensor out = where(cond, a, b);
  for (int64_t i = 0; i < 700; i += 9)
    for (int64_t j = 0; j < 300; j += 7)
      ASSERT_EQ(out.at({i, j}), cond.at({i, 0}) != 0.f ? a.at({i, j}) : b.at({j}));
}

TEST(Add, EmptyTensorsBroadcastToEmpty) {
  Tensor out = add(Tensor::zeros({0, 3}), Tensor::ones({3}));
  EXPECT_EQ(out.shape(), (Shape{0, 3}));
  EXPECT_EQ(exp(Tensor::zeros({0})).shape(), (Shape{0}));
}

TEST(Add, MismatchedShapesThrowNamingOpAndShapes) {
  expect_invalid([] { add(Tensor::zeros({2, 3}), Tensor::zeros({4})); }, {"add", "[2, 3]", "[4]"});
  expect_invalid([] { mul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); }, {"mul", "[2, 3]", "[3, 2]"});
}

TEST(Add, UndefinedTensorThrows) {
  expect_invalid([] { add(Tensor(), Tensor::zeros({2})); }, {"add", "undefined"});
}

TEST(Operators, ReadLikeFormulas) {
  Tensor x = Tensor::from({2}, {1, 4});
  expect_values(2.f * x + 1.f, {2}, {3, 9});
  expect_values(1.f - x, {2}, {0, -3});
  expect_values(x - 1.f, {2}, {0, 3});
  expect_values(x / 2.f, {2}, {0.5f, 2});
  expect_values(2.f / x, {2}, {2, 0.5f});
  expect_values(-x, {2}, {-1, -4});
  expect_values(x * x - x / x, {2}, {0, 15});
}

// --- pow, maximum, minimum, comparisons, where ---

TEST(Pow, TensorExponentBroadcasts) {
  expect_values(pow(Tensor::from({2, 2}, {1, 2, 3, 4}), Tensor::from({2}, {2, 3})), {2, 2}, {1, 8, 9, 64});
}

TEST(Pow, ScalarExponentsIncludingSpecialCases) {
  Tensor x = Tensor::from({3}, {4, 9, 0.25f});
  expect_values(pow(x, 2.f), {3}, {16, 81, 0.0625f});
  expect_values(pow(x, 0.5f), {3}, {2, 3, 0.5f});
  expect_values(pow(x, -1.f), {3}, {0.25f, 1.f / 9, 4});
  expect_values(pow(x, 0.f), {3}, {1, 1, 1});
  expect_values(pow(x, 1.5f), {3}, {8, 27, 0.125f});
  expect_values(pow(Tensor::from({1}, {-8}), 1.f / 3), {1}, {kNaN});  // negative base, fractional power
}

TEST(MaximumMinimum, ElementwiseAndNaNPropagates) {
  Tensor a = Tensor::from({3}, {1, 5, kNaN}), b = Tensor::from({3}, {3, 2, 0});
  expect_values(maximum(a, b), {3}, {3, 5, kNaN});
  expect_values(minimum(a, b), {3}, {1, 2, kNaN});
  expect_values(maximum(b, a), {3}, {3, 5, kNaN});
}

TEST(Comparisons, GiveZeroOrOneFloats) {
  Tensor a = Tensor::from({3}, {1, 2, 3}), b = Tensor::from({3}, {2, 2, 2});
  expect_values(eq(a, b), {3}, {0, 1, 0});
  expect_values(ne(a, b), {3}, {1, 0, 1});
  expect_values(lt(a, b), {3}, {1, 0, 0});
  expect_values(le(a, b), {3}, {1, 1, 0});
  expect_values(gt(a, b), {3}, {0, 0, 1});
  expect_values(ge(a, b), {3}, {0, 1, 1});
  expect_values(gt(a, 1.5f), {3}, {0, 1, 1});
  expect_values(lt(a, 1.5f), {3}, {1, 0, 0});
  expect_values(ge(a, 2.f), {3}, {0, 1, 1});
  expect_values(le(a, 2.f), {3}, {1, 1, 0});
  expect_values(eq(a, 3.f), {3}, {0, 0, 1});
}

TEST(Where, BroadcastsAllThree) {
  // cond [2, 1], a [3], b scalar -> [2, 3]
  Tensor out = where(Tensor::from({2, 1}, {1, 0}), Tensor::from({3}, {1, 2, 3}), Tensor::scalar(-1.f));
  expect_values(out, {2, 3}, {1, 2, 3, -1, -1, -1});
}

TEST(Where, SameShapes) {
  Tensor cond = Tensor::from({4}, {0, 1, 0, 2});
  expect_values(where(cond, Tensor::from({4}, {1, 2, 3, 4}), Tensor::from({4}, {5, 6, 7, 8})), {4}, {5, 2, 7, 4});
}

TEST(Where, MismatchNamesAllThreeShapes) {
  expect_invalid([] { where(Tensor::zeros({2}), Tensor::zeros({3}), Tensor::zeros({1})); },
                 {"where", "[2]", "[3]", "[1]"});
}

// --- scalar ops ---

TEST(ScalarOps, AddMulRsubRdiv) {
  Tensor x = Tensor::from({2}, {1, 4});
  expect_values(add(x, 2.f), {2}, {3, 6});
  expect_values(mul(x, -2.f), {2}, {-2, -8});
  expect_values(rsub(10.f, x), {2}, {9, 6});
  expect_values(rdiv(8.f, x), {2}, {8, 2});
}

TEST(Clamp, LimitsBothSidesAndKeepsNaN) {
  expect_values(clamp(Tensor::from({4}, {-2, 0.3f, 7, kNaN}), -1.f, 1.f), {4}, {-1, 0.3f, 1, kNaN});
  expect_values(clamp(Tensor::from({2}, {-5, 5}), 2.f, 1.f), {2}, {1, 1});  // lo > hi: hi, as torch.clamp
}

// --- unary ---

TEST(Unary, SimpleOps) {
  Tensor x = Tensor::from({4}, {-2, -0.5f, 0, 3});
  expect_values(neg(x), {4}, {2, 0.5f, 0, -3});
  expect_values(abs(x), {4}, {2, 0.5f, 0, 3});
  expect_values(square(x), {4}, {4, 0.25f, 0, 9});
  expect_values(relu(x), {4}, {0, 0, 0, 3});
  expect_values(sign(x), {4}, {-1, -1, 0, 1});
  expect_values(sqrt(Tensor::from({3}, {4, 2.25f, -1})), {3}, {2, 1.5f, kNaN});
}

TEST(Unary, ReluAndSignOnNaN) {
  expect_values(relu(Tensor::from({1}, {kNaN})), {1}, {kNaN});  // as torch.relu
  expect_values(sign(Tensor::from({1}, {kNaN})), {1}, {0});     // as torch.sign
}

TEST(Unary, ReluBackwardIsTheGradientTimesTheMaskOfPositiveInputs) {
  // Exactly mul(g, gt(x, 0)), down to NaN * 1 and inf * 0 giving NaN.
  Tensor x = Tensor::from({6}, {-2, 0, 3, 1, -1, kNaN});
  Tensor g = Tensor::from({6}, {5, 5, 5, kNaN, kInf, 2});
  expect_values(relu_backward(g, x), {6}, {0, 0, 5, kNaN, kNaN, 0});
  Tensor big_x = pattern({70000}), big_g = pattern({70000}, 1.f);  // split across threads
  EXPECT_EQ(relu_backward(big_g, big_x).tolist(), mul(big_g, gt(big_x, 0.f)).tolist());
  expect_invalid([] { relu_backward(Tensor::zeros({2}), Tensor::zeros({3})); }, {"relu_backward"});
}

// The fused SiLU against its definition x sigmoid(x) and its derivative s (1 + x (1 - s)), in double.
TEST(Unary, SiluAndItsBackwardMatchTheirDefinitions) {
  Tensor x = pattern({70000}), g = pattern({70000}, 1.f);  // split across threads
  const Tensor y = silu(x), dx = silu_backward(g, x);
  for (int64_t i = 0; i < x.numel(); i += 97) {
    const double xi = 8.0 * x.data()[i], s = 1 / (1 + std::exp(-xi));  // x scaled to reach the tails
    const Tensor one = silu(Tensor::from({1}, {static_cast<float>(xi)}));
    EXPECT_NEAR(one.data()[0], xi * s, 1e-5 * (1 + std::fabs(xi)));
    const double si = 1 / (1 + std::exp(-static_cast<double>(x.data()[i])));
    EXPECT_NEAR(y.data()[i], x.data()[i] * si, 1e-6);
    EXPECT_NEAR(dx.data()[i], g.data()[i] * si * (1 + x.data()[i] * (1 - si)), 1e-6);
  }
  expect_invalid([] { silu_backward(Tensor::zeros({2}), Tensor::zeros({3})); }, {"silu_backward"});
}

TEST(Unary, TranscendentalValues) {
  Tensor x = Tensor::from({3}, {0, 1, -2});
  expect_values(exp(x), {3}, {1, std::exp(1.f), std::exp(-2.f)});
  expect_values(log(Tensor::from({4}, {1, std::exp(2.f), 0, -1})), {4}, {0, 2, -kInf, kNaN});
  expect_values(log1p(Tensor::from({3}, {0, 1e-10f, -1})), {3}, {0, 1e-10f, -kInf});
  expect_values(tanh(x), {3}, {0, std::tanh(1.f), std::tanh(-2.f)});
  expect_values(sigmoid(x), {3}, {0.5f, 1 / (1 + std::exp(-1.f)), 1 / (1 + std::exp(2.f))});
  expect_values(erf(x), {3}, {0, std::erf(1.f), std::erf(-2.f)});
  expect_values(sin(x), {3}, {0, std::sin(1.f), std::sin(-2.f)});
  expect_values(cos(x), {3}, {1, std::cos(1.f), std::cos(-2.f)});
}

TEST(Unary, SigmoidIsStableForLargeInputs) {
  Tensor out = sigmoid(Tensor::from({4}, {-100, 100, -1000, 1000}));
  expect_values(out, {4}, {std::exp(-100.f), 1, 0, 1});
}

TEST(Unary, TanhSaturatesWithoutNaN) {
  expect_values(tanh(Tensor::from({4}, {-50, 50, kInf, -kInf})), {4}, {-1, 1, 1, -1});
}

TEST(Unary, LargeInputUsesThreadsAndMatchesScalar) {
  Tensor x = mul(pattern({200000}), 8.f);
  Tensor y = exp(x);
  for (int64_t i = 0; i < x.numel(); i += 997) ASSERT_NEAR(y.data()[i], std::exp(x.data()[i]), 2e-6f * y.data()[i]);
}

// The fast functions against double-precision libm on a log-spaced sweep of both signs.
// Errors are in units of the float spacing at the exact result (ulp).
double max_ulp_error(float (*f)(float), double (*ref)(double), float lo, float hi) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    float x = lo + (hi - lo) * static_cast<float>(i) / 200000.f;
    double exact = ref(x);
    auto rounded = static_cast<float>(exact);
    if (!std::isfinite(rounded) || rounded == 0.f) continue;
    double ulp = std::nextafter(std::fabs(rounded), kInf) - std::fabs(rounded);
    worst = std::max(worst, std::fabs(f(x) - exact) / ulp);
  }
  return worst;
}

TEST(FastMath, WithinThreeUlpOfLibm) {
  EXPECT_LT(max_ulp_error(fast_exp, [](double x) { return std::exp(x); }, -100.f, 88.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_expm1, [](double x) { return std::expm1(x); }, -20.f, 20.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_log, [](double x) { return std::log(x); }, 1e-6f, 1e6f), 3.0);
  EXPECT_LT(max_ulp_error(fast_log, [](double x) { return std::log(x); }, 0.5f, 2.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_log1p, [](double x) { return std::log1p(x); }, -0.999f, 10.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_tanh, [](double x) { return std::tanh(x); }, -10.f, 10.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -80.f, 30.f), 3.0);
  EXPECT_LT(max_ulp_error(fast_erf, [](double x) { return std::erf(x); }, -5.f, 5.f), 3.0);
}

TEST(FastMath, SpecialValuesMatchTheCLibrary) {
  for (float x : {0.f, -0.f, kInf, -kInf, kNaN, 1e-40f, -1e-40f, 88.8f, -104.f, 1e30f}) {
    auto same = [](float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
    EXPECT_TRUE(same(fast_exp(x), std::exp(x))) << x;
    EXPECT_TRUE(same(fast_log(x), std::log(x))) << x;
    EXPECT_TRUE(same(fast_tanh(x), std::tanh(x))) << x;
    EXPECT_TRUE(same(fast_erf(x), std::erf(x))) << x;
    EXPECT_TRUE(same(fast_expm1(x), std::expm1(x))) << x;
  }
  EXPECT_NEAR(fast_log(1e-40f), std::log(1e-40), 1e-5);  // denormal input
  EXPECT_EQ(fast_log1p(-1.f), -kInf);
  EXPECT_EQ(fast_log1p(kInf), kInf);
  EXPECT_TRUE(std::isnan(fast_log1p(-2.f)));
}

// --- in place ---

TEST(InPlace, AddBroadcastsIntoTarget) {
  Tensor a = Tensor::from({2, 2}, {1, 2, 3, 4});
  add_(a, Tensor::from({2}, {10, 20}));
  expect_values(a, {2, 2}, {11, 22, 13, 24});
}

TEST(InPlace, AddCannotGrowTheTarget) {
  Tensor a = Tensor::zeros({2});
  expect_invalid([&] { add_(a, Tensor::zeros({3, 2})); }, {"add_", "[3, 2]", "[2]"});
}

TEST(InPlace, AxpyAndMul) {
  Tensor y = Tensor::from({2}, {1, 2});
  axpy_(y, 3.f, Tensor::from({2}, {1, -1}));
  expect_values(y, {2}, {4, -1});
  mul_(y, 0.5f);
  expect_values(y, {2}, {2, -0.5f});
  expect_invalid([&] { axpy_(y, 1.f, Tensor::zeros({3})); }, {"axpy_", "[2]", "[3]"});
}

TEST(InPlace, WritesThroughSharedStorage) {
  Tensor a = Tensor::zeros({2, 2});
  Tensor view = a.reshape({4});
  add_(view, Tensor::scalar(1.f));
  expect_values(a, {2, 2}, {1, 1, 1, 1});
}

// The fused loss kernels against the same formula op by op, in double, including logits far beyond where e^x
// overflows a float.
TEST(FusedLoss, BinaryCrossEntropyWithLogitsMatchesTheFormula) {
  Tensor x = mul(pattern({100000}), 30.f), y = add(mul(pattern({100000}, 1.f), 0.5f), 0.5f);
  x.data()[0] = 200.f;
  x.data()[1] = -200.f;
  Tensor g = pattern({100000}, 2.f);
  Tensor loss = binary_cross_entropy_with_logits(x, y), dx = binary_cross_entropy_with_logits_backward(g, x, y);
  for (int64_t i = 0; i < x.numel(); i += 97) {
    const double v = x.data()[i], t = y.data()[i];
    const double want = std::max(v, 0.0) - v * t + std::log1p(std::exp(-std::fabs(v)));
    ASSERT_NEAR(loss.data()[i], want, 1e-5 * (1 + std::fabs(want))) << "x = " << v << ", y = " << t;
    const double want_dx = g.data()[i] * (1 / (1 + std::exp(-v)) - t);
    ASSERT_NEAR(dx.data()[i], want_dx, 1e-6) << "x = " << v;
  }
}

TEST(FusedLoss, ShapesMustMatch) {
  expect_invalid([] { binary_cross_entropy_with_logits(Tensor::zeros({2, 3}), Tensor::zeros({3})); },
                 {"binary_cross_entropy_with_logits", "expected shape [2, 3], got [3]"});
  expect_invalid([] { binary_cross_entropy_with_logits_backward(Tensor::zeros({2}), Tensor::zeros({3}), Tensor::zeros({3})); },
                 {"binary_cross_entropy_with_logits_backward", "expected shape [3], got [2]"});
}

}  // namespace
}  // namespace hd
