#include "report/labels.h"

#include <fmt/format.h>
#include <stb/stb_truetype.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace hd {

namespace {

// The first installed of the fonts the project knows; WenQuanYi Zen Hei covers the lecture's Chinese terms.
const char* const kFontFiles[] = {
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
};

struct Font {
  std::vector<unsigned char> bytes;  // stb_truetype reads the file in place: it must outlive `info`
  stbtt_fontinfo info{};
  bool loaded = false;
};

const Font& font() {
  static const std::unique_ptr<Font> loaded = [] {
    auto f = std::make_unique<Font>();
    const std::string& path = label_font_path();
    if (path.empty()) return f;
    std::ifstream in(path, std::ios::binary);
    f->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const int offset = stbtt_GetFontOffsetForIndex(f->bytes.data(), 0);  // a .ttc holds several: take the first
    f->loaded = offset >= 0 && stbtt_InitFont(&f->info, f->bytes.data(), offset) != 0;
    return f;
  }();
  if (!loaded->loaded)
    throw std::runtime_error(fmt::format(
        "draw_text: no usable font (looked for {} and {}); install fonts-wqy-zenhei (make deps does)", kFontFiles[0],
        kFontFiles[1]));
  return *loaded;
}

// UTF-8 bytes -> Unicode code points; a malformed byte becomes U+FFFD.
std::vector<int> code_points(const std::string& text) {
  std::vector<int> out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || i + extra >= text.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    int cp = extra == 0 ? c : c & (0x3F >> extra);
    bool ok = true;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = ok && (next >> 6) == 0x2;
      cp = (cp << 6) | (next & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? extra + 1 : 1;
  }
  return out;
}

// Lays out `text` from x = 0, calling glyph(code point, pen x in pixels) for each character the font has;
// returns the width.
double lay_out(const std::string& text, float scale, const std::function<void(int, double)>& glyph) {
  const stbtt_fontinfo& info = font().info;
  double pen = 0;
  int previous = 0;
  for (int cp : code_points(text)) {
    if (stbtt_FindGlyphIndex(&info, cp) == 0) continue;  // not in this font: skipped rather than a box
    if (previous) pen += scale * stbtt_GetCodepointKernAdvance(&info, previous, cp);
    glyph(cp, pen);
    int advance = 0, left_bearing = 0;
    stbtt_GetCodepointHMetrics(&info, cp, &advance, &left_bearing);
    pen += scale * advance;
    previous = cp;
  }
  return pen;
}

}  // namespace

const std::string& label_font_path() {
  static const std::string path = [] {
    for (const char* file : kFontFiles)
      if (std::filesystem::is_regular_file(file)) return std::string(file);
    return std::string();
  }();
  return path;
}

bool label_font_covers(const std::string& text) {
  const stbtt_fontinfo& info = font().info;
  for (int cp : code_points(text))
    if (stbtt_FindGlyphIndex(&info, cp) == 0) return false;
  return true;
}

int64_t text_width(const std::string& text, int64_t pixel_height) {
  const float scale = stbtt_ScaleForPixelHeight(&font().info, static_cast<float>(pixel_height));
  return static_cast<int64_t>(std::ceil(lay_out(text, scale, [](int, double) {})));
}

void draw_text(Tensor& canvas, const std::string& text, int64_t x, int64_t y, int64_t pixel_height, float ink) {
  if (canvas.dim() != 2 && canvas.dim() != 3)
    throw std::invalid_argument(fmt::format("draw_text: expected a canvas [C, H, W] or [H, W], got {}",
                                            shape_str(canvas.shape())));
  const int64_t channels = canvas.dim() == 3 ? canvas.size(0) : 1;
  const int64_t H = canvas.size(-2), W = canvas.size(-1);
  const stbtt_fontinfo& info = font().info;
  const float scale = stbtt_ScaleForPixelHeight(&info, static_cast<float>(pixel_height));
  int ascent = 0, descent = 0, line_gap = 0;
  stbtt_GetFontVMetrics(&info, &ascent, &descent, &line_gap);
  const int64_t baseline = y + static_cast<int64_t>(std::lround(ascent * scale));
  float* pixels = canvas.data();
  lay_out(text, scale, [&](int cp, double pen) {
    int w = 0, h = 0, x_off = 0, y_off = 0;
    unsigned char* coverage = stbtt_GetCodepointBitmap(&info, 0, scale, cp, &w, &h, &x_off, &y_off);
    const int64_t left = x + static_cast<int64_t>(std::lround(pen)) + x_off, top = baseline + y_off;
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t py = top + r, px = left + c;
        if (py < 0 || py >= H || px < 0 || px >= W) continue;
        const float a = coverage[r * w + c] / 255.f;  // how much of the pixel the glyph covers
        for (int64_t ch = 0; ch < channels; ++ch) {
          float& p = pixels[(ch * H + py) * W + px];
          p = p * (1.f - a) + ink * a;
        }
      }
    stbtt_FreeBitmap(coverage, nullptr);
  });
}

