// matmul: hand-computed 2-D products, the transposed forms, batched products with broadcast
// batch axes (including a shared 2-D operand and the fold-into-M path), vectors, empty sizes,
// and the error messages.
#include <gtest/gtest.h>

#include "tensor_checks.h"

#include <cmath>
#include <functional>
#include <string>

#include "tensor/elementwise.h"
#include "tensor/matmul.h"
#include "tensor/shape_ops.h"

namespace hd {
namespace {

using test::expect_invalid;
using test::expect_values;
using test::pattern;

// Reference product of two 2-D tensors, accumulated in double.
Tensor matmul_by_loop(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  Tensor out({M, N});
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(a.at({i, k})) * b.at({k, j});
      out.at({i, j}) = static_cast<float>(s);
    }
  return out;
}

void expect_close(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_TRUE(allclose(got, want, 1e-4f, 1e-5f));
}

// Batch entry i of a [..., M, N] tensor as a 2-D tensor.
Tensor matrix(const Tensor& t, int64_t i) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  return t.reshape({-1, rows, cols})[i];
}

TEST(Matmul, TwoByThreeTimesThreeByTwo) {
  Tensor a = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from({3, 2}, {7, 8, 9, 10, 11, 12});
  // [1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 2}));
  EXPECT_EQ(c.tolist(), (std::vector<float>{58, 64, 139, 154}));
}

TEST(Matmul, TransposedOperandsAreReadInPlace) {
  Tensor a = pattern({5, 4}), b = pattern({5, 3}, 1.f), c = pattern({3, 4}, 2.f), d = pattern({3, 5}, 3.f);
  expect_close(matmul(a, b, true, false), matmul_by_loop(transpose(a, 0, 1), b));                  // a^T b
  expect_close(matmul(a, c, false, true), matmul_by_loop(a, transpose(c, 0, 1)));                  // a c^T
  expect_close(matmul(a, d, true, true), matmul_by_loop(transpose(a, 0, 1), transpose(d, 0, 1)));  // a^T d^T
}

TEST(Matmul, BatchedPairsMatrixByMatrix) {
  Tensor a = pattern({3, 4, 5}), b = pattern({3, 5, 2}, 1.f);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{3, 4, 2}));
  for (int64_t i = 0; i < 3; ++i) expect_close(matrix(c, i), matmul_by_loop(a[i], b[i]));
}

TEST(Matmul, BatchAxesBroadcast) {
  // [2, 1, M, K] @ [3, K, N] -> [2, 3, M, N]
  Tensor a = pattern({2, 1, 4, 5}), b = pattern({3, 5, 6}, 1.f);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 4, 6}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) expect_close(matrix(c, i * 3 + j), matmul_by_loop(a[i][0], b[j]));
}

TEST(Matmul, SharedSecondOperandFoldsBatchIntoRows) {
  // [2, 3, K] @ [K, N]: one product of [6, K] @ [K, N]
  Tensor a = pattern({2, 3, 4}), b = pattern({4, 5}, 1.f);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 5}));
  expect_close(c.reshape({6, 5}), matmul_by_loop(a.reshape({6, 4}), b));
  // The same with b transposed, and with a transposed (which cannot fold).
  expect_close(matmul(a, transpose(b, 0, 1), false, true), c);
  Tensor at = transpose(a, 1, 2);  // [2, 4, 3]
  expect_close(matmul(at, b, true, false), c);
}

TEST(Matmul, SharedFirstOperand) {
  Tensor a = pattern({3, 4}), b = pattern({2, 4, 5}, 1.f);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 5}));
  for (int64_t i = 0; i < 2; ++i) expect_close(matrix(c, i), matmul_by_loop(a, b[i]));
}

TEST(Matmul, ManySmallProductsAcrossThreads) {
  // Attention-like: 48 products of [64, 32] @ [32, 64]^T.
  Tensor q = pattern({4, 12, 64, 32}), k = pattern({4, 12, 64, 32}, 1.f);
  Tensor s = matmul(q, k, false, true);
  ASSERT_EQ(s.shape(), (Shape{4, 12, 64, 64}));
  for (int64_t i : {0, 17, 47}) expect_close(matrix(s, i), matmul_by_loop(matrix(q, i), transpose(matrix(k, i), 0, 1)));
}

