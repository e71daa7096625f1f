// comparison_grid.h — originals above what a model made of them, the picture every reconstruction and repair
// shows: rows alternate, `cols` originals, then their counterparts right below them (a short last group is padded
// with black tiles). originals, counterparts: [N, C, H, W], pixels in [0, 1]. Each row is labelled on its left
// (e.g. "input" and "reconstruction"), and `caption` goes below the grid (report/labels.h).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace hd {

void save_comparison_grid(const Tensor& originals, const Tensor& counterparts, const std::string& path,
                          int64_t cols = 8, int64_t upscale = 1, const std::string& original_label = "input",
                          const std::string& counterpart_label = "reconstruction", const std::string& caption = "");

}  // namespace hd
