// Shape ops: permute/transpose (each of its three loops), concat, stack, slice with Python
// clamping, slice_scatter, index_select0 / index_add0, the reshape views, and the error messages.
#include <gtest/gtest.h>

#include "tensor_checks.h"

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

#include "tensor/shape_ops.h"

namespace hd {
namespace {

using test::expect_invalid;
using test::expect_values;
using test::pattern;

// Expects f to throw an exception of type E whose message contains every fragment.
template <class E = std::invalid_argument>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
  } catch (const E& e) {
    std::string msg = e.what();
    for (const std::string& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg;
    return;
  }
  ADD_FAILURE() << "expected an exception";
}

// 0, 1, 2, ... in the given shape: every element names its own position.
Tensor iota(const Shape& shape) { return Tensor::arange(0, static_cast<float>(shape_numel(shape))).reshape(shape); }

// Reference permute: out[i] = x[j] with j the input index whose permuted axes equal i.
Tensor permute_by_loop(const Tensor& x, const std::vector<int64_t>& perm) {
  const auto nd = static_cast<int64_t>(perm.size());
  Shape out_shape(nd);
  for (int64_t i = 0; i < nd; ++i) out_shape[i] = x.shape()[perm[i]];
  Tensor out(out_shape);
  std::vector<int64_t> in_stride(nd, 1);
  for (int64_t d = nd - 2; d >= 0; --d) in_stride[d] = in_stride[d + 1] * x.shape()[d + 1];
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    int64_t rest = flat, offset = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      offset += rest % out_shape[d] * in_stride[perm[d]];
      rest /= out_shape[d];
    }
    out.data()[flat] = x.data()[offset];
  }
  return out;
}

// --- permute, transpose ---

// Issue 12.1: a size of 2^62 once overflowed numel into a small buffer that the initialiser wrote past.
// Every shape whose element count (an empty axis counted as 1) passes 2^60 is refused, naming the op.
TEST(ShapeArithmetic, ImpossibleSizesAreErrorsNotSmallBuffers) {
  const int64_t huge = int64_t{1} << 62;
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no std::invalid_argument");
  };
  EXPECT_NE(message([&] { Tensor t({huge}); }).find("Tensor: shape [4611686018427387904] is too large"),
            std::string::npos);
  EXPECT_NE(message([&] { Tensor t({1 << 20, 1 << 20, 1 << 21}); }).find("too large"), std::string::npos);
  EXPECT_NE(message([&] { Tensor t({0, huge, huge}); }).find("too large"), std::string::npos);  // not 0 elements
  EXPECT_NE(message([&] { Tensor::zeros({4}).reshape({huge, huge, 0}); }).find("reshape"), std::string::npos);
  EXPECT_NE(message([&] { Tensor::arange(0.f, 1e30f); }).find("arange"), std::string::npos);
  const Tensor big = Tensor::zeros({0, int64_t{1} << 59});  // valid: 2^59 <= 2^60; four of them are not
  EXPECT_NE(message([&] { concat({big, big, big, big}, 1); }).find("concat"), std::string::npos);
  EXPECT_EQ(Tensor({0, 5}).numel(), 0);  // empty tensors stay fine
}

