// shape_ops.cpp — rearranging elements: permute, concat, stack, slice, index_select.
//
// How this file is organised:
//   1. permute. Axes that stay next to each other (in the same order) merge first: NCHW -> NHWC,
//      [B, C, H, W] -> [B, H, W, C], is really [B, C, H*W] -> [B, H*W, C]. Then one of three loops:
//        the last axis stays last  -> copy contiguous runs with memcpy ([B, T, H, D] -> [B, H, T, D]);
//        the last two axes swap    -> a batch of 2-D transposes, done in 32 x 32 tiles that fit in L1;
//        anything else             -> a strided gather along the last output axis.
//   2. concat / stack / slice / slice_scatter: block copies over an [outer, axis, inner] view.
//   3. index_select0 / index_add0: row gathers and scatters along axis 0 (embeddings and their gradient).
//   4. unsqueeze / squeeze / flatten: reshape views.
#include "tensor/shape_ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tensor/parallel.h"

namespace hd {

namespace {

// Below this many elements a copy runs on one thread.
constexpr int64_t kParallelMin = 1 << 16;
constexpr int64_t kTile = 32;

void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: got an undefined tensor", op));
}

// Product of shape[begin, end).
int64_t span_numel(const Shape& shape, int64_t begin, int64_t end) {
  int64_t n = 1;
  for (int64_t d = begin; d < end; ++d) n *= shape[d];
  return n;
}

// out[.., b, a] = in[.., a, b] for `batches` matrices in: [A, B] -> out: [B, A], tile by tile.
// Each tile is first copied into a small local buffer: when B is a power of two, the rows of a
// tile all map to the same L1 cache set, and reading a column straight from them thrashes.
void batched_transpose(const float* in, float* out, int64_t batches, int64_t A, int64_t B) {
  const int64_t tiles_a = (A + kTile - 1) / kTile, tiles_b = (B + kTile - 1) / kTile;
  parallel_for(batches * tiles_b * tiles_a, batches * A * B >= kParallelMin, [&](int64_t item) {
    int64_t batch = item / (tiles_a * tiles_b);
    int64_t b0 = item / tiles_a % tiles_b * kTile, a0 = item % tiles_a * kTile;
    const float* src = in + batch * A * B;
    float* dst = out + batch * A * B;
    int64_t nb = std::min(B - b0, kTile), na = std::min(A - a0, kTile);
    float tile[kTile][kTile];  // tile[b][a]
    for (int64_t a = 0; a < na; ++a)
      for (int64_t b = 0; b < nb; ++b) tile[b][a] = src[(a0 + a) * B + b0 + b];
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t a = 0; a < na; ++a) dst[(b0 + b) * A + a0 + a] = tile[b][a];
  });
}

// General permute on merged axes: out has sizes dims[], and stepping output axis d moves
// stride[d] in the input. Walks the output row by row (a row = the last output axis).
void strided_gather(const float* in, float* out, const Shape& dims, const std::vector<int64_t>& stride) {
  const auto k = static_cast<int64_t>(dims.size());
  const int64_t inner = dims[k - 1], step = stride[k - 1];
  const int64_t rows = span_numel(dims, 0, k - 1);
  // Each piece of rows starts by working out its first row's input offset, then steps like an odometer.
  const int64_t pieces = rows * inner >= kParallelMin ? std::min<int64_t>(rows, available_threads()) : 1;
  parallel_for(pieces, pieces > 1, [&](int64_t piece) {
    int64_t row_begin = rows * piece / pieces, row_end = rows * (piece + 1) / pieces;
    std::vector<int64_t> idx(k, 0);
    int64_t offset = 0;
    for (int64_t d = k - 2, r = row_begin; d >= 0; --d) {
      idx[d] = r % dims[d];
      r /= dims[d];
      offset += idx[d] * stride[d];
    }
    for (int64_t row = row_begin; row < row_end; ++row) {
      const float* src = in + offset;
      float* dst = out + row * inner;
      if (step == 1) {
        std::memcpy(dst, src, inner * sizeof(float));
      } else {
        for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * step];
      }
      for (int64_t d = k - 2; d >= 0; --d) {  // odometer step
        offset += stride[d];
        if (++idx[d] < dims[d]) break;
        offset -= stride[d] * dims[d];
        idx[d] = 0;
      }
    }
  });
}

