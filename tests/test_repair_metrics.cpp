// Tests for metrics/repair.h: L1 and PSNR count only the damaged region, PSNR of a known MSE, a perfect repair's
// infinite PSNR, and the shape errors naming the function.
#include "metrics/repair.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "tests/error_of.h"

namespace {

using hd::test::error_of;

// [B, 1, H, W]: 1 on the left `cols` columns, 0 elsewhere.
hd::Tensor left_columns_mask(int64_t b, int64_t h, int64_t w, int64_t cols) {
  hd::Tensor m = hd::Tensor::zeros({b, 1, h, w});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < cols; ++c) m.at({i, 0, r, c}) = 1.f;
  return m;
}

TEST(L1InRegion, CountsOnlyTheMaskedPixels) {
  const hd::Tensor truth = hd::Tensor::zeros({2, 1, 4, 6});
  hd::Tensor repaired = hd::Tensor::full({2, 1, 4, 6}, 1.f);  // error 1 outside the region
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 2; ++c) repaired.at({b, 0, r, c}) = b == 0 ? 0.25f : -0.75f;  // |error| 0.25, 0.75
  EXPECT_NEAR(hd::l1_in_region(repaired, truth, left_columns_mask(2, 4, 6, 2)), 0.5, 1e-7);
}

TEST(L1InRegion, AMaskOfAllOnesIsTheWholeImagesMean) {
  const hd::Tensor truth = hd::Tensor::from({1, 1, 2, 2}, {0.f, 0.5f, 1.f, 0.25f});
  const hd::Tensor repaired = hd::Tensor::from({1, 1, 2, 2}, {0.1f, 0.5f, 0.6f, 0.25f});
  EXPECT_NEAR(hd::l1_in_region(repaired, truth, hd::Tensor::ones({1, 1, 2, 2})), (0.1 + 0.4) / 4, 1e-7);
}

TEST(L1InRegion, AOneChannelMaskCoversEveryChannelAndAFullMaskEachOnItsOwn) {
  const hd::Tensor truth = hd::Tensor::zeros({1, 3, 2, 2});
  hd::Tensor repaired = hd::Tensor::zeros({1, 3, 2, 2});
  repaired.at({0, 0, 0, 0}) = 0.3f;
  repaired.at({0, 2, 0, 0}) = 0.6f;
  repaired.at({0, 1, 1, 1}) = 1.f;  // outside both masks below
  hd::Tensor shared = hd::Tensor::zeros({1, 1, 2, 2});
  shared.at({0, 0, 0, 0}) = 1.f;
  EXPECT_NEAR(hd::l1_in_region(repaired, truth, shared), (0.3 + 0.6) / 3, 1e-7);  // 3 pixel values, one per channel
  hd::Tensor per_channel = hd::Tensor::zeros({1, 3, 2, 2});
  per_channel.at({0, 2, 0, 0}) = 1.f;
  EXPECT_NEAR(hd::l1_in_region(repaired, truth, per_channel), 0.6, 1e-7);
}

TEST(L1InRegion, AMaskValueBelowOneHalfIsOutsideTheRegion) {
  const hd::Tensor truth = hd::Tensor::zeros({1, 1, 1, 3});
  const hd::Tensor repaired = hd::Tensor::from({1, 1, 1, 3}, {0.2f, 0.4f, 1.f});
  const hd::Tensor mask = hd::Tensor::from({1, 1, 1, 3}, {0.5f, 0.98f, 0.49f});
  EXPECT_NEAR(hd::l1_in_region(repaired, truth, mask), 0.3, 1e-7);
}

TEST(PsnrInRegion, AnErrorOfOneTenthIsTwentyDecibels) {
  const hd::Tensor truth = hd::Tensor::full({3, 1, 5, 5}, 0.4f);
  const hd::Tensor repaired = hd::Tensor::full({3, 1, 5, 5}, 0.5f);  // MSE 0.01: 10 log10(100) = 20
  EXPECT_NEAR(hd::psnr_in_region(repaired, truth, hd::Tensor::ones({3, 1, 5, 5})), 20.0, 1e-4);
}

TEST(PsnrInRegion, IgnoresErrorsOutsideTheRegion) {
  const hd::Tensor truth = hd::Tensor::zeros({1, 1, 4, 4});
  hd::Tensor repaired = hd::Tensor::ones({1, 1, 4, 4});
  for (int64_t r = 0; r < 4; ++r) repaired.at({0, 0, r, 0}) = r % 2 ? 0.f : 0.2f;  // region MSE (0.04 + 0) / 2
  EXPECT_NEAR(hd::psnr_in_region(repaired, truth, left_columns_mask(1, 4, 4, 1)), 10 * std::log10(1 / 0.02), 1e-4);
}

TEST(PsnrInRegion, APerfectRepairIsInfinite) {
  const hd::Tensor truth = hd::Tensor::full({1, 1, 3, 3}, 0.7f);
  const double psnr = hd::psnr_in_region(truth.clone(), truth, hd::Tensor::ones({1, 1, 3, 3}));
  EXPECT_TRUE(std::isinf(psnr) && psnr > 0) << psnr;
}

TEST(RepairMetricErrors, ShapesThatDoNotFitNameTheFunction) {
  const hd::Tensor a = hd::Tensor::zeros({2, 1, 4, 4});
  const hd::Tensor empty_mask = hd::Tensor::zeros({2, 1, 4, 4});
  const hd::Tensor ones = hd::Tensor::ones({2, 1, 4, 4});
  const struct {
    std::function<void(const hd::Tensor&, const hd::Tensor&, const hd::Tensor&)> call;
    std::string name;
  } metrics[] = {{[](auto& r, auto& t, auto& m) { hd::l1_in_region(r, t, m); }, "l1_in_region"},
                 {[](auto& r, auto& t, auto& m) { hd::psnr_in_region(r, t, m); }, "psnr_in_region"}};
  for (const auto& metric : metrics) {
    const struct {
      hd::Tensor repaired, truth, mask;
      std::string expected;
    } cases[] = {
        {hd::Tensor::zeros({2, 16}), hd::Tensor::zeros({2, 16}), ones, "expected repaired images [B, C, H, W]"},
        {a, hd::Tensor::zeros({2, 1, 4, 5}), ones, "expected truth of the repaired images' shape [2, 1, 4, 4]"},
        {a, a, hd::Tensor::ones({2, 1, 4, 5}), "expected a mask [2, 1, 4, 4], got [2, 1, 4, 5]"},
        {a, a, hd::Tensor::ones({1, 1, 4, 4}), "expected a mask"},
        {hd::Tensor::zeros({2, 3, 4, 4}), hd::Tensor::zeros({2, 3, 4, 4}), hd::Tensor::ones({2, 2, 4, 4}),
         "expected a mask [2, 1, 4, 4] or [2, 3, 4, 4]"},
        {a, a, empty_mask, "the mask marks no pixel"},
        {a, hd::Tensor(), ones, "expected three defined tensors"},
    };
    for (const auto& c : cases) {
      auto call = [&] { metric.call(c.repaired, c.truth, c.mask); };
      EXPECT_THROW(call(), std::invalid_argument) << metric.name << ": " << c.expected;
      const std::string message = error_of(call);
      EXPECT_EQ(message.rfind(metric.name + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    }
  }
}

}  // namespace
