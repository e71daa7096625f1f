// labels.h — words drawn into a picture, so a PNG grid says what it shows: a title, a caption per row
// ("input", "reconstruction"), per column ("AE", "VAE"), a line below (the seed, the latent's range).
//
// Text is rasterised with stb_truetype (Debian's libstb) from a font file found on the machine: WenQuanYi
// Zen Hei (package fonts-wqy-zenhei, which `make deps` installs), whose glyphs cover Latin and Chinese alike,
// so the lecture's terms (生成對抗網路, 擴散模型) can label a picture; DejaVu Sans when it is missing (Latin only;
// characters it lacks are skipped). The SVG plots name the same fonts in their font-family list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "tensor/tensor.h"

namespace hd {

// The font file labels are drawn with, or "" if none of the known ones is installed.
const std::string& label_font_path();
// True when the label font has a glyph for every character of the UTF-8 `text`.
bool label_font_covers(const std::string& text);

// Width in pixels of `text` at `pixel_height`.
int64_t text_width(const std::string& text, int64_t pixel_height);
// Draws UTF-8 `text` into `canvas` ([C, H, W] or [H, W], values in [0, 1]) with its top-left corner at
// (x, y), in `ink` (0 black, 1 white) blended by the glyphs' coverage. Text beyond the canvas is clipped.
// Throws std::runtime_error naming the packages to install when no font is found.
void draw_text(Tensor& canvas, const std::string& text, int64_t x, int64_t y, int64_t pixel_height, float ink = 0.f);

// (Each member has an initialiser, so `{.caption = "..."}` leaves the rest empty without a warning.)
struct GridLabels {
  std::string title{};                       // one line above everything
  std::vector<std::string> column_labels{};  // above each column of the grid (fewer is fine)
  std::vector<std::string> row_labels{};     // left of each row of the grid (fewer is fine)
  std::string caption{};                     // one line below the grid
  int64_t pixel_height = 14;                 // the text's size
};

// The labels of a per_side x per_side grid that maps a square [-range, range]^2 (a 2-D latent space, say):
// `x_name` along the columns from -range (left) to +range, `y_name` along the rows from +range (top) to -range.
GridLabels square_axes(int64_t per_side, float range, const std::string& x_name, const std::string& y_name,
                       const std::string& caption = "");

// make_grid(images, options) on a white sheet with margins holding the labels. images: [N, C, H, W] in
// the grid options' range. Returns [C, H', W'] in [0, 1].
Tensor labelled_grid(const Tensor& images, const GridLabels& labels, const GridOptions& options = {});
// The same, written as a PNG (atomically, as save_png).
void save_labelled_grid(const Tensor& images, const std::string& path, const GridLabels& labels,
                        const GridOptions& options = {});

}  // namespace hd
