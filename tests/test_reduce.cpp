// Reductions (sum, mean, max, min, argmax, var, logsumexp), softmax / log_softmax, expand and
// sum_to: hand-computed values, keepdim, negative and scattered axes, empty tensors, the large
// (threaded) paths against simple loops, and the error messages.
#include <gtest/gtest.h>

#include "tensor_checks.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "tensor/elementwise.h"
#include "tensor/reduce.h"

namespace hd {
namespace {

using namespace test;  // expect_invalid, expect_values, pattern, kNaN, kInf (tests/tensor_checks.h)

// [[1, 2, 3], [4, 5, 6]]
Tensor m23() { return Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}); }

// --- sum ---

TEST(Sum, AllAxesByDefault) { expect_values(sum(m23()), {}, {21}); }

TEST(Sum, OneAxisWithAndWithoutKeepdim) {
  expect_values(sum(m23(), {0}), {3}, {5, 7, 9});
  expect_values(sum(m23(), {1}), {2}, {6, 15});
  expect_values(sum(m23(), {1}, true), {2, 1}, {6, 15});
  expect_values(sum(m23(), {0}, true), {1, 3}, {5, 7, 9});
}

TEST(Sum, NegativeAxisCountsFromTheEnd) { expect_values(sum(m23(), {-1}), {2}, {6, 15}); }

TEST(Sum, ScatteredAxes) {
  // [2, 3, 4] over {0, 2}: out[j] = sum_i,k x[i, j, k]
  Tensor x = Tensor::arange(0, 24).reshape({2, 3, 4});
  expect_values(sum(x, {0, 2}), {3}, {60, 92, 124});
  expect_values(sum(x, {2, 0}, true), {1, 3, 1}, {60, 92, 124});
  expect_values(sum(x, {-1, -3}), {3}, {60, 92, 124});
}

TEST(Sum, AdjacentAxes) {
  Tensor x = Tensor::arange(0, 24).reshape({2, 3, 4});
  expect_values(sum(x, {1, 2}), {2}, {66, 210});
  expect_values(sum(x, {0, 1}), {4}, {60, 66, 72, 78});
}

TEST(Sum, SizeOneAxesAndScalars) {
  expect_values(sum(Tensor::from({1, 3}, {1, 2, 3}), {0}), {3}, {1, 2, 3});
  expect_values(sum(Tensor::scalar(5.f)), {}, {5});
  expect_values(sum(Tensor::scalar(5.f), {0}), {}, {5});
  expect_values(sum(Tensor::scalar(5.f), {-1}, true), {}, {5});
}

TEST(Sum, ResultDoesNotShareStorageWithInput) {
  Tensor x = Tensor::from({1, 3}, {1, 2, 3});
  Tensor s = sum(x, {0});
  EXPECT_FALSE(s.shares_storage(x));
}

TEST(Sum, EmptyAxisGivesZero) {
  expect_values(sum(Tensor::zeros({0, 3}), {0}), {3}, {0, 0, 0});
  expect_values(sum(Tensor::zeros({0})), {}, {0});
  EXPECT_EQ(sum(Tensor::zeros({0, 3}), {1}).shape(), (Shape{0}));
}

// sum over `axis` of a [rows, cols] pattern against a double-precision loop, at every `every`-th result.
void expect_sum_matches_double_loop(int64_t rows, int64_t cols, int64_t axis, int64_t every, double tolerance) {
  Tensor x = pattern({rows, cols});
  Tensor s = sum(x, {axis});
  const int64_t results = axis == 0 ? cols : rows, length = axis == 0 ? rows : cols;
  for (int64_t r = 0; r < results; r += every) {
    double ref = 0;
    for (int64_t k = 0; k < length; ++k) ref += axis == 0 ? x.at({k, r}) : x.at({r, k});
    EXPECT_NEAR(s.at({r}), ref, tolerance) << "result " << r;
  }
}

TEST(Sum, LargeRowsMatchDoubleLoop) { expect_sum_matches_double_loop(512, 1000, 1, 17, 1e-4); }

TEST(Sum, LargeFirstAxisMatchesDoubleLoop) { expect_sum_matches_double_loop(1000, 300, 0, 7, 1e-3); }

