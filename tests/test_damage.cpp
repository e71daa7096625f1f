// Tests for data/damage.h: where each mask falls, what blur, noise, lost tones and the Sobel sketch do to images of
// known content, the same damage from the same seed, the input left alone, and the errors naming the function.
#include "data/damage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tests/error_of.h"

namespace {

using hd::test::error_of;

// [B, C, H, W] of uniform noise in [0, 1): images with something in every pixel.
hd::Tensor noise_images(int64_t b, int64_t c, int64_t h, int64_t w, uint64_t seed = 0) {
  hd::Generator rng(seed);
  return hd::rand({b, c, h, w}, rng);
}

double sum_of(const hd::Tensor& t) {
  double total = 0;
  for (float v : t.tolist()) total += v;
  return total;
}

// [1, 1, H, W]: 0 left of column `step`, 1 from it on.
hd::Tensor vertical_step(int64_t h, int64_t w, int64_t step) {
  hd::Tensor x = hd::Tensor::zeros({1, 1, h, w});
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = step; c < w; ++c) x.at({0, 0, r, c}) = 1.f;
  return x;
}

// --- masked regions ---

TEST(MaskCentre, HalfOfA28SideIsRowsAndColumns7To20) {
  const hd::Tensor x = noise_images(2, 1, 28, 28);
  const hd::Damaged d = hd::mask_centre(x, 0.5, /*fill=*/0.f);
  ASSERT_EQ(d.mask.shape(), (hd::Shape{2, 1, 28, 28}));
  ASSERT_EQ(d.image.shape(), x.shape());
  EXPECT_EQ(sum_of(d.mask), 2 * 196);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t r = 0; r < 28; ++r)
      for (int64_t c = 0; c < 28; ++c) {
        const bool inside = r >= 7 && r <= 20 && c >= 7 && c <= 20;
        EXPECT_EQ(d.mask.at({b, 0, r, c}), inside ? 1.f : 0.f) << b << " " << r << " " << c;
        EXPECT_EQ(d.image.at({b, 0, r, c}), inside ? 0.f : x.at({b, 0, r, c})) << b << " " << r << " " << c;
      }
}

TEST(MaskCentre, FillsEveryChannelWithTheFillValue) {
  const hd::Tensor x = noise_images(1, 3, 10, 10);
  const hd::Damaged d = hd::mask_centre(x, 0.4, /*fill=*/0.7f);
  ASSERT_EQ(d.mask.shape(), (hd::Shape{1, 1, 10, 10}));
  EXPECT_EQ(sum_of(d.mask), 16);  // 4 x 4 at rows and columns 3..6
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(d.image.at({0, c, 3, 3}), 0.7f);
    EXPECT_EQ(d.image.at({0, c, 6, 6}), 0.7f);
    EXPECT_EQ(d.image.at({0, c, 2, 3}), x.at({0, c, 2, 3}));
    EXPECT_EQ(d.image.at({0, c, 7, 6}), x.at({0, c, 7, 6}));
  }
}

TEST(MaskCentre, FractionOneMasksTheWholeImage) {
  const hd::Damaged d = hd::mask_centre(noise_images(1, 1, 7, 9), 1.0);
  EXPECT_EQ(sum_of(d.mask), 63);
  EXPECT_EQ(sum_of(d.image), 0);
}

TEST(MaskBoxes, OneBoxIsASolidRectangleNoLargerThanMaxSide) {
  const hd::Tensor x = noise_images(50, 1, 28, 28);
  hd::Generator rng(3);
  const hd::Damaged d = hd::mask_boxes(x, 1, 10, rng);
  for (int64_t b = 0; b < 50; ++b) {
    int64_t top = 28, bottom = -1, left = 28, right = -1, count = 0;
    for (int64_t r = 0; r < 28; ++r)
      for (int64_t c = 0; c < 28; ++c)
        if (d.mask.at({b, 0, r, c}) == 1.f) {
          top = std::min(top, r), bottom = std::max(bottom, r), left = std::min(left, c), right = std::max(right, c);
          ++count;
          EXPECT_EQ(d.image.at({b, 0, r, c}), 0.f);
        }
    ASSERT_GE(count, 1) << "image " << b;
    EXPECT_LE(bottom - top + 1, 10);
    EXPECT_LE(right - left + 1, 10);
    EXPECT_EQ(count, (bottom - top + 1) * (right - left + 1)) << "image " << b << ": not one solid rectangle";
  }
}

