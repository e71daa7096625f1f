// Tests for report/plot.h: nice ticks, histograms, and the SVG text the Plot writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "report/plot.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

// Non-overlapping occurrences of `needle` in `text`.
int64_t count(const std::string& text, const std::string& needle) {
  int64_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The text between `begin` and the next `end` after it ("" when absent).
std::string between(const std::string& text, const std::string& begin, const std::string& end) {
  size_t a = text.find(begin);
  if (a == std::string::npos) return "";
  size_t b = text.find(end, a + begin.size());
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(NiceTicks, UnitRangeStepsByTwoTenths) {
  EXPECT_EQ(nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1}));
}

TEST(NiceTicks, AwkwardRangeGetsRoundValuesInside) {
  EXPECT_EQ(nice_ticks(0.013, 0.97), (std::vector<double>{0.2, 0.4, 0.6, 0.8}));
}

TEST(NiceTicks, WideRangeAcrossZero) {
  EXPECT_EQ(nice_ticks(-3, 1200), (std::vector<double>{0, 200, 400, 600, 800, 1000, 1200}));
}

TEST(NiceTicks, NegativeAndTinyRanges) {
  EXPECT_EQ(nice_ticks(-1, 1), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_EQ(nice_ticks(1e-5, 5e-5), (std::vector<double>{1e-5, 2e-5, 3e-5, 4e-5, 5e-5}));
  EXPECT_EQ(nice_ticks(3, 3), (std::vector<double>{3}));
}

TEST(NiceTicks, StepsAreOneTwoOrFiveTimesAPowerOfTen) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> exponent(-6, 6), unit(0, 1);
  for (int trial = 0; trial < 1000; ++trial) {
    double scale = std::pow(10.0, exponent(rng)), lo = (unit(rng) - 0.5) * scale, hi = lo + unit(rng) * scale + 1e-9;
    std::vector<double> ticks = nice_ticks(lo, hi);
    ASSERT_GE(ticks.size(), 2u) << lo << " " << hi;
    ASSERT_LE(ticks.size(), 12u) << lo << " " << hi;
    EXPECT_GE(ticks.front(), lo - 1e-9 * scale);
    EXPECT_LE(ticks.back(), hi + 1e-9 * scale);
    double step = ticks[1] - ticks[0];
    double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-6 || std::fabs(mantissa - 2) < 1e-6 || std::fabs(mantissa - 5) < 1e-6)
        << "step " << step << " for [" << lo << ", " << hi << "]";
  }
}

TEST(LogTicks, PowersOfTenOverManyDecades) {
  EXPECT_EQ(log_ticks(1e-3, 10), (std::vector<double>{1e-3, 1e-2, 0.1, 1, 10}));
}

TEST(LogTicks, AddsTwoAndFiveWithinTwoDecades) {
  EXPECT_EQ(log_ticks(0.05, 2), (std::vector<double>{0.05, 0.1, 0.2, 0.5, 1, 2}));
}

TEST(LogTicks, ThinsOutVeryManyDecades) {
  std::vector<double> ticks = log_ticks(1e-12, 1e12);
  EXPECT_LE(ticks.size(), 10u);
  EXPECT_GE(ticks.size(), 5u);
}