TEST(Sum, TallNarrowFirstAxisSplitsRowsBetweenThreads) { expect_sum_matches_double_loop(100000, 3, 0, 1, 1e-2); }

TEST(Sum, MillionEqualValuesStayAccurate) {
  // 64 float lanes alone drift by ~7 here; blocks added up in double keep it within a few ulp (0.008).
  EXPECT_NEAR(sum(Tensor::full({1 << 20}, 0.1f)).item(), 104857.6f, 0.05f);
  EXPECT_NEAR(sum(Tensor::full({1 << 20, 1}, 0.1f), {0}).item(), 104857.6f, 0.05f);
}

TEST(Sum, AxisOutOfRangeNamesOpAndRank) {
  expect_invalid([] { sum(m23(), {3}); }, {"sum: axis 3 is out of range for a tensor with 2 dimensions"});
  expect_invalid([] { mean(m23(), {-3}); }, {"mean", "-3", "2 dimensions"});
}

TEST(Sum, RepeatedAxisThrows) {
  expect_invalid([] { sum(m23(), {1, -1}); }, {"sum", "more than once", "[2, 3]"});
}

// --- mean, max, min ---

TEST(Mean, Values) {
  expect_values(mean(m23()), {}, {3.5f});
  expect_values(mean(m23(), {0}), {3}, {2.5f, 3.5f, 4.5f});
  expect_values(mean(m23(), {1}, true), {2, 1}, {2, 5});
}

TEST(Mean, OfNothingIsNaN) { expect_values(mean(Tensor::zeros({0})), {}, {kNaN}); }

TEST(MaxMin, Values) {
  Tensor x = Tensor::from({2, 3}, {3, -1, 2, 0, 7, -5});
  expect_values(max(x), {}, {7});
  expect_values(min(x), {}, {-5});
  expect_values(max(x, {0}), {3}, {3, 7, 2});
  expect_values(min(x, {1}, true), {2, 1}, {-1, -5});
}

TEST(MaxMin, NaNPropagates) {
  Tensor x = Tensor::from({2, 2}, {1, kNaN, 3, 4});
  expect_values(max(x, {1}), {2}, {kNaN, 4});
  expect_values(min(x, {0}), {2}, {1, kNaN});
  expect_values(max(x), {}, {kNaN});
}

TEST(MaxMin, LongRowsAndColumns) {
  Tensor x = pattern({300, 700});
  x.at({123, 456}) = 5.f;
  x.at({7, 8}) = -5.f;
  EXPECT_EQ(max(x).item(), 5.f);
  EXPECT_EQ(min(x).item(), -5.f);
  EXPECT_EQ(max(x, {0}).at({456}), 5.f);
  EXPECT_EQ(min(x, {1}).at({7}), -5.f);
}

TEST(MaxMin, EmptyAxisThrows) {
  expect_invalid([] { max(Tensor::zeros({0, 3}), {0}); }, {"max", "size 0", "[0, 3]"});
  EXPECT_EQ(max(Tensor::zeros({0, 3}), {1}).shape(), (Shape{0}));  // nothing to reduce, nothing to return
}

// --- argmax ---

TEST(Argmax, AlongEachAxis) {
  Tensor x = Tensor::from({2, 3}, {1, 9, 3, 7, 2, 8});
  expect_values(argmax(x, 1), {2}, {1, 2});
  expect_values(argmax(x, 0), {3}, {1, 0, 1});
  expect_values(argmax(x, -1, true), {2, 1}, {1, 2});
}

TEST(Argmax, FirstIndexOnTies) {
  expect_values(argmax(Tensor::from({5}, {1, 4, 2, 4, 4}), 0), {}, {1});
  expect_values(argmax(Tensor::from({3, 2}, {5, 1, 5, 1, 5, 1}), 0), {2}, {0, 0});
}

