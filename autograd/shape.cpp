// Differentiable shape ops: forward with a tensor/shape_ops.h kernel, backward rule right below.
#include "autograd/shape.h"

#include "tensor/shape_ops.h"

namespace hd {

using Grads = std::vector<Variable>;

Variable reshape(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record_op("reshape", x.data().reshape(shape), {x},
                   [s = x.shape()](const Variable& g, const Variable&) { return Grads{reshape(g, s)}; });
}

Variable flatten(const Variable& x, int64_t start, int64_t end) { return reshape(x, hd::flatten(x.data(), start, end).shape()); }
Variable unsqueeze(const Variable& x, int64_t axis) { return reshape(x, hd::unsqueeze(x.data(), axis).shape()); }
Variable squeeze(const Variable& x, int64_t axis) { return reshape(x, hd::squeeze(x.data(), axis).shape()); }

Variable permute(const Variable& x, const std::vector<int64_t>& dims) {
  Tensor out = hd::permute(x.data(), dims);  // validates dims
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[normalize_axis(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return record_op("permute", out, {x}, [inverse](const Variable& g, const Variable&) { return Grads{permute(g, inverse)}; });
}

Variable transpose(const Variable& x, int64_t axis0, int64_t axis1) {
  std::vector<int64_t> dims(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) dims[i] = i;
  std::swap(dims[normalize_axis(axis0, x.dim(), "transpose")], dims[normalize_axis(axis1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Variable concat(const std::vector<Variable>& xs, int64_t axis) {
  std::vector<Tensor> data;
  for (const auto& x : xs) data.push_back(x.data());
  Tensor out = hd::concat(data, axis);  // validates shapes
  int64_t ax = normalize_axis(axis, out.dim(), "concat");
  std::vector<int64_t> sizes;
  for (const auto& x : xs) sizes.push_back(x.size(ax));
  // Each input's gradient is its own stretch of the output's gradient.
  return record_op("concat", out, xs, [ax, sizes](const Variable& g, const Variable&) {
    Grads grads;
    int64_t start = 0;
    for (int64_t n : sizes) {
      grads.push_back(slice(g, ax, start, start + n));
      start += n;
    }
    return grads;
  });
}

Variable stack(const std::vector<Variable>& xs, int64_t axis) {
  if (xs.empty()) return Variable(hd::stack(std::vector<Tensor>{}, axis));  // throws the kernel's message
  int64_t ax = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Variable> expanded;
  for (const auto& x : xs) expanded.push_back(unsqueeze(x, ax));
  return concat(expanded, ax);
}

Variable slice(const Variable& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return record_op("slice", hd::slice(x.data(), axis, start, end, step), {x},
                   [s = x.shape(), axis, start, end, step](const Variable& g, const Variable&) {
                     return Grads{slice_scatter(g, s, axis, start, end, step)};
                   });
}

// Scatter's adjoint is the slice again, which is what makes this differentiable twice.
Variable slice_scatter(const Variable& src, const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return record_op("slice_scatter", hd::slice_scatter(src.data(), shape, axis, start, end, step), {src},
                   [axis, start, end, step](const Variable& g, const Variable&) {
                     return Grads{slice(g, axis, start, end, step)};
                   });
}

// index_add0 is index_select0's adjoint (rows added back where they were picked), and the other way round.
Variable index_add0(const Variable& src, const Tensor& index, int64_t rows) {
  return record_op("index_add0", hd::index_add0(src.data(), index, rows), {src},
                   [index](const Variable& g, const Variable&) { return Grads{index_select0(g, index)}; });
}

Variable index_select0(const Variable& x, const Tensor& index) {
  return record_op("index_select0", hd::index_select0(x.data(), index), {x},
                   [index, rows = x.size(0)](const Variable& g, const Variable&) { return Grads{index_add0(g, index, rows)}; });
}

}  // namespace hd
