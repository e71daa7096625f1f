#include "report/comparison_grid.h"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "data/image.h"
#include "report/labels.h"
#include "tensor/shape_ops.h"

namespace hd {

void save_comparison_grid(const Tensor& originals, const Tensor& counterparts, const std::string& path, int64_t cols,
                          int64_t upscale, const std::string& original_label, const std::string& counterpart_label,
                          const std::string& caption) {
  if (originals.dim() != 4 || originals.shape() != counterparts.shape() || originals.size(0) == 0 || cols < 1)
    throw std::invalid_argument(fmt::format("save_comparison_grid: expected two batches [N, C, H, W] of one shape and "
                                            "cols >= 1, got {} and {}",
                                            shape_str(originals.shape()), shape_str(counterparts.shape())));
  const int64_t n = originals.size(0);
  const Tensor blank = Tensor::zeros({originals.size(1), originals.size(2), originals.size(3)});
  std::vector<Tensor> tiles;
  GridLabels labels;
  labels.caption = caption;
  for (int64_t begin = 0; begin < n; begin += cols) {
    for (const Tensor* source : {&originals, &counterparts})
      for (int64_t i = begin; i < begin + cols; ++i) tiles.push_back(i < n ? (*source)[i] : blank);
    labels.row_labels.push_back(original_label);
    labels.row_labels.push_back(counterpart_label);
  }
  GridOptions grid;
  grid.nrow = std::min(n, cols);
  grid.upscale = upscale;
  save_labelled_grid(stack(tiles, 0), path, labels, grid);
}

}  // namespace hd