TEST(Argmax, LargeMatchesLoopAlongBothAxes) {
  Tensor x = pattern({300, 700});  // sin() repeats values, so ties occur
  Tensor rows = argmax(x, 1), cols = argmax(x, 0);
  for (int64_t i = 0; i < 300; i += 11) {
    int64_t best = 0;
    for (int64_t j = 1; j < 700; ++j)
      if (x.at({i, j}) > x.at({i, best})) best = j;
    ASSERT_EQ(rows.at({i}), static_cast<float>(best));
  }
  for (int64_t j = 0; j < 700; j += 13) {
    int64_t best = 0;
    for (int64_t i = 1; i < 300; ++i)
      if (x.at({i, j}) > x.at({best, j})) best = i;
    ASSERT_EQ(cols.at({j}), static_cast<float>(best));
  }
}

TEST(Argmax, NaNCountsAsLargest) { expect_values(argmax(Tensor::from({3}, {1, kNaN, 3}), 0), {}, {1}); }

TEST(Argmax, EmptyAxisThrows) {
  expect_invalid([] { argmax(Tensor::zeros({2, 0}), 1); }, {"argmax", "size 0", "[2, 0]"});
}

// --- var ---

TEST(Var, BesselCorrectionByDefault) {
  // [1, 2, 3, 4]: mean 2.5, squared deviations sum to 5
  Tensor x = Tensor::from({4}, {1, 2, 3, 4});
  expect_values(var(x), {}, {5.f / 3});
  expect_values(var(x, {}, 0), {}, {1.25f});
}

TEST(Var, AxesAndKeepdim) {
  expect_values(var(m23(), {1}), {2}, {1, 1});
  expect_values(var(m23(), {0}, 1, true), {1, 3}, {4.5f, 4.5f, 4.5f});
  expect_values(var(m23(), {0, 1}, 0), {}, {35.f / 12});
}

TEST(Var, TooFewElementsForTheCorrectionIsNaN) {
  expect_values(var(Tensor::from({1}, {3})), {}, {kNaN});
  expect_values(var(Tensor::from({2}, {1, 3}), {}, 2), {}, {kInf});  // 2 / 0
}

TEST(Var, StaysAccurateForALargeMean) {
  // E[x^2] - E[x]^2 would lose every digit here.
  expect_values(var(Tensor::from({3}, {10000.f, 10001.f, 10002.f})), {}, {1});
}

// --- logsumexp, softmax, log_softmax ---

TEST(Logsumexp, Values) {
  Tensor x = Tensor::from({2, 2}, {0, 0, 1, 2});
  expect_values(logsumexp(x, {1}), {2}, {std::log(2.f), std::log(std::exp(1.f) + std::exp(2.f))});
  expect_values(logsumexp(x, {0}, true), {1, 2}, {std::log(1 + std::exp(1.f)), std::log(1 + std::exp(2.f))});
}

TEST(Logsumexp, DoesNotOverflowForLargeInputs) {
  expect_values(logsumexp(Tensor::from({2}, {1000, 1000})), {}, {1000 + std::log(2.f)});
  expect_values(logsumexp(Tensor::from({2}, {-1000, -1000})), {}, {-1000 + std::log(2.f)});
}

TEST(Logsumexp, AllMinusInfinityGivesMinusInfinity) {
  expect_values(logsumexp(Tensor::from({2}, {-kInf, -kInf})), {}, {-kInf});
  expect_values(logsumexp(Tensor::from({2}, {kInf, 1})), {}, {kInf});
}

TEST(Logsumexp, ScatteredAxesMatchSingleAxisSteps) {
  Tensor x = pattern({3, 4, 5});
  Tensor both = logsumexp(x, {0, 2});
  Tensor stepwise = logsumexp(logsumexp(x, {2}, true), {0});
  ASSERT_EQ(both.shape(), (Shape{4}));
  EXPECT_TRUE(allclose(both, stepwise.reshape({4}), 1e-5f, 1e-6f));
}

TEST(Logsumexp, EmptyIsMinusInfinity) { expect_values(logsumexp(Tensor::zeros({0})), {}, {-kInf}); }

TEST(Softmax, RowsSumToOne) {
  Tensor y = softmax(Tensor::from({2, 3}, {1, 2, 3, 0, 0, 0}), 1);
  float e = std::exp(1.f), s = 1 + e + e * e;
  expect_values(y, {2, 3}, {1 / s, e / s, e * e / s, 1.f / 3, 1.f / 3, 1.f / 3});
}

