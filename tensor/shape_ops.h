// shape_ops.h — rearranging elements: permute, concat, stack, slice, index_select.
//
// Tensors in hundun are always contiguous, so these return new tensors (reshape,
// narrow0 and operator[] in tensor.h are the views that share storage).
#pragma once

#include "tensor/tensor.h"

namespace hd {

// out.shape[i] = x.shape[dims[i]]; dims must be a permutation of 0..dim-1.
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
// Swaps two axes.
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
// Joins tensors along an existing axis (torch.cat); all other sizes must agree.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// Joins equally shaped tensors along a new axis.
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
// Elements start, start + step, ... < end along one axis (x[..., start:end:step, ...]).
// start/end are clamped to the axis like Python slices; negative values count from the end.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
// Inverse of slice for gradients: a zero tensor of `shape` with `src` written into the slice.
Tensor slice_scatter(const Tensor& src, const Shape& shape, int64_t axis, int64_t start, int64_t end,
                     int64_t step = 1);
// Rows of x (along axis 0) picked by integer-valued `index` (any shape): out = [*index.shape, *x.shape[1:]].
Tensor index_select0(const Tensor& x, const Tensor& index);
// Gradient of index_select0: rows of `src` added into a zero tensor of `rows` rows at `index`.
Tensor index_add0(const Tensor& src, const Tensor& index, int64_t rows);
// Adds / removes size-1 axes (views).
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor squeeze(const Tensor& x, int64_t axis);
// Collapses axes [start, end] into one (a view), torch.flatten.
Tensor flatten(const Tensor& x, int64_t start = 0, int64_t end = -1);

}  // namespace hd