TEST(MaskBoxes, ZeroBoxesDamageNothing) {
  const hd::Tensor x = noise_images(2, 1, 8, 8);
  hd::Generator rng(0);
  const hd::Damaged d = hd::mask_boxes(x, 0, 4, rng);
  EXPECT_EQ(sum_of(d.mask), 0);
  EXPECT_TRUE(hd::allclose(d.image, x, 0, 0));
}

TEST(MaskBoxes, AMaxSideLargerThanTheImageIsCutToIt) {
  hd::Generator rng(1);
  const hd::Damaged d = hd::mask_boxes(noise_images(20, 1, 5, 6), 2, 100, rng);
  EXPECT_GT(sum_of(d.mask), 0);
  for (float m : d.mask.tolist()) EXPECT_TRUE(m == 0.f || m == 1.f);
}

TEST(MaskStrokes, AThinStrokeLiesInsideTheThickOneOfTheSameSeed) {
  const hd::Tensor x = noise_images(8, 1, 28, 28);
  hd::Generator thin_rng(5), thick_rng(5);
  const hd::Damaged thin = hd::mask_strokes(x, 3, 1.0, thin_rng);
  const hd::Damaged thick = hd::mask_strokes(x, 3, 5.0, thick_rng);
  EXPECT_GT(sum_of(thin.mask), 8 * 3 * 2);  // segments of 2.8 pixels or more: a few pixels per stroke at least
  EXPECT_GT(sum_of(thick.mask), 2 * sum_of(thin.mask));
  const std::vector<float> a = thin.mask.tolist(), b = thick.mask.tolist();
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] == 1.f) {
      ASSERT_EQ(b[i], 1.f) << "pixel " << i << " is in the thin stroke only";
    }
}

TEST(MaskStrokes, OneStrokeIsOnePieceAndItsPixelsAreFilled) {
  hd::Generator rng(11);
  const hd::Tensor x = noise_images(1, 1, 28, 28);
  // Width 2: every point of the walk has a pixel within 0.71 < 1 of it, and as the point moves its nearest pixel
  // steps to an 8-neighbour, so the stroke is one 8-connected piece.
  const hd::Damaged d = hd::mask_strokes(x, 1, 2.0, rng, /*fill=*/1.f);
  // Flood fill from one masked pixel through 8-neighbours: a random walk of segments is one piece.
  std::vector<int> seen(28 * 28, 0), stack;
  int64_t total = 0;
  for (int64_t p = 0; p < 28 * 28; ++p)
    if (d.mask.data()[p] == 1.f) {
      ++total;
      EXPECT_EQ(d.image.data()[p], 1.f);
      if (stack.empty() && !seen[p]) stack.push_back(static_cast<int>(p)), seen[p] = 1;
    }
  int64_t reached = 0;
  while (!stack.empty()) {
    const int p = stack.back();
    stack.pop_back();
    ++reached;
    for (int dr = -1; dr <= 1; ++dr)
      for (int dc = -1; dc <= 1; ++dc) {
        const int r = p / 28 + dr, c = p % 28 + dc;
        if (r < 0 || r >= 28 || c < 0 || c >= 28 || seen[r * 28 + c] || d.mask.data()[r * 28 + c] != 1.f) continue;
        seen[r * 28 + c] = 1;
        stack.push_back(r * 28 + c);
      }
  }
  EXPECT_GT(total, 1);
  EXPECT_EQ(reached, total);
}

// --- the same seed, the same damage; the input left alone ---

TEST(Damage, TheSameSeedGivesTheSameDamageAndAnotherSeedAnother) {
  const hd::Tensor x = noise_images(4, 1, 28, 28);
  for (const std::string name : {"boxes", "strokes", "noise"}) {
    hd::Generator a(7), b(7), c(8);
    const hd::Damaged da = hd::damage_by_name(name, x, a), db = hd::damage_by_name(name, x, b),
                      dc = hd::damage_by_name(name, x, c);
    EXPECT_TRUE(hd::allclose(da.image, db.image, 0, 0)) << name;
    EXPECT_TRUE(hd::allclose(da.mask, db.mask, 0, 0)) << name;
    EXPECT_FALSE(hd::allclose(da.image, dc.image, 0, 0)) << name;
  }
}

TEST(Damage, NoDamageWritesIntoItsInput) {
  const hd::Tensor x = noise_images(3, 1, 28, 28);
  const hd::Tensor before = x.clone();
  for (const std::string& name : hd::damage_names()) {
    hd::Generator rng(0);
    const hd::Damaged d = hd::damage_by_name(name, x, rng);
    EXPECT_FALSE(d.image.shares_storage(x)) << name;
    EXPECT_TRUE(hd::allclose(x, before, 0, 0)) << name << " changed its input";
  }
}