// Python slice bounds: negative counts from the end, then clamp into [0, size]. Returns the element count.
int64_t clamp_slice(int64_t size, int64_t& start, int64_t& end, int64_t step, const char* op) {
  if (step <= 0) throw std::invalid_argument(fmt::format("{}: step must be positive, got {}", op, step));
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, 0, size);
  return end > start ? (end - start + step - 1) / step : 0;
}

// Reads index[k] as a row number in [0, rows), or throws naming the op.
int64_t row_index(float value, int64_t rows, const char* op, const Shape& x_shape) {
  if (value != std::floor(value))
    throw std::invalid_argument(fmt::format("{}: index {} is not an integer", op, value));
  if (!(value >= 0.f && value < static_cast<float>(rows)))
    throw std::out_of_range(
        fmt::format("{}: index {} is out of range for {} rows (shape {})", op, value, rows, shape_str(x_shape)));
  return static_cast<int64_t>(value);
}

}  // namespace

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined(x, "permute");
  const int64_t nd = x.dim();
  auto fail = [&] {
    std::string d;
    for (size_t i = 0; i < dims.size(); ++i) d += (i ? ", " : "") + std::to_string(dims[i]);
    throw std::invalid_argument(fmt::format("permute: [{}] is not a permutation of the {} axes of shape {}", d, nd,
                                            shape_str(x.shape())));
  };
  if (static_cast<int64_t>(dims.size()) != nd) fail();
  std::vector<int64_t> perm(nd);
  std::vector<bool> seen(nd, false);
  for (int64_t i = 0; i < nd; ++i) {
    if (dims[i] < -nd || dims[i] >= nd) fail();
    perm[i] = dims[i] < 0 ? dims[i] + nd : dims[i];
    if (seen[perm[i]]) fail();
    seen[perm[i]] = true;
  }
  Shape out_shape(nd);
  for (int64_t i = 0; i < nd; ++i) out_shape[i] = x.shape()[perm[i]];
  Tensor out(out_shape);
  if (out.numel() == 0) return out;

  // Output axis i steps in_stride[perm[i]] through the input. Merge neighbouring output axes that
  // step through the input as one (outer stride = inner stride * inner size), dropping size-1 axes:
  // the problem becomes a permutation of fewer, larger axes (merged_dims, merged_stride).
  std::vector<int64_t> in_stride(nd, 1);
  for (int64_t d = nd - 2; d >= 0; --d) in_stride[d] = in_stride[d + 1] * x.shape()[d + 1];
  Shape merged_dims;
  std::vector<int64_t> merged_stride;
  for (int64_t i = 0; i < nd; ++i) {
    int64_t size = x.shape()[perm[i]], stride = in_stride[perm[i]];
    if (size == 1) continue;
    if (!merged_dims.empty() && merged_stride.back() == stride * size) {
      merged_dims.back() *= size;
      merged_stride.back() = stride;
    } else {
      merged_dims.push_back(size);
      merged_stride.push_back(stride);
    }
  }
  const auto k = static_cast<int64_t>(merged_dims.size());
  if (k <= 1) {  // the order of the elements does not change
    std::memcpy(out.data(), x.data(), x.numel() * sizeof(float));
    return out;
  }
  // A batch of 2-D transposes, input [batch, A, B] -> output [batch, B, A]: the output's
  // second-to-last axis walks the input's last (stride 1), its last axis steps whole input rows
  // (stride B), and the batch axes keep their order.
  bool batched_2d = merged_stride[k - 2] == 1 && merged_stride[k - 1] == merged_dims[k - 2];
  for (int64_t d = 0; d + 2 < k && batched_2d; ++d)
    batched_2d = merged_stride[d] == merged_dims[k - 1] * merged_dims[k - 2] * span_numel(merged_dims, d + 1, k - 2);
  if (batched_2d) {
    batched_transpose(x.data(), out.data(), span_numel(merged_dims, 0, k - 2), merged_dims[k - 1], merged_dims[k - 2]);
  } else {
    strided_gather(x.data(), out.data(), merged_dims, merged_stride);
  }
  return out;
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  check_defined(x, "transpose");
  const int64_t nd = x.dim();
  axis0 = normalize_axis(axis0, nd, "transpose");
  axis1 = normalize_axis(axis1, nd, "transpose");
  if (nd == 0) return x.clone();
  std::vector<int64_t> dims(nd);
  for (int64_t i = 0; i < nd; ++i) dims[i] = i;
  std::swap(dims[axis0], dims[axis1]);
  return permute(x, dims);
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw std::invalid_argument("concat: expected at least one tensor, got none");
  for (const Tensor& t : xs) check_defined(t, "concat");
  const Shape& first = xs[0].shape();
  const int64_t nd = xs[0].dim();
  if (nd == 0) throw std::invalid_argument("concat: cannot concatenate 0-dimensional tensors (shape [])");
  axis = normalize_axis(axis, nd, "concat");
  Shape out_shape = first;
  out_shape[axis] = 0;
  for (size_t t = 0; t < xs.size(); ++t) {
    const Shape& s = xs[t].shape();
    bool ok = static_cast<int64_t>(s.size()) == nd;
    for (int64_t d = 0; d < nd && ok; ++d) ok = d == axis || s[d] == first[d];
    if (!ok)
      throw std::invalid_argument(fmt::format(
          "concat: tensor {} has shape {} but tensor 0 has shape {}; sizes must match except along axis {}", t,
          shape_str(s), shape_str(first), axis));
    out_shape[axis] = checked_size_add(out_shape[axis], s[axis], "concat", fmt::format("the size along axis {}", axis));
  }
  check_shape(out_shape, "concat");
  Tensor out(out_shape);
  // View every input as [outer, chunk] with chunk = its size along `axis` times the inner size;
  // each output row of the [outer, total] view is the inputs' chunks side by side.
  const int64_t outer = span_numel(first, 0, axis), inner = span_numel(first, axis + 1, nd);
  const int64_t out_row = out_shape[axis] * inner;
  float* dst = out.data();
  parallel_for(outer, out.numel() >= kParallelMin, [&](int64_t o) {
    int64_t col = 0;
    for (const Tensor& t : xs) {
      int64_t chunk = t.shape()[axis] * inner;
      if (chunk > 0) std::memcpy(dst + o * out_row + col, t.data() + o * chunk, chunk * sizeof(float));
      col += chunk;
    }
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw std::invalid_argument("stack: expected at least one tensor, got none");
  for (const Tensor& t : xs) check_defined(t, "stack");
  for (size_t t = 1; t < xs.size(); ++t)
    if (xs[t].shape() != xs[0].shape())
      throw std::invalid_argument(fmt::format("stack: tensor {} has shape {} but tensor 0 has shape {}; all must match",
                                              t, shape_str(xs[t].shape()), shape_str(xs[0].shape())));
  axis = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  expanded.reserve(xs.size());
  for (const Tensor& t : xs) expanded.push_back(unsqueeze(t, axis));
  return concat(expanded, axis);
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  check_defined(x, "slice");
  if (x.dim() == 0) throw std::invalid_argument("slice: cannot slice a 0-dimensional tensor (shape [])");
  axis = normalize_axis(axis, x.dim(), "slice");
  const int64_t size = x.shape()[axis];
  const int64_t count = clamp_slice(size, start, end, step, "slice");
  Shape out_shape = x.shape();
  out_shape[axis] = count;
  Tensor out(out_shape);
  if (out.numel() == 0) return out;
  // x: [outer, size, inner] -> out: [outer, count, inner], taking rows start, start + step, ...
  const int64_t outer = span_numel(x.shape(), 0, axis), inner = span_numel(x.shape(), axis + 1, x.dim());
  const float* src = x.data();
  float* dst = out.data();
  parallel_for(outer, out.numel() >= kParallelMin, [&](int64_t o) {
    const float* from = src + (o * size + start) * inner;
    float* to = dst + o * count * inner;
    if (step == 1) {
      std::memcpy(to, from, count * inner * sizeof(float));
    } else if (inner == 1) {
      for (int64_t i = 0; i < count; ++i) to[i] = from[i * step];
    } else {
      for (int64_t i = 0; i < count; ++i) std::memcpy(to + i * inner, from + i * step * inner, inner * sizeof(float));
    }
  });
  return out;
}

Tensor slice_scatter(const Tensor& src, const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step) {
  check_defined(src, "slice_scatter");
  if (shape.empty()) throw std::invalid_argument("slice_scatter: cannot slice a 0-dimensional shape []");
  check_shape(shape, "slice_scatter");
  axis = normalize_axis(axis, static_cast<int64_t>(shape.size()), "slice_scatter");
  const int64_t size = shape[axis];
  const int64_t first = start, last = end;
  const int64_t count = clamp_slice(size, start, end, step, "slice_scatter");
  Shape slice_shape = shape;
  slice_shape[axis] = count;
  if (src.shape() != slice_shape)
    throw std::invalid_argument(fmt::format(
        "slice_scatter: src has shape {}, but slice [{}:{}:{}] of axis {} of shape {} has shape {}",
        shape_str(src.shape()), first, last, step, axis, shape_str(shape), shape_str(slice_shape)));
  Tensor out = Tensor::zeros(shape);
  if (src.numel() == 0) return out;
  const int64_t outer = span_numel(shape, 0, axis), inner = span_numel(shape, axis + 1, shape.size());
  const float* from = src.data();
  float* to = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(to + (o * size + start + i * step) * inner, from + (o * count + i) * inner, inner * sizeof(float));
  return out;
}

Tensor index_select0(const Tensor& x, const Tensor& index) {
  check_defined(x, "index_select0");
  check_defined(index, "index_select0");
  if (x.dim() == 0)
    throw std::invalid_argument("index_select0: cannot index rows of a 0-dimensional tensor (shape [])");
  const int64_t rows = x.shape()[0], row_size = span_numel(x.shape(), 1, x.dim());
  Shape out_shape = index.shape();
  out_shape.insert(out_shape.end(), x.shape().begin() + 1, x.shape().end());
  check_shape(out_shape, "index_select0");
  Tensor out(out_shape);
  const float* idx = index.data();
  // Validate all indices first, so a bad one throws before any thread starts.
  for (int64_t k = 0; k < index.numel(); ++k) row_index(idx[k], rows, "index_select0", x.shape());
  const float* src = x.data();
  float* dst = out.data();
  parallel_for(index.numel(), out.numel() >= kParallelMin, [&](int64_t k) {
    std::memcpy(dst + k * row_size, src + static_cast<int64_t>(idx[k]) * row_size, row_size * sizeof(float));
  });
  return out;
}

Tensor index_add0(const Tensor& src, const Tensor& index, int64_t rows) {
  check_defined(src, "index_add0");
  check_defined(index, "index_add0");
  if (rows < 0) throw std::invalid_argument(fmt::format("index_add0: rows must be >= 0, got {}", rows));
  const Shape& is = index.shape();
  if (src.dim() < index.dim() || !std::equal(is.begin(), is.end(), src.shape().begin()))
    throw std::invalid_argument(fmt::format("index_add0: src shape {} must start with the index shape {}",
                                            shape_str(src.shape()), shape_str(is)));
  Shape out_shape{rows};
  out_shape.insert(out_shape.end(), src.shape().begin() + index.dim(), src.shape().end());
  check_shape(out_shape, "index_add0");
  Tensor out = Tensor::zeros(out_shape);
  const int64_t row_size = span_numel(out_shape, 1, out_shape.size());
  const float* idx = index.data();
  for (int64_t k = 0; k < index.numel(); ++k) row_index(idx[k], rows, "index_add0", out_shape);
  // out[index[k], :] += src[k, :]. Repeated indices add up, so threads split the columns, not the rows.
  const float* from = src.data();
  float* to = out.data();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(row_size / 64, available_threads()));
  parallel_for(chunks, src.numel() >= kParallelMin, [&](int64_t c) {
    int64_t j0 = row_size * c / chunks, j1 = row_size * (c + 1) / chunks;
    for (int64_t k = 0; k < index.numel(); ++k) {
      float* dst = to + static_cast<int64_t>(idx[k]) * row_size;
      const float* s = from + k * row_size;
      for (int64_t j = j0; j < j1; ++j) dst[j] += s[j];
    }
  });
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  check_defined(x, "unsqueeze");
  axis = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + axis, 1);
  return x.reshape(shape);
}

// As torch.squeeze(dim): an axis whose size is not 1 is left alone.
Tensor squeeze(const Tensor& x, int64_t axis) {
  check_defined(x, "squeeze");
  axis = normalize_axis(axis, x.dim(), "squeeze");
  if (x.dim() == 0 || x.shape()[axis] != 1) return x;
  Shape shape = x.shape();
  shape.erase(shape.begin() + axis);
  return x.reshape(shape);
}

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  check_defined(x, "flatten");
  if (x.dim() == 0) return x.reshape({1});
  start = normalize_axis(start, x.dim(), "flatten");
  end = normalize_axis(end, x.dim(), "flatten");
  if (start > end)
    throw std::invalid_argument(
        fmt::format("flatten: start axis {} comes after end axis {} (shape {})", start, end, shape_str(x.shape())));
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(span_numel(x.shape(), start, end + 1));
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return x.reshape(shape);
}

}  // namespace hd