Tensor labelled_grid(const Tensor& images, const GridLabels& labels, const GridOptions& options) {
  if (images.dim() != 4 || images.size(0) == 0)
    throw std::invalid_argument(
        fmt::format("labelled_grid: expected images [N, C, H, W] with N >= 1, got {}", shape_str(images.shape())));
  Tensor grid = make_grid(images, options);
  // Into [0, 1], the sheet's range (make_grid keeps the images' own unless it normalises).
  const float lo = options.normalize ? 0.f : options.lo, hi = options.normalize ? 1.f : options.hi;
  for (int64_t i = 0; i < grid.numel(); ++i) {
    const float v = (grid.data()[i] - lo) / (hi - lo);
    grid.data()[i] = std::isnan(v) ? 0.f : std::clamp(v, 0.f, 1.f);
  }

  const int64_t n = images.size(0), cols = std::min<int64_t>(options.nrow, n), rows = (n + cols - 1) / cols;
  const int64_t cell_h = images.size(2) * options.upscale + options.padding;
  const int64_t cell_w = images.size(3) * options.upscale + options.padding;
  const int64_t px = labels.pixel_height, gap = px / 3 + 2;
  const auto widest = [&](const std::vector<std::string>& texts) {
    int64_t w = 0;
    for (const auto& t : texts) w = std::max(w, text_width(t, px));
    return w;
  };
  const int64_t left = labels.row_labels.empty() ? 0 : widest(labels.row_labels) + 2 * gap;
  const int64_t title_h = labels.title.empty() ? 0 : px + gap;
  const int64_t columns_h = labels.column_labels.empty() ? 0 : px + gap;
  const int64_t top = title_h + columns_h, bottom = labels.caption.empty() ? 0 : px + gap;
  const int64_t grid_h = grid.size(1), grid_w = grid.size(2), C = grid.size(0);
  const int64_t width = std::max({left + grid_w, text_width(labels.title, px) + 2 * gap,
                                  text_width(labels.caption, px) + 2 * gap});
  const int64_t height = top + grid_h + bottom;

  Tensor sheet = Tensor::full({C, height, width}, 1.f);
  for (int64_t ch = 0; ch < C; ++ch)
    for (int64_t r = 0; r < grid_h; ++r)
      std::copy_n(grid.data() + (ch * grid_h + r) * grid_w, grid_w, sheet.data() + (ch * height + top + r) * width + left);
  if (!labels.title.empty()) draw_text(sheet, labels.title, gap, gap / 2, px);
  for (size_t c = 0; c < labels.column_labels.size() && static_cast<int64_t>(c) < cols; ++c) {
    const std::string& text = labels.column_labels[c];
    const int64_t centre = left + options.padding + static_cast<int64_t>(c) * cell_w + (cell_w - options.padding) / 2;
    draw_text(sheet, text, centre - text_width(text, px) / 2, title_h + gap / 2, px);
  }
  for (size_t r = 0; r < labels.row_labels.size() && static_cast<int64_t>(r) < rows; ++r) {
    const int64_t middle = top + options.padding + static_cast<int64_t>(r) * cell_h + (cell_h - options.padding) / 2;
    draw_text(sheet, labels.row_labels[r], gap, middle - px / 2, px);
  }
  if (!labels.caption.empty()) draw_text(sheet, labels.caption, gap, top + grid_h + gap / 2, px);
  return sheet;
}

GridLabels square_axes(int64_t per_side, float range, const std::string& x_name, const std::string& y_name,
                       const std::string& caption) {
  if (per_side < 2) throw std::invalid_argument(fmt::format("square_axes: need per_side >= 2, got {}", per_side));
  GridLabels labels;
  labels.caption = caption;
  labels.column_labels.assign(static_cast<size_t>(per_side), "");
  labels.row_labels.assign(static_cast<size_t>(per_side), "");
  labels.column_labels.front() = fmt::format("{:g}", -range);
  labels.column_labels.back() = fmt::format("{:+g}", range);
  labels.row_labels.front() = fmt::format("{:+g}", range);
  labels.row_labels.back() = fmt::format("{:g}", -range);
  labels.column_labels[static_cast<size_t>(per_side / 2)] = x_name;
  labels.row_labels[static_cast<size_t>(per_side / 2)] = y_name;
  return labels;
}

void save_labelled_grid(const Tensor& images, const std::string& path, const GridLabels& labels,
                        const GridOptions& options) {
  save_png(labelled_grid(images, labels, options), path);
}

}  // namespace hd