TEST(Damage, ByNameGivesImagesOfTheInputShapeAndMasksOfOneChannel) {
  const hd::Tensor x = noise_images(2, 3, 12, 16);
  for (const std::string& name : hd::damage_names()) {
    hd::Generator rng(0);
    const hd::Damaged d = hd::damage_by_name(name, x, rng);
    EXPECT_EQ(d.image.shape(), x.shape()) << name;
    EXPECT_EQ(d.mask.shape(), (hd::Shape{2, 1, 12, 16})) << name;
    const double ones = sum_of(d.mask);
    if (name == "blur" || name == "noise" || name == "tones" || name == "sketch")
      EXPECT_EQ(ones, 2 * 12 * 16) << name << ": the whole image is damaged";
    else
      EXPECT_TRUE(ones > 0 && ones < 2 * 12 * 16) << name << ": " << ones;
  }
}

// --- Gaussian blur ---

TEST(GaussianBlur, KeepsAConstantImageConstantUpToTheEdges) {
  const hd::Tensor x = hd::Tensor::full({2, 1, 9, 11}, 0.37f);
  const hd::Tensor y = hd::gaussian_blur(x, 2.0);
  for (float v : y.tolist()) EXPECT_NEAR(v, 0.37f, 1e-6);
}

TEST(GaussianBlur, MatchesTheHandComputedKernelOnOneRow) {
  // sigma 1: R = 3, G(i) = exp(-i^2 / 2) / 2.5059499 (the sum over i = -3..3); an impulse at column 4 of one row
  // spreads into G(c - 4). One row: the pass along the columns repeats the row and changes nothing.
  hd::Tensor x = hd::Tensor::zeros({1, 1, 1, 9});
  x.at({0, 0, 0, 4}) = 1.f;
  const hd::Tensor y = hd::gaussian_blur(x, 1.0);
  const float expected[9] = {0.f, 0.0044330f, 0.0540056f, 0.2420362f, 0.3990503f,
                             0.2420362f, 0.0540056f, 0.0044330f, 0.f};
  for (int64_t c = 0; c < 9; ++c) EXPECT_NEAR(y.at({0, 0, 0, c}), expected[c], 1e-6) << "column " << c;
}

TEST(GaussianBlur, AnImpulseAwayFromTheEdgesKeepsItsEnergy) {
  hd::Tensor x = hd::Tensor::zeros({1, 1, 21, 21});
  x.at({0, 0, 10, 10}) = 1.f;
  const hd::Tensor y = hd::gaussian_blur(x, 1.5);  // R = 5: the kernel stays inside the 21 x 21 image
  EXPECT_NEAR(sum_of(y), 1.0, 1e-5);
  EXPECT_LT(y.at({0, 0, 10, 10}), 0.1f);
  EXPECT_FLOAT_EQ(y.at({0, 0, 10, 8}), y.at({0, 0, 8, 10}));  // round, the same along rows and columns
}

TEST(GaussianBlur, LeavesAFlatRegionAloneFartherThanTheRadiusFromAnyChange) {
  hd::Tensor x = hd::Tensor::full({1, 1, 10, 40}, 0.2f);
  for (int64_t r = 0; r < 10; ++r)
    for (int64_t c = 20; c < 40; ++c) x.at({0, 0, r, c}) = 0.8f;
  const hd::Tensor y = hd::gaussian_blur(x, 1.0);  // R = 3
  for (int64_t r = 0; r < 10; ++r) {
    for (int64_t c = 0; c < 17; ++c) EXPECT_NEAR(y.at({0, 0, r, c}), 0.2f, 1e-6) << r << " " << c;
    for (int64_t c = 23; c < 40; ++c) EXPECT_NEAR(y.at({0, 0, r, c}), 0.8f, 1e-6) << r << " " << c;
    EXPECT_GT(y.at({0, 0, r, 19}), 0.2f + 0.05f);  // and mixes the two beside the change
    EXPECT_LT(y.at({0, 0, r, 20}), 0.8f - 0.05f);
  }
}

