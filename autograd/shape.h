// autograd/shape.h — differentiable shape ops. Their gradients only move numbers back to where
// they came from: reshape back, permute by the inverse permutation, slice by scattering into zeros.
#pragma once

#include "autograd/variable.h"

namespace hd {

Variable reshape(const Variable& x, const Shape& shape);
Variable flatten(const Variable& x, int64_t start = 0, int64_t end = -1);
Variable unsqueeze(const Variable& x, int64_t axis);
Variable squeeze(const Variable& x, int64_t axis);
Variable permute(const Variable& x, const std::vector<int64_t>& dims);
Variable transpose(const Variable& x, int64_t axis0, int64_t axis1);
Variable concat(const std::vector<Variable>& xs, int64_t axis);
Variable stack(const std::vector<Variable>& xs, int64_t axis);
Variable slice(const Variable& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
// Rows of x picked by the integer-valued `index` (an embedding lookup): [*index.shape, *x.shape[1:]].
Variable index_select0(const Variable& x, const Tensor& index);

// The adjoints the backward rules above use (each differentiable, so gradients of gradients work):
// slice's gradient scatters into zeros of the input's shape; index_select0's adds rows back.
Variable slice_scatter(const Variable& src, const Shape& shape, int64_t axis, int64_t start, int64_t end,
                       int64_t step = 1);
Variable index_add0(const Variable& src, const Tensor& index, int64_t rows);

}  // namespace hd
