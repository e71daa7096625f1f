// Tests for data/loader.h: batching, shuffling, epochs, subsets and the pixel-range helpers.
#include "data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace {

// N examples whose row i is (i, 1000 + i) and whose target is i, so every batch row can be traced
// back to its example and checked against its target.
hd::Dataset numbered(int64_t n) {
  hd::Dataset d{hd::Tensor({n, 2}), hd::Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    d.images.data()[2 * i] = static_cast<float>(i);
    d.images.data()[2 * i + 1] = static_cast<float>(1000 + i);
    d.labels.data()[i] = static_cast<float>(i);
  }
  return d;
}

// The example indices of one epoch, in order, checking each row matches its target.
std::vector<int64_t> one_epoch(hd::DataLoader& loader) {
  std::vector<int64_t> seen;
  hd::Tensor x, y;
  while (loader.next(x, y)) {
    EXPECT_EQ(x.size(0), y.size(0));
    for (int64_t r = 0; r < x.size(0); ++r) {
      EXPECT_EQ(x.at({r, 0}), y.at({r}));
      EXPECT_EQ(x.at({r, 1}), 1000 + y.at({r}));
      seen.push_back(static_cast<int64_t>(y.at({r})));
    }
  }
  return seen;
}

std::vector<int64_t> batch_sizes(hd::DataLoader& loader) {
  std::vector<int64_t> sizes;
  hd::Tensor x, y;
  while (loader.next(x, y)) sizes.push_back(x.size(0));
  return sizes;
}

TEST(DataLoader, CountsBatchesWithAndWithoutDropLast) {
  hd::Dataset d = numbered(10);
  EXPECT_EQ(hd::DataLoader(d, 3, false, 0).num_batches(), 4);
  EXPECT_EQ(hd::DataLoader(d, 3, false, 0, /*drop_last=*/true).num_batches(), 3);
  EXPECT_EQ(hd::DataLoader(d, 5, false, 0, true).num_batches(), 2);
  EXPECT_EQ(hd::DataLoader(d, 20, false, 0).num_batches(), 1);
  EXPECT_EQ(hd::DataLoader(d, 20, false, 0, true).num_batches(), 0);
}

