// Differentiable reductions: forward with a tensor/reduce.h kernel, backward rule right below.
#include "autograd/reduction.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/shape.h"
#include "tensor/elementwise.h"

namespace hd {

using Grads = std::vector<Variable>;

// The shape x reduced over `axes` with keepdim: the shape a reduced gradient is viewed as
// before it broadcasts back over x.
static Shape kept_shape(const Shape& x, const Axes& axes) {
  Shape out = x;
  if (axes.empty()) {
    std::fill(out.begin(), out.end(), 1);
    return out;
  }
  for (int64_t a : axes) out[normalize_axis(a, static_cast<int64_t>(x.size()), "reduce")] = 1;
  return out;
}

// How many elements each result element is reduced from: the product of the reduced axes' sizes
// (0 when one of them is empty).
static int64_t reduced_count(const Shape& x, const Axes& axes) {
  if (axes.empty()) return shape_numel(x);
  const Shape kept = kept_shape(x, axes);
  int64_t n = 1;
  for (size_t d = 0; d < x.size(); ++d)
    if (kept[d] == 1) n *= x[d];  // a reduced axis, or one of size 1 (which does not change the count)
  return n;
}

Variable sum(const Variable& x, const Axes& axes, bool keepdim) {
  return record_op("sum", hd::sum(x.data(), axes, keepdim), {x}, [shape = x.shape(), axes](const Variable& g, const Variable&) {
    // d(sum)/dx_i = 1: every reduced element receives the result's gradient.
    return Grads{expand(reshape(g, kept_shape(shape, axes)), shape)};
  });
}

Variable mean(const Variable& x, const Axes& axes, bool keepdim) {
  // The mean of nothing is 0 / 0 = nan, as in PyTorch (and tensor/reduce.h's mean).
  int64_t n = reduced_count(x.shape(), axes);
  return mul(sum(x, axes, keepdim), 1.f / static_cast<float>(n));
}

static Variable extremum(const char* op, const Variable& x, const Axes& axes, bool keepdim, bool is_max) {
  Tensor out = is_max ? hd::max(x.data(), axes, keepdim) : hd::min(x.data(), axes, keepdim);
  return record_op(op, out, {x}, [x, axes, keepdim](const Variable& g, const Variable& result) {
    // Mask of the elements equal to the extremum, normalised so ties share the gradient.
    Shape kept = kept_shape(x.shape(), axes);
    Tensor hit = hd::eq(x.data(), result.data().reshape(kept));
    Tensor share = hd::div(hit, hd::sum(hit, axes, /*keepdim=*/true));
    (void)keepdim;
    return Grads{expand(reshape(g, kept), x.shape()) * Variable(share)};
  }, /*save_output=*/true);
}
Variable max(const Variable& x, const Axes& axes, bool keepdim) { return extremum("max", x, axes, keepdim, true); }
Variable min(const Variable& x, const Axes& axes, bool keepdim) { return extremum("min", x, axes, keepdim, false); }

// var = sum((x - mean)^2) / (N - correction), composed from differentiable ops.
Variable var(const Variable& x, const Axes& axes, int64_t correction, bool keepdim) {
  int64_t n = reduced_count(x.shape(), axes);
  Variable centered = x - mean(x, axes, /*keepdim=*/true);
  return mul(sum(square(centered), axes, keepdim), 1.f / static_cast<float>(std::max<int64_t>(n - correction, 0)));
}

// logsumexp = m + log(sum(exp(x - m))), m the (constant) max: its gradient is softmax(x).
Variable logsumexp(const Variable& x, const Axes& axes, bool keepdim) {
  return record_op("logsumexp", hd::logsumexp(x.data(), axes, keepdim), {x},
                   [x, axes](const Variable& g, const Variable& out) {
                     Shape kept = kept_shape(x.shape(), axes);
                     Variable p = exp(x - reshape(out, kept));  // softmax over the reduced axes
                     return Grads{expand(reshape(g, kept), x.shape()) * p};
                   }, /*save_output=*/true);
}

// y = softmax(x): dL/dx = y * (g - sum(g * y)) along the axis.
Variable softmax(const Variable& x, int64_t axis) {
  return record_op("softmax", hd::softmax(x.data(), axis), {x}, [axis](const Variable& g, const Variable& y) {
    return Grads{y * (g - sum(g * y, {axis}, /*keepdim=*/true))};
  }, /*save_output=*/true);
}

// y = log_softmax(x): dL/dx = g - softmax(x) * sum(g) along the axis.
Variable log_softmax(const Variable& x, int64_t axis) {
  return record_op("log_softmax", hd::log_softmax(x.data(), axis), {x}, [axis](const Variable& g, const Variable& y) {
    return Grads{g - exp(y) * sum(g, {axis}, /*keepdim=*/true)};
  }, /*save_output=*/true);
}

Variable expand(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record_op("expand", hd::expand(x.data(), shape), {x},
                   [s = x.shape()](const Variable& g, const Variable&) { return Grads{sum_to(g, s)}; });
}

Variable sum_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record_op("sum_to", hd::sum_to(x.data(), shape), {x},
                   [s = x.shape()](const Variable& g, const Variable&) { return Grads{expand(g, s)}; });
}

}  // namespace hd
