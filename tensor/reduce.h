// reduce.h — reductions over any set of axes, and the softmax family.
//
// `axes` empty means "all axes"; negative axes count from the end. With keepdim the
// reduced axes stay as size 1 (so the result broadcasts back against the input),
// as in PyTorch.
#pragma once

#include "tensor/tensor.h"

namespace hd {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Index of the largest value along one axis (first one on ties), as floats; torch.argmax.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
// Variance with Bessel's correction by default (divides by N - correction), torch.var.
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
// log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the max, so it never overflows.
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// exp(x_i) / sum_j exp(x_j) along `axis`.
Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);

// Broadcasting, materialised: x repeated to `shape` (x's shape must broadcast to it).
Tensor expand(const Tensor& x, const Shape& shape);
// The reverse of expand: sums the broadcast axes away so the result has `shape`.
// This is how a broadcast op's gradient returns to its smaller input.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace hd
