// autograd/reduction.h — differentiable reductions and the softmax family.
//
// A reduction's gradient spreads dL/d(result) back over the elements that were reduced:
// evenly for sum/mean, to the winning element for max, through the softmax Jacobian for
// logsumexp. `axes` empty means all axes, as in tensor/reduce.h.
#pragma once

#include "autograd/variable.h"
#include "tensor/reduce.h"

namespace hd {

Variable sum(const Variable& x, const Axes& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const Axes& axes = {}, bool keepdim = false);
// Gradient to the maximum; split evenly between tied maxima (PyTorch's amax rule).
Variable max(const Variable& x, const Axes& axes = {}, bool keepdim = false);
Variable min(const Variable& x, const Axes& axes = {}, bool keepdim = false);
// Variance, dividing by N - correction (Bessel's correction, 1, by default).
Variable var(const Variable& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
Variable logsumexp(const Variable& x, const Axes& axes = {}, bool keepdim = false);
Variable softmax(const Variable& x, int64_t axis);
Variable log_softmax(const Variable& x, int64_t axis);

// Broadcast to a larger shape, and its adjoint: sum the broadcast axes away.
Variable expand(const Variable& x, const Shape& shape);
Variable sum_to(const Variable& x, const Shape& shape);

}  // namespace hd