TEST(GaussianBlur, ReducesTheVarianceOfNoiseAndKeepsItsMean) {
  const hd::Tensor x = noise_images(1, 1, 64, 64, 2);
  const hd::Tensor y = hd::gaussian_blur(x, 1.5);
  auto mean_and_variance = [](const hd::Tensor& t) {
    double mean = sum_of(t) / t.numel(), var = 0;
    for (float v : t.tolist()) var += (v - mean) * (v - mean) / t.numel();
    return std::pair{mean, var};
  };
  const auto [mean_x, var_x] = mean_and_variance(x);
  const auto [mean_y, var_y] = mean_and_variance(y);
  EXPECT_NEAR(mean_y, mean_x, 0.01);
  EXPECT_LT(var_y, var_x / 10);  // white noise: variance / (4 pi sigma^2) ~ / 28
}

// --- noise, tones ---

TEST(AddNoise, HasTheAskedStdOnMidGrayImages) {
  const hd::Tensor x = hd::Tensor::full({32, 1, 28, 28}, 0.5f);
  hd::Generator rng(4);
  const hd::Tensor y = hd::add_noise(x, 0.08, rng);  // 0.5 / 0.08 > 6 std: nothing is clamped
  double mean = 0, var = 0;
  for (float v : y.tolist()) mean += (v - 0.5) / y.numel();
  for (float v : y.tolist()) var += (v - 0.5 - mean) * (v - 0.5 - mean) / y.numel();
  EXPECT_NEAR(mean, 0.0, 0.002);             // 0.08 / sqrt(25088) = 0.0005 per unit of error
  EXPECT_NEAR(std::sqrt(var), 0.08, 0.002);  // relative error ~ 1 / sqrt(2n) = 0.45 %
}

TEST(AddNoise, ClampsToTheUnitIntervalAndStdZeroChangesNothing) {
  const hd::Tensor x = noise_images(4, 1, 16, 16);
  hd::Generator rng(9);
  const hd::Tensor loud = hd::add_noise(x, 3.0, rng);
  std::set<float> values;
  for (float v : loud.tolist()) {
    EXPECT_TRUE(v >= 0.f && v <= 1.f) << v;
    if (v == 0.f || v == 1.f) values.insert(v);
  }
  EXPECT_EQ(values.size(), 2u);  // both ends reached
  EXPECT_TRUE(hd::allclose(hd::add_noise(x, 0.0, rng), x, 0, 0));
}

TEST(LoseTones, TwoLevelsBinariseAtOneHalf) {
  const hd::Tensor x = hd::Tensor::from({1, 1, 1, 6}, {0.f, 0.3f, 0.49f, 0.5f, 0.8f, 1.f});
  const hd::Tensor y = hd::lose_tones(x, 2);
  EXPECT_EQ(y.tolist(), (std::vector<float>{0.f, 0.f, 0.f, 1.f, 1.f, 1.f}));
  for (float v : hd::lose_tones(noise_images(4, 1, 28, 28), 2).tolist()) EXPECT_TRUE(v == 0.f || v == 1.f) << v;
}

TEST(LoseTones, FiveLevelsRoundToTheNearestQuarter) {
  const hd::Tensor x = noise_images(2, 1, 28, 28);
  const hd::Tensor y = hd::lose_tones(x, 5);
  const std::vector<float> in = x.tolist(), out = y.tolist();
  std::set<float> seen;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_NEAR(out[i] * 4, std::round(out[i] * 4), 1e-6) << out[i];
    EXPECT_LE(std::abs(out[i] - in[i]), 0.125f + 1e-6f);
    seen.insert(out[i]);
  }
  EXPECT_EQ(seen.size(), 5u);
}

// --- the Sobel sketch ---

TEST(SobelEdges, FindsTheStepOnTheTwoColumnsBesideItAsDarkLinesOnWhite) {
  const hd::Tensor y = hd::sobel_edges(vertical_step(10, 28, 14));
  ASSERT_EQ(y.shape(), (hd::Shape{1, 1, 10, 28}));
  for (int64_t r = 0; r < 10; ++r)
    for (int64_t c = 0; c < 28; ++c)
      EXPECT_EQ(y.at({0, 0, r, c}), (c == 13 || c == 14) ? 0.f : 1.f) << r << " " << c;
}

TEST(SobelEdges, AFullStepScoresOneAndAStepOfHeightHScoresH) {
  EXPECT_EQ(sum_of(hd::sobel_edges(vertical_step(4, 10, 5), 1.0)), 4 * 10 - 2 * 4);
  hd::Tensor step = vertical_step(4, 10, 5);
  for (float& v : std::span(step.data(), step.numel())) v *= 0.6f;
  EXPECT_EQ(sum_of(hd::sobel_edges(step, 0.55)), 4 * 10 - 2 * 4);
  EXPECT_EQ(sum_of(hd::sobel_edges(step, 0.65)), 4 * 10);
}