TEST(DataLoader, LastBatchIsShorterUnlessDropped) {
  hd::Dataset d = numbered(10);
  hd::DataLoader keep(d, 4, true, 1);
  EXPECT_EQ(batch_sizes(keep), (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(batch_sizes(keep), (std::vector<int64_t>{4, 4, 2}));  // next epoch: full-size buffers again
  hd::DataLoader drop(d, 4, true, 1, /*drop_last=*/true);
  EXPECT_EQ(batch_sizes(drop), (std::vector<int64_t>{4, 4}));
}

TEST(DataLoader, BatchesHaveTheShapeOfTheRows) {
  hd::DataLoader loader(hd::Tensor::zeros({7, 1, 3, 3}), hd::Tensor::zeros({7}), 4, true, 5);
  hd::Tensor x, y;
  ASSERT_TRUE(loader.next(x, y));
  EXPECT_EQ(x.shape(), (hd::Shape{4, 1, 3, 3}));
  EXPECT_EQ(y.shape(), (hd::Shape{4}));
}

TEST(DataLoader, VisitsEveryExampleExactlyOncePerEpoch) {
  hd::Dataset d = numbered(103);
  hd::DataLoader loader(d, 16, true, 7);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> seen = one_epoch(loader);
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(103);
    for (int64_t i = 0; i < 103; ++i) all[i] = i;
    EXPECT_EQ(seen, all) << "epoch " << epoch;
  }
  EXPECT_EQ(loader.epoch(), 3);
}

TEST(DataLoader, SameSeedGivesTheSameOrderEveryEpoch) {
  hd::Dataset d = numbered(50);
  hd::DataLoader a(d, 8, true, 42), b(d, 8, true, 42);
  for (int epoch = 0; epoch < 3; ++epoch) EXPECT_EQ(one_epoch(a), one_epoch(b)) << "epoch " << epoch;
}

TEST(DataLoader, EachEpochHasANewOrder) {
  hd::Dataset d = numbered(50);
  hd::DataLoader loader(d, 8, true, 42);
  std::vector<int64_t> first = one_epoch(loader), second = one_epoch(loader);
  EXPECT_NE(first, second);
  hd::DataLoader other_seed(d, 8, true, 43);
  EXPECT_NE(one_epoch(other_seed), first);
}

TEST(DataLoader, ShuffleOrderIsTheGeneratorsPermutation) {
  // Epoch k's order is the k-th torch.randperm(N) after torch.manual_seed(seed).
  hd::Dataset d = numbered(30);
  hd::DataLoader loader(d, 7, true, 3);
  hd::Generator gen(3);
  EXPECT_EQ(one_epoch(loader), gen.permutation(30));
  EXPECT_EQ(one_epoch(loader), gen.permutation(30));
}

TEST(DataLoader, WithoutShuffleKeepsTheDataOrder) {
  hd::DataLoader loader(numbered(9), 4, false, 0);
  EXPECT_EQ(one_epoch(loader), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(DataLoader, StartEpochRewindsMidEpoch) {
  hd::DataLoader loader(numbered(9), 4, false, 0);
  hd::Tensor x, y;
  ASSERT_TRUE(loader.next(x, y));
  ASSERT_TRUE(loader.next(x, y));
  loader.start_epoch();
  ASSERT_TRUE(loader.next(x, y));
  EXPECT_EQ(y.at({0}), 0.f);
  EXPECT_EQ(loader.epoch(), 2);
}

TEST(DataLoader, ReusesItsBatchBuffers) {
  hd::DataLoader loader(numbered(12), 4, true, 1);
  hd::Tensor x, y;
  ASSERT_TRUE(loader.next(x, y));
  const float* first = x.data();
  ASSERT_TRUE(loader.next(x, y));
  EXPECT_EQ(x.data(), first);  // no allocation per batch: keep a batch with clone()
}

TEST(DataLoader, LeavesTargetsUndefinedForUnlabelledData) {
  hd::DataLoader loader(hd::Tensor::ones({5, 3}), hd::Tensor(), 2, true, 1);
  hd::Tensor x, y;
  ASSERT_TRUE(loader.next(x, y));
  EXPECT_EQ(x.shape(), (hd::Shape{2, 3}));
  EXPECT_FALSE(y.defined());
}

TEST(DataLoader, RejectsBadArguments) {
  EXPECT_THROW(hd::DataLoader(hd::Tensor::zeros({5, 2}), hd::Tensor::zeros({4}), 2, true, 0), std::invalid_argument);
  EXPECT_THROW(hd::DataLoader(hd::Tensor::zeros({5, 2}), hd::Tensor(), 0, true, 0), std::invalid_argument);
  EXPECT_THROW(hd::DataLoader(hd::Tensor(), hd::Tensor(), 2, true, 0), std::invalid_argument);
}

TEST(Subset, SeedZeroTakesTheFirstExamples) {
  hd::Dataset s = hd::subset(numbered(10), 3, 0);
  EXPECT_EQ(s.images.shape(), (hd::Shape{3, 2}));
  EXPECT_EQ(s.labels.tolist(), (std::vector<float>{0, 1, 2}));
}

TEST(Subset, OtherSeedsTakeTheStartOfARandomPermutation) {
  hd::Dataset d = numbered(10);
  hd::Dataset s = hd::subset(d, 4, 9);
  std::vector<int64_t> perm = hd::Generator(9).permutation(10);
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s.labels.at({i}), static_cast<float>(perm[i]));
    EXPECT_EQ(s.images.at({i, 1}), 1000.f + static_cast<float>(perm[i]));
  }
  EXPECT_EQ(hd::subset(d, 4, 9).labels.tolist(), s.labels.tolist());
}

TEST(Subset, RejectsMoreExamplesThanThereAre) {
  EXPECT_THROW(hd::subset(numbered(10), 11, 0), std::invalid_argument);
  EXPECT_EQ(hd::subset(numbered(10), 10, 5).images.size(0), 10);
}

TEST(PixelRange, MapsBetweenZeroOneAndMinusOneOne) {
  hd::Tensor x = hd::Tensor::from({4}, {0.f, 0.25f, 0.5f, 1.f});
  hd::Tensor y = hd::to_minus_one_one(x);
  EXPECT_EQ(y.tolist(), (std::vector<float>{-1.f, -0.5f, 0.f, 1.f}));
  EXPECT_EQ(hd::from_minus_one_one(y).tolist(), x.tolist());
  EXPECT_EQ(x.at({1}), 0.25f);  // the input is untouched
  EXPECT_EQ(hd::scale_to_unit(hd::Tensor::from({2}, {0.f, 255.f})).tolist(), (std::vector<float>{0.f, 1.f}));
}

}  // namespace