TEST(ComputeHistogram, LastBinIncludesTheMaximum) {
  Histogram h = compute_histogram({0, 1, 2, 3, 4}, 4, /*density=*/false);
  EXPECT_EQ(h.edges, (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(h.heights, (std::vector<double>{1, 1, 1, 2}));
}

TEST(ComputeHistogram, DensityAreasSumToOne) {
  std::mt19937 rng(2);
  std::normal_distribution<double> normal(3, 2);
  std::vector<double> values(5000);
  for (double& v : values) v = normal(rng);
  Histogram h = compute_histogram(values, 37, /*density=*/true);
  ASSERT_EQ(h.heights.size(), 37u);
  double area = 0;
  for (size_t i = 0; i < h.heights.size(); ++i) area += h.heights[i] * (h.edges[i + 1] - h.edges[i]);
  EXPECT_NEAR(area, 1.0, 1e-12);
}

TEST(ComputeHistogram, SkipsNonFiniteValuesAndPadsConstantData) {
  Histogram h = compute_histogram({2, NAN, 2, INFINITY, 2}, 3, /*density=*/false);
  EXPECT_EQ(h.edges.front(), 1.5);
  EXPECT_EQ(h.edges.back(), 2.5);
  EXPECT_EQ(h.heights, (std::vector<double>{0, 3, 0}));
  EXPECT_THROW(compute_histogram({1}, 0, true), std::invalid_argument);
}

TEST(PlotSvg, IsWellFormedEnough) {
  Plot plot("Loss", "step", "loss");
  plot.line({0, 1, 2}, {3, 2, 1}, "train");
  plot.scatter({0, 1}, {1, 2}, "points");
  plot.histogram({1, 2, 2, 3}, 3, "bars");
  std::string svg = plot.svg();
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_EQ(count(svg, "<g ") + count(svg, "<g>"), count(svg, "</g>"));
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  EXPECT_NE(svg.find(">Loss</text>"), std::string::npos);
  EXPECT_NE(svg.find(">step</text>"), std::string::npos);
  for (const char* label : {">train<", ">points<", ">bars<"}) EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(PlotSvg, EscapesXmlInTexts) {
  Plot plot("a < b & c", "x \"quoted\"", "y");
  plot.line({0, 1}, {0, 1}, "p<q & r>s");
  std::string svg = plot.svg();
  EXPECT_NE(svg.find("a &lt; b &amp; c"), std::string::npos);
  EXPECT_NE(svg.find("p&lt;q &amp; r&gt;s"), std::string::npos);
  EXPECT_NE(svg.find("x &quot;quoted&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("a < b"), std::string::npos);
  EXPECT_EQ(svg.find("p<q"), std::string::npos);
}

TEST(PlotSvg, UsesTheTab10CycleUnlessAColourIsGiven) {
  Plot plot("", "", "");
  plot.line({0, 1}, {0, 1}, "first");
  plot.line({0, 1}, {1, 0}, "second");
  plot.line({0, 1}, {1, 1}, "third", "#123456");
  std::string svg = plot.svg();
  EXPECT_NE(svg.find("stroke=\"#1f77b4\""), std::string::npos);
  EXPECT_NE(svg.find("stroke=\"#ff7f0e\""), std::string::npos);
  EXPECT_NE(svg.find("stroke=\"#123456\""), std::string::npos);
}

TEST(PlotSvg, NanBreaksTheLineAndIsNeverWritten) {
  Plot plot("", "", "");
  plot.line({0, 1, 2, 3, 4, 5}, {1, 2, NAN, 3, INFINITY, 4}, "gappy");
  std::string svg = plot.svg();
  std::string lower = svg;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("nan"), std::string::npos);
  EXPECT_EQ(lower.find("inf"), std::string::npos);
  // Runs {0, 1} and {3} around the NaN, then {5} after the infinity: one polyline and two dots.
  EXPECT_EQ(count(svg, "<polyline"), 1);
  EXPECT_EQ(count(between(svg, "<g class=\"line\"", "</g>"), "<circle"), 2);
}

TEST(PlotSvg, LogAxisLabelsDecadesAndSkipsNonPositiveValues) {
  Plot plot("", "step", "loss");
  plot.set_log_y(true);
  plot.line({0, 1, 2, 3, 4}, {1, 0.1, 0, 0.01, -5}, "loss");
  std::string svg = plot.svg();
  for (const char* label : {">1</text>", ">0.1</text>", ">0.01</text>"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  EXPECT_EQ(count(svg, "<polyline"), 1);  // {1, 0.1}; 0.01 alone becomes a dot
}

TEST(PlotSvg, HistogramDrawsOneBarPerBin) {
  Plot plot("", "x", "density");
  std::vector<double> values;
  for (int i = 0; i < 100; ++i) values.push_back(std::sin(i));
  plot.histogram(values, 7, "samples");
  EXPECT_EQ(count(between(plot.svg(), "<g class=\"bars\"", "</g>"), "<rect"), 7);
}

TEST(PlotSvg, HandlesEmptySinglePointAndConstantSeries) {
  Plot empty("empty", "x", "y");
  empty.line({}, {}, "nothing");
  empty.histogram({}, 5, "no samples");
  EXPECT_NE(empty.svg().find(">nothing<"), std::string::npos);

  Plot single("single", "x", "y");
  single.scatter({2}, {3}, "one");
  EXPECT_EQ(count(between(single.svg(), "<g class=\"scatter\"", "</g>"), "<circle"), 1);

  Plot constant("constant", "x", "y");
  constant.line({0, 1, 2}, {5, 5, 5}, "flat");
  std::string svg = constant.svg();
  EXPECT_EQ(count(svg, "<polyline"), 1);
  EXPECT_NE(svg.find(">5.0</text>"), std::string::npos);  // the padded range [4.5, 5.5] has a tick at 5
}

TEST(PlotSvg, ExtremeValuesGiveNoNanCoordinates) {
  for (double big : {1e300, 1.7e308}) {
    Plot plot("", "", "");
    plot.line({-big, big}, {big, -big}, "huge");
    plot.histogram({-big, 0, big}, 4, "bars");
    std::string svg = plot.svg();
    EXPECT_EQ(svg.find("nan"), std::string::npos) << big;
    EXPECT_EQ(svg.find("inf"), std::string::npos) << big;
  }
  Plot tiny("", "", "");
  tiny.scatter({0, 1e-310}, {1, 1 + 1e-15}, "tiny");
  EXPECT_EQ(tiny.svg().find("nan"), std::string::npos);
}

TEST(PlotSvg, RoundsCoordinatesToOneDecimal) {
  Plot plot("", "", "");
  plot.scatter({0.123456, 0.7777777, 0.31415926}, {0.2718281, 0.1111111, 0.999999}, "dots");
  std::string dots = between(plot.svg(), "<g class=\"scatter\"", "</g>");
  EXPECT_EQ(count(dots, "<circle"), 3);
  // No number has a second decimal: a digit after "<digit>.<digit>".
  for (size_t i = 0; i + 3 < dots.size(); ++i)
    EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(dots[i])) && dots[i + 1] == '.' &&
                 std::isdigit(static_cast<unsigned char>(dots[i + 2])) &&
                 std::isdigit(static_cast<unsigned char>(dots[i + 3])))
        << dots.substr(i, 8);
}

TEST(PlotSvg, SixtyThousandScatterPointsStayAFewMegabytes) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> x(60000), y(60000);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = normal(rng);
    y[i] = normal(rng);
  }
  Plot plot("many", "x", "y");
  plot.scatter(x, y, "samples");
  std::string svg = plot.svg();
  EXPECT_EQ(count(svg, "<circle"), 60000 + 1);  // + the legend's swatch
  EXPECT_LT(svg.size(), 3'000'000u);
}

TEST(PlotSvg, RejectsMismatchedLengthsAndBadLimits) {
  Plot plot("", "", "");
  EXPECT_THROW(plot.line({0, 1}, {0}, "short"), std::invalid_argument);
  EXPECT_THROW(plot.scatter({0}, {0, 1}, "short"), std::invalid_argument);
  EXPECT_THROW(plot.set_xlim(1, 1), std::invalid_argument);
  EXPECT_THROW(plot.set_ylim(2, NAN), std::invalid_argument);
  EXPECT_THROW(Plot("", "", "", 10, 10), std::invalid_argument);
  plot.set_log_y(true);
  plot.set_ylim(-1, 1);
  EXPECT_THROW(plot.svg(), std::invalid_argument);
}

class PlotFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hundun_test_plot_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(PlotFiles, SaveCreatesFoldersAndLeavesNoTemporaryFile) {
  Plot plot("saved", "x", "y");
  plot.line({0, 1}, {0, 1}, "l");
  std::string path = (dir_ / "a" / "b" / "plot.svg").string();
  plot.save(path);
  EXPECT_EQ(read_file(path), plot.svg());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "a" / "b"), fs::directory_iterator()), 1);
}

TEST_F(PlotFiles, SaveNamesAnUnwritablePath) {
  Plot plot("", "", "");
  try {
    plot.save("/proc/hundun/plot.svg");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/hundun/plot.svg"), std::string::npos) << e.what();
  }
}

TEST_F(PlotFiles, LossCurveSmoothsLongRunsOnALogAxis) {
  std::vector<double> steps, losses;
  for (int i = 0; i < 1000; ++i) {
    steps.push_back(i);
    losses.push_back(2.0 * std::exp(-i / 150.0) + 0.01 * (i % 7));
  }
  std::string path = (dir_ / "loss.svg").string();
  save_loss_curve(steps, losses, path, "VAE loss");
  std::string svg = read_file(path);
  EXPECT_NE(svg.find(">VAE loss</text>"), std::string::npos);
  EXPECT_NE(svg.find("moving average"), std::string::npos);
  EXPECT_NE(svg.find(">0.1</text>"), std::string::npos);  // the log axis' decade below 1
  EXPECT_THROW(save_loss_curve({0, 1}, {1}, path, "bad"), std::invalid_argument);
}

}  // namespace
}  // namespace hd