TEST(Matmul, LargeProductMatchesLoop) {
  Tensor a = pattern({130, 70}), b = pattern({70, 150}, 1.f);
  expect_close(matmul(a, b), matmul_by_loop(a, b));
}

TEST(Matmul, VectorsAsInTorch) {
  Tensor m = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor v3 = Tensor::from({3}, {1, 0, -1}), v2 = Tensor::from({2}, {1, 1});
  Tensor mv = matmul(m, v3);  // [2, 3] @ [3] -> [2]
  ASSERT_EQ(mv.shape(), (Shape{2}));
  EXPECT_EQ(mv.tolist(), (std::vector<float>{-2, -2}));
  Tensor vm = matmul(v2, m);  // [2] @ [2, 3] -> [3]
  ASSERT_EQ(vm.shape(), (Shape{3}));
  EXPECT_EQ(vm.tolist(), (std::vector<float>{5, 7, 9}));
  Tensor dot = matmul(v3, v3);  // [3] @ [3] -> []
  ASSERT_EQ(dot.shape(), Shape{});
  EXPECT_EQ(dot.item(), 2.f);
  Tensor bv = matmul(pattern({4, 2, 3}), v3);  // [4, 2, 3] @ [3] -> [4, 2]
  EXPECT_EQ(bv.shape(), (Shape{4, 2}));
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  Tensor c = matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3}));
  ASSERT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.tolist(), std::vector<float>(6, 0.f));
  EXPECT_EQ(matmul(Tensor::zeros({0, 4}), Tensor::zeros({4, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(matmul(Tensor::zeros({0, 2, 4}), Tensor::zeros({4, 3})).shape(), (Shape{0, 2, 3}));
}

TEST(Matmul, InnerMismatchNamesBothShapes) {
  expect_invalid([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); },
                 {"matmul: inner dimensions differ: [2, 3] @ [4, 5]"});
  expect_invalid([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}), false, true); },
                 {"matmul", "[2, 3] @ [4, 5]^T"});
}

TEST(Matmul, BatchMismatchNamesBatchShapes) {
  expect_invalid([] { matmul(Tensor::zeros({2, 4, 5}), Tensor::zeros({3, 5, 6})); },
                 {"matmul", "batch", "[2]", "[3]", "[2, 4, 5] @ [3, 5, 6]"});
}

TEST(Matmul, ScalarsAndTransposedVectorsAreRejected) {
  expect_invalid([] { matmul(Tensor::scalar(1.f), Tensor::zeros({3})); }, {"matmul", "[]", "[3]"});
  expect_invalid([] { matmul(Tensor::zeros({3}), Tensor::zeros({3, 2}), true, false); }, {"matmul", "1-dimensional"});
}

// linear: x W^T + b in one sgemm, the bias pre-filled into the output.
TEST(Linear, MatchesMatmulPlusBiasForAnyLeadingAxes) {
  Tensor w = pattern({5, 4}, 1.f), b = pattern({5}, 2.f);
  for (const Shape& x_shape : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}, Shape{0, 4}}) {
    Tensor x = pattern(x_shape);
    Tensor want = add(matmul(x, w, false, true), b);
    expect_close(linear(x, w, b), want);
    expect_close(linear(x, w, Tensor()), matmul(x, w, false, true));
  }
  // No input features: every output is its bias (or 0), as in torch.
  expect_values(linear(Tensor::zeros({2, 0}), Tensor::zeros({3, 0}), Tensor::from({3}, {1, 2, 3})), {2, 3},
                {1, 2, 3, 1, 2, 3});
  expect_values(linear(Tensor::zeros({2, 0}), Tensor::zeros({3, 0}), Tensor()), {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(Linear, BadShapesNameTheOpAndTheShapes) {
  expect_invalid([] { linear(Tensor::zeros({3, 4}), Tensor::zeros({5, 3}), Tensor()); }, {"linear", "[3, 4]", "[5, 3]"});
  expect_invalid([] { linear(Tensor::zeros({3, 4}), Tensor::zeros({4}), Tensor()); }, {"linear", "weight [out, in]"});
  expect_invalid([] { linear(Tensor::scalar(1.f), Tensor::zeros({5, 1}), Tensor()); }, {"linear", "[]"});
  expect_invalid([] { linear(Tensor::zeros({3, 4}), Tensor::zeros({5, 4}), Tensor::zeros({4})); },
                 {"linear", "bias [5]", "[4]"});
}

}  // namespace
}  // namespace hd