TEST(Permute, SmallValues) {
  expect_values(permute(iota({2, 3}), {1, 0}), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_values(permute(iota({2, 2, 2}), {2, 0, 1}), {2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7});
}

TEST(Permute, NegativeAxesAndIdentity) {
  expect_values(permute(iota({2, 3}), {-1, -2}), {3, 2}, {0, 3, 1, 4, 2, 5});
  Tensor x = iota({2, 3});
  Tensor same = permute(x, {0, 1});
  expect_values(same, {2, 3}, x.tolist());
  EXPECT_FALSE(same.shares_storage(x));
}

TEST(Permute, KeepingTheLastAxisCopiesRuns) {
  // [B, T, H, D] -> [B, H, T, D], as when splitting attention heads.
  Tensor x = iota({2, 5, 3, 4});
  EXPECT_EQ(permute(x, {0, 2, 1, 3}).tolist(), permute_by_loop(x, {0, 2, 1, 3}).tolist());
}

TEST(Permute, SwappingTheLastTwoAxesIsABatchedTranspose) {
  Tensor x = iota({3, 70, 45});  // not multiples of the 32 x 32 tile
  EXPECT_EQ(transpose(x, -1, -2).tolist(), permute_by_loop(x, {0, 2, 1}).tolist());
  Tensor big = iota({300, 400});  // large enough for threads
  EXPECT_EQ(transpose(big, 0, 1).tolist(), permute_by_loop(big, {1, 0}).tolist());
}

TEST(Permute, GeneralPermutationGathers) {
  Tensor x = iota({2, 3, 4, 5});
  EXPECT_EQ(permute(x, {3, 1, 0, 2}).tolist(), permute_by_loop(x, {3, 1, 0, 2}).tolist());
  Tensor y = iota({40, 30, 60});  // large enough for threads
  EXPECT_EQ(permute(y, {2, 0, 1}).tolist(), permute_by_loop(y, {2, 0, 1}).tolist());
}

TEST(Permute, SizeOneAxesMoveFreely) {
  Tensor x = iota({2, 1, 3});
  EXPECT_EQ(permute(x, {1, 0, 2}).tolist(), x.tolist());
  EXPECT_EQ(permute(x, {2, 1, 0}).tolist(), permute_by_loop(x, {2, 1, 0}).tolist());
}

TEST(Permute, EmptyTensor) { EXPECT_EQ(permute(Tensor::zeros({0, 3}), {1, 0}).shape(), (Shape{3, 0})); }

TEST(Permute, NotAPermutationThrows) {
  expect_error([] { permute(iota({2, 3}), {0, 0}); }, {"permute", "[0, 0]", "[2, 3]"});
  expect_error([] { permute(iota({2, 3}), {0}); }, {"permute", "[0]", "[2, 3]"});
  expect_error([] { permute(iota({2, 3}), {0, 2}); }, {"permute", "[0, 2]"});
}

TEST(Transpose, SwapsTwoAxes) {
  expect_values(transpose(iota({2, 3}), 0, 1), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_error([] { transpose(iota({2, 3}), 0, 2); }, {"transpose", "axis 2", "2 dimensions"});
}

// --- concat, stack ---

TEST(Concat, AlongEachAxis) {
  Tensor a = Tensor::from({2, 2}, {1, 2, 3, 4}), b = Tensor::from({2, 1}, {5, 6});
  expect_values(concat({a, b}, 1), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_values(concat({a, b}, -1), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_values(concat({a, Tensor::from({1, 2}, {7, 8})}, 0), {3, 2}, {1, 2, 3, 4, 7, 8});
}

TEST(Concat, SkipsEmptyPieces) {
  Tensor a = Tensor::from({2, 1}, {1, 2});
  expect_values(concat({Tensor::zeros({2, 0}), a, Tensor::zeros({2, 0})}, 1), {2, 1}, {1, 2});
}

TEST(Concat, MismatchedSizesThrowNamingBothShapes) {
  expect_error([] { concat({Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}, 1); },
               {"concat", "tensor 1", "[3, 3]", "[2, 3]", "axis 1"});
  expect_error([] { concat({Tensor::zeros({2, 3}), Tensor::zeros({6})}, 0); }, {"concat", "[6]", "[2, 3]"});
  expect_error([] { concat({}, 0); }, {"concat", "at least one"});
  expect_error([] { concat({Tensor::scalar(1.f)}, 0); }, {"concat", "0-dimensional"});
}

TEST(Stack, AddsANewAxis) {
  Tensor a = Tensor::from({2}, {1, 2}), b = Tensor::from({2}, {3, 4});
  expect_values(stack({a, b}, 0), {2, 2}, {1, 2, 3, 4});
  expect_values(stack({a, b}, 1), {2, 2}, {1, 3, 2, 4});
  expect_values(stack({a, b}, -1), {2, 2}, {1, 3, 2, 4});
  expect_values(stack({Tensor::scalar(1.f), Tensor::scalar(2.f)}, 0), {2}, {1, 2});
}

TEST(Stack, DifferentShapesThrow) {
  expect_error([] { stack({Tensor::zeros({2}), Tensor::zeros({3})}, 0); }, {"stack", "tensor 1", "[3]", "[2]"});
  expect_error([] { stack({Tensor::zeros({2})}, 2); }, {"stack", "axis 2"});
}

// --- slice, slice_scatter ---

TEST(Slice, StepAndAxis) {
  expect_values(slice(iota({6}), 0, 1, 5, 2), {2}, {1, 3});
  expect_values(slice(iota({2, 4}), 1, 1, 3), {2, 2}, {1, 2, 5, 6});
  expect_values(slice(iota({3, 2}), -2, 1, 3), {2, 2}, {2, 3, 4, 5});
}

TEST(Slice, BoundsClampLikePython) {
  Tensor x = iota({5});
  expect_values(slice(x, 0, -2, 100), {2}, {3, 4});     // x[-2:100]
  expect_values(slice(x, 0, -100, 2), {2}, {0, 1});     // x[-100:2]
  expect_values(slice(x, 0, 3, 1), {0}, {});            // x[3:1] is empty
  expect_values(slice(x, 0, 0, -1, 3), {2}, {0, 3});    // x[0:-1:3]
  expect_values(slice(x, 0, 7, 9), {0}, {});            // past the end
}

TEST(Slice, LargeStridedCopy) {
  Tensor x = iota({300, 500});
  Tensor s = slice(x, 1, 7, 480, 3);
  ASSERT_EQ(s.shape(), (Shape{300, 158}));
  for (int64_t i = 0; i < 300; i += 13)
    for (int64_t j = 0; j < 158; j += 5) ASSERT_EQ(s.at({i, j}), x.at({i, 7 + 3 * j}));
}

TEST(Slice, BadArgumentsThrow) {
  expect_error([] { slice(iota({5}), 0, 0, 5, 0); }, {"slice", "step", "0"});
  expect_error([] { slice(Tensor::scalar(1.f), 0, 0, 1); }, {"slice", "0-dimensional"});
  expect_error([] { slice(iota({5}), 1, 0, 1); }, {"slice", "axis 1", "1 dimensions"});
}

TEST(SliceScatter, WritesIntoZeros) {
  expect_values(slice_scatter(Tensor::from({2}, {7, 8}), {5}, 0, 1, 5, 2), {5}, {0, 7, 0, 8, 0});
  expect_values(slice_scatter(Tensor::from({2, 1}, {7, 8}), {2, 3}, 1, -1, 3), {2, 3}, {0, 0, 7, 0, 0, 8});
}

TEST(SliceScatter, InvertsSlice) {
  Tensor x = iota({4, 6});
  Tensor back = slice_scatter(slice(x, 1, 1, 6, 2), {4, 6}, 1, 1, 6, 2);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(back.at({i, j}), j % 2 == 1 ? x.at({i, j}) : 0.f);
}

TEST(SliceScatter, WrongSourceShapeThrows) {
  expect_error([] { slice_scatter(Tensor::zeros({3}), {5}, 0, 1, 5, 2); },
               {"slice_scatter", "[3]", "[5]", "[2]"});
}

// --- index_select0, index_add0 ---

TEST(IndexSelect0, PicksRowsInIndexShape) {
  Tensor x = iota({4, 2});
  expect_values(index_select0(x, Tensor::from({2, 2}, {3, 0, 1, 1})), {2, 2, 2}, {6, 7, 0, 1, 2, 3, 2, 3});
  expect_values(index_select0(iota({3}), Tensor::from({2}, {2, 0})), {2}, {2, 0});
  EXPECT_EQ(index_select0(x, Tensor::zeros({0})).shape(), (Shape{0, 2}));
}

TEST(IndexSelect0, BadIndicesThrow) {
  expect_error<std::out_of_range>([] { index_select0(iota({4, 2}), Tensor::from({1}, {4})); },
                                  {"index_select0", "4", "4 rows", "[4, 2]"});
  expect_error<std::out_of_range>([] { index_select0(iota({4, 2}), Tensor::from({1}, {-1})); },
                                  {"index_select0", "-1"});
  expect_error([] { index_select0(iota({4, 2}), Tensor::from({1}, {1.5f})); }, {"index_select0", "1.5", "integer"});
}

TEST(IndexAdd0, RepeatedIndicesAccumulate) {
  Tensor src = Tensor::from({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_values(index_add0(src, Tensor::from({3}, {2, 0, 2}), 4), {4, 2}, {3, 4, 0, 0, 6, 8, 0, 0});
}

TEST(IndexAdd0, InvertsIndexSelectForGradients) {
  // Large enough for the threaded column split; every row picked twice.
  Tensor idx(Shape{2000});
  for (int64_t k = 0; k < 2000; ++k) idx.data()[k] = static_cast<float>(k % 1000);
  Tensor g = Tensor::ones({2000, 128});
  Tensor out = index_add0(g, idx, 1000);
  ASSERT_EQ(out.shape(), (Shape{1000, 128}));
  for (float v : out.tolist()) ASSERT_EQ(v, 2.f);
}

TEST(IndexAdd0, ShapeMismatchAndBadIndexThrow) {
  expect_error([] { index_add0(Tensor::zeros({3, 2}), Tensor::zeros({4}), 5); }, {"index_add0", "[3, 2]", "[4]"});
  expect_error<std::out_of_range>([] { index_add0(Tensor::zeros({1, 2}), Tensor::from({1}, {5}), 5); },
                                  {"index_add0", "5", "5 rows"});
}

// --- views ---

TEST(Unsqueeze, AddsAxisAndSharesStorage) {
  Tensor x = iota({2, 3});
  Tensor u = unsqueeze(x, 1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3}));
  EXPECT_TRUE(u.shares_storage(x));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(Tensor::scalar(1.f), 0).shape(), (Shape{1}));
  expect_error([] { unsqueeze(iota({2, 3}), 3); }, {"unsqueeze", "axis 3"});
}

TEST(Squeeze, RemovesOnlyASizeOneAxis) {
  Tensor x = iota({2, 1, 3});
  EXPECT_EQ(squeeze(x, 1).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(x, -2).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(x, 0).shape(), (Shape{2, 1, 3}));  // size 2: left alone, as torch.squeeze
  EXPECT_TRUE(squeeze(x, 1).shares_storage(x));
}

TEST(Flatten, CollapsesARangeOfAxes) {
  Tensor x = iota({2, 3, 4, 5});
  EXPECT_EQ(flatten(x).shape(), (Shape{120}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 60}));
  EXPECT_EQ(flatten(x, 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(flatten(x, -2).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(flatten(Tensor::scalar(1.f)).shape(), (Shape{1}));
  EXPECT_TRUE(flatten(x).shares_storage(x));
  expect_error([] { flatten(iota({2, 3, 4}), 2, 1); }, {"flatten", "2", "1", "[2, 3, 4]"});
}

}  // namespace
}  // namespace hd