TEST(SobelEdges, AFlatImageHasNoEdges) {
  for (float v : hd::sobel_edges(hd::Tensor::full({2, 1, 28, 28}, 0.6f)).tolist()) EXPECT_EQ(v, 1.f);
}

TEST(SobelEdges, AFaintStepIsBelowTheThresholdAndEveryChannelGetsTheSketch) {
  hd::Tensor faint = vertical_step(6, 12, 6);
  for (float& v : std::span(faint.data(), faint.numel())) v *= 0.2f;  // magnitude 0.2 < 0.25
  for (float v : hd::sobel_edges(faint, 0.25).tolist()) EXPECT_EQ(v, 1.f);
  EXPECT_EQ(sum_of(hd::sobel_edges(faint, 0.1)), 6 * 12 - 2 * 6);
  hd::Tensor rgb = hd::Tensor::zeros({1, 3, 6, 12});
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t c = 6; c < 12; ++c) rgb.at({0, ch, r, c}) = 1.f;
  const hd::Tensor y = hd::sobel_edges(rgb);
  ASSERT_EQ(y.shape(), rgb.shape());
  for (int64_t ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(y.at({0, ch, 2, 5}), 0.f);
    EXPECT_EQ(y.at({0, ch, 2, 6}), 0.f);
    EXPECT_EQ(y.at({0, ch, 2, 2}), 1.f);
  }
}

// --- errors name the function and what it expected ---

TEST(DamageErrors, EachBadArgumentNamesTheFunction) {
  const hd::Tensor x = noise_images(1, 1, 8, 8);
  const hd::Tensor flat = hd::Tensor::zeros({8, 8});
  hd::Generator rng(0);
  const struct {
    std::string function;
    std::function<void()> call;
    std::string expected;
  } cases[] = {
      {"mask_centre", [&] { hd::mask_centre(flat); }, "expected images [B, C, H, W]"},
      {"mask_centre", [&] { hd::mask_centre(x, 0.0); }, "fraction must be in (0, 1]"},
      {"mask_centre", [&] { hd::mask_centre(x, 1.5); }, "fraction must be in (0, 1]"},
      {"mask_centre", [&] { hd::mask_centre(x, std::nan("")); }, "fraction"},
      {"mask_centre", [&] { hd::mask_centre(x, 0.5, INFINITY); }, "fill must be finite"},
      {"mask_boxes", [&] { hd::mask_boxes(x, -1, 3, rng); }, "count must be >= 0"},
      {"mask_boxes", [&] { hd::mask_boxes(x, 2, 0, rng); }, "max_side must be >= 1"},
      {"mask_boxes", [&] { hd::mask_boxes(hd::Tensor::zeros({1, 1, 0, 8}), 2, 3, rng); }, "H, W >= 1"},
      {"mask_strokes", [&] { hd::mask_strokes(x, -2, 3.0, rng); }, "strokes must be >= 0"},
      {"mask_strokes", [&] { hd::mask_strokes(x, 2, 0.0, rng); }, "width must be"},
      {"gaussian_blur", [&] { hd::gaussian_blur(x, 0.0); }, "sigma must be in (0, 1000]"},
      {"gaussian_blur", [&] { hd::gaussian_blur(x, -1.0); }, "sigma"},
      {"gaussian_blur", [&] { hd::gaussian_blur(flat, 1.0); }, "expected images"},
      {"add_noise", [&] { hd::add_noise(x, -0.1, rng); }, "std must be a finite number >= 0"},
      {"add_noise", [&] { hd::add_noise(x, std::nan(""), rng); }, "std"},
      {"lose_tones", [&] { hd::lose_tones(x, 1); }, "levels must be in [2, 65536]"},
      {"sobel_edges", [&] { hd::sobel_edges(x, 0.0); }, "threshold must be in (0, 1]"},
      {"sobel_edges", [&] { hd::sobel_edges(x, 1.5); }, "threshold"},
      {"sobel_edges", [&] { hd::sobel_edges(hd::Tensor()); }, "undefined"},
      {"damage_by_name", [&] { hd::damage_by_name("smudge", x, rng); },
       "unknown damage 'smudge', expected one of centre|boxes|strokes|blur|noise|tones|sketch"},
      {"damage_by_name", [&] { hd::damage_by_name("blur", flat, rng); }, "expected images"},
  };
  for (const auto& c : cases) {
    EXPECT_THROW(c.call(), std::invalid_argument) << c.function << ": " << c.expected;
    const std::string message = error_of(c.call);
    EXPECT_EQ(message.rfind(c.function + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

}  // namespace
