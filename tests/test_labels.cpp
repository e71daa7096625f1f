// report/labels.h: words drawn into PNG grids, and the fonts that make the lecture's Chinese terms render in
// the PNGs and in the SVG plots on a fresh machine (`make deps` installs fonts-wqy-zenhei).
#include "report/labels.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "error_of.h"

namespace hd {

using test::error_of;

// The slides' terms the lessons use in titles.
const char* const kSlideTerms = "生成對抗網路 擴散模型 變分自編碼器 潛在空間 模式崩潰 Generator";

static std::string run(const std::string& command) {
  std::array<char, 512> buffer{};
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return out;
  while (fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  return out;
}

// Ink: how far below white a region is, summed.
static double ink(const Tensor& image, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
  double sum = 0;
  const int64_t H = image.size(-2), W = image.size(-1);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) sum += 1.0 - image.data()[y * W + x];
  (void)H;
  return sum;
}

TEST(Labels, TheFontCoversTheLecturesChineseTerms) {
  ASSERT_FALSE(label_font_path().empty()) << "no label font: run make deps (fonts-wqy-zenhei)";
  EXPECT_TRUE(label_font_covers(kSlideTerms)) << label_font_path() << " lacks some of: " << kSlideTerms;
  EXPECT_FALSE(label_font_covers("\U0001F600"));  // an emoji it does not have: the check can fail
}

// An SVG viewer finds fonts through fontconfig: the CJK family our plots name must resolve to a file that has
// the glyphs, or titles show as empty boxes.
TEST(Labels, FontconfigFindsTheSvgPlotsChineseFont) {
  const std::string file = run("fc-match -f '%{file}' 'WenQuanYi Zen Hei:lang=zh-tw' 2>/dev/null");
  EXPECT_NE(file.find("wqy-zenhei"), std::string::npos) << "fc-match gave '" << file << "'";
  const std::string families = run("fc-list ':lang=zh-tw' family 2>/dev/null");
  EXPECT_NE(families.find("WenQuanYi Zen Hei"), std::string::npos) << families;
}

TEST(Labels, DrawTextInksOnlyWhereTheTextIs) {
  Tensor canvas = Tensor::full({1, 40, 200}, 1.f);
  draw_text(canvas, "input 輸入", 10, 10, 16);
  const int64_t w = text_width("input 輸入", 16);
  EXPECT_GT(w, 50);
  EXPECT_LT(w, 150);
  EXPECT_GT(ink(canvas, 10, 30, 10, 10 + w), 20.0);
  EXPECT_EQ(ink(canvas, 0, 8, 0, 200), 0.0);             // above the line
  EXPECT_EQ(ink(canvas, 0, 40, 12 + w, 200), 0.0);       // right of it
  // Clipped at the edges rather than written outside the canvas.
  Tensor small = Tensor::full({10, 10}, 1.f);
  draw_text(small, "clipped text", -5, -5, 20);
  draw_text(small, "", 0, 0, 12);
}

TEST(Labels, LabelledGridKeepsTheGridAndLabelsItsRowsAndColumns) {
  Tensor images = Tensor::zeros({4, 1, 8, 8});  // four black tiles
  GridOptions options;
  options.nrow = 2;
  GridLabels labels;
  labels.title = "擴散模型 samples";
  labels.column_labels = {"AE", "VAE"};
  labels.row_labels = {"input", "reconstruction"};
  labels.caption = "seed 1";
  const Tensor plain = make_grid(images, options);
  const Tensor sheet = labelled_grid(images, labels, options);
  ASSERT_EQ(sheet.dim(), 3);
  EXPECT_GT(sheet.size(1), plain.size(1) + 3 * labels.pixel_height);  // title, column labels, caption
  EXPECT_GT(sheet.size(2), plain.size(2) + text_width("reconstruction", labels.pixel_height));
  // The grid sits in the bottom-right part, unchanged: find its first black tile pixel.
  const int64_t W = sheet.size(2);
  int64_t first_dark = -1;
  for (int64_t i = 0; i < sheet.numel() && first_dark < 0; ++i)
    if (sheet.data()[i] == 0.f) first_dark = i;
  ASSERT_GE(first_dark, 0);
  const int64_t top = first_dark / W - options.padding, left = first_dark % W - options.padding;
  EXPECT_GT(top, 2 * labels.pixel_height);
  for (int64_t y = 0; y < plain.size(1); ++y)
    for (int64_t x = 0; x < plain.size(2); ++x)
      ASSERT_EQ(sheet.data()[(top + y) * W + left + x], plain.data()[y * plain.size(2) + x]) << y << ", " << x;
  EXPECT_GT(ink(sheet, top, top + plain.size(1), 0, left), 20.0);  // row labels, left of the grid
  EXPECT_GT(ink(sheet, 0, top, 0, W), 40.0);                       // title and column labels, above it
}

TEST(Labels, BadInputIsRefusedNamingTheOp) {
  Tensor volume = Tensor::zeros({1, 1, 4, 4});
  EXPECT_NE(error_of([&] { draw_text(volume, "x", 0, 0, 10); }).find("draw_text"), std::string::npos);
  EXPECT_NE(error_of([] { labelled_grid(Tensor::zeros({0, 1, 4, 4}), {}); }).find("labelled_grid"), std::string::npos);
}

}  // namespace hd