TEST(Softmax, AlongTheFirstAxis) {
  Tensor y = softmax(Tensor::from({2, 2}, {0, 1, 0, 3}), 0);
  float s3 = 1 + std::exp(3.f);
  expect_values(y, {2, 2}, {0.5f, std::exp(1.f) / (std::exp(1.f) + std::exp(3.f)), 0.5f,
                            std::exp(3.f) / (std::exp(1.f) + std::exp(3.f))});
  (void)s3;
}

TEST(Softmax, StableForLargeLogits) {
  expect_values(softmax(Tensor::from({3}, {1000, 1000, -1000}), 0), {3}, {0.5f, 0.5f, 0});
}

TEST(Softmax, RowOfMinusInfinityIsNaNAsInPyTorch) {
  expect_values(softmax(Tensor::from({2}, {-kInf, -kInf}), 0), {2}, {kNaN, kNaN});
}

TEST(Softmax, LargeMiddleAxisMatchesFormula) {
  // axis 1 of [4, 50, 300]: the column path, threaded.
  Tensor x = mul(pattern({4, 50, 300}), 5.f);
  Tensor y = softmax(x, 1);
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t j = 0; j < 300; j += 13) {
      double s = 0;
      for (int64_t i = 0; i < 50; ++i) s += std::exp(static_cast<double>(x.at({o, i, j})));
      for (int64_t i = 0; i < 50; i += 7) ASSERT_NEAR(y.at({o, i, j}), std::exp(x.at({o, i, j})) / s, 1e-6);
    }
}

TEST(LogSoftmax, EqualsLogOfSoftmax) {
  Tensor x = pattern({3, 7});
  EXPECT_TRUE(allclose(log_softmax(x, 1), log(softmax(x, 1)), 1e-5f, 1e-6f));
  EXPECT_TRUE(allclose(log_softmax(x, 0), log(softmax(x, 0)), 1e-5f, 1e-6f));
}

TEST(LogSoftmax, StableForLargeLogits) {
  expect_values(log_softmax(Tensor::from({2}, {1000, 0}), 0), {2}, {0, -1000});
}

TEST(Softmax, BadAxisNamesOp) {
  expect_invalid([] { softmax(m23(), 2); }, {"softmax", "axis 2", "2 dimensions"});
  expect_invalid([] { log_softmax(m23(), -3); }, {"log_softmax", "-3"});
}

// --- expand, sum_to ---

TEST(Expand, RepeatsSizeOneAndMissingAxes) {
  expect_values(expand(Tensor::from({2, 1}, {1, 2}), {2, 2, 3}), {2, 2, 3}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
  expect_values(expand(Tensor::scalar(7.f), {2}), {2}, {7, 7});
  expect_values(expand(Tensor::from({3}, {1, 2, 3}), {2, 3}), {2, 3}, {1, 2, 3, 1, 2, 3});
}

TEST(Expand, IncompatibleShapeThrows) {
  expect_invalid([] { expand(Tensor::zeros({2, 3}), {3, 3}); }, {"expand", "[2, 3]", "[3, 3]"});
  expect_invalid([] { expand(Tensor::zeros({2, 3}), {3}); }, {"expand", "[2, 3]", "[3]"});
}

TEST(SumTo, UndoesExpand) {
  Tensor g = Tensor::arange(0, 24).reshape({2, 3, 4});
  expect_values(sum_to(g, {3, 1}), {3, 1}, {60, 92, 124});
  expect_values(sum_to(g, {4}), {4}, {60, 66, 72, 78});
  expect_values(sum_to(g, {}), {}, {276});
  expect_values(sum_to(g, {1, 1, 4}), {1, 1, 4}, {60, 66, 72, 78});
}

TEST(SumTo, SameShapeReturnsTheInput) {
  Tensor g = m23();
  EXPECT_TRUE(sum_to(g, {2, 3}).shares_storage(g));
}

TEST(SumTo, ShapeThatDoesNotBroadcastThrows) {
  expect_invalid([] { sum_to(Tensor::zeros({2, 3}), {2}); }, {"sum_to", "[2, 3]", "[2]"});
  expect_invalid([] { sum_to(Tensor::zeros({3}), {2, 3}); }, {"sum_to", "[3]", "[2, 3]"});
}

}  // namespace
}  // namespace hd
