// reduce.cpp — reductions over any set of axes, and the softmax family.
//
// How this file is organised:
//   1. Row and column loops. Every kernel here sees its input as a 3-D block [outer, n, inner],
//      reducing over n:
//        inner == 1: each output is a contiguous row of n values (row sums, softmax over the last
//                    axis). fold_row keeps 16 or 64 partial results so the compiler can vectorise it.
//        inner > 1:  out[o, :] combines n rows of `inner` values (bias gradient = sum over the
//                    batch). fold_columns adds whole rows, vectorised along the row.
//   2. reduce(): sum/max/min over an axes set. Adjacent reduced axes merge into one n; a set like
//      {0, 2} of [A, B, C] is reduced one block at a time, innermost first.
//   3. mean, var, argmax, expand, sum_to built on those.
//   4. softmax, log_softmax, logsumexp share one kernel: m = max, s = sum exp(x - m), then
//      softmax = exp(x - m) / s,  log_softmax = x - m - log s,  logsumexp = m + log s.
//      Subtracting the max first keeps every exp <= 1, so nothing overflows.
#include "tensor/reduce.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "tensor/elementwise.h"
#include "tensor/fast_math.h"
#include "tensor/parallel.h"

namespace hd {

namespace {

// Below this many input elements, one thread is faster than waking the team.
constexpr int64_t kParallelMin = 1 << 15;
// Column loops work on slices of at most this many floats (1 KiB), which stay in L1 while n rows stream past.
constexpr int64_t kColumnChunk = 256;
constexpr float kInf = std::numeric_limits<float>::infinity();

void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: got an undefined tensor", op));
}

// Combining two partial results. NaN wins in max/min, as in PyTorch.
struct SumOp {
  static constexpr float init = 0.f;
  float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  static constexpr float init = -kInf;
  float operator()(float a, float b) const { return a > b || a != a ? a : b; }
};
struct MinOp {
  static constexpr float init = kInf;
  float operator()(float a, float b) const { return a < b || a != a ? a : b; }
};
// A max that may drop NaN (one instruction instead of four). Used inside softmax, where a NaN
// input still turns the result into NaN through exp and the sum.
struct PlainMaxOp {
  static constexpr float init = -kInf;
  float operator()(float a, float b) const { return a > b ? a : b; }
};

// Sums are folded in blocks of this many values whose totals add up in double: a long sum then
// stays accurate to a few ulp instead of drifting by ~n * eps.
constexpr int64_t kSumBlock = 2048;

// Folds a contiguous row with kLanes independent partial results, which lets the compiler vectorise
// without reassociating floats itself (it may not, without -ffast-math).
template <int kLanes, class Op>
float fold_lanes(const float* x, int64_t n, Op op) {
  float acc[kLanes];
  for (float& a : acc) a = Op::init;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = op(acc[j], x[i + j]);
  for (int j = 0; i < n; ++i, ++j) acc[j] = op(acc[j], x[i]);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) acc[j] = op(acc[j], acc[j + width]);
  return acc[0];
}

// Short rows (10 class logits) fold one by one; medium rows use 16 lanes (one AVX-512 register);
// long rows 64 lanes (four registers keep more additions in flight). Measured on rows in L2.
template <class Op>
float fold_row_block(const float* x, int64_t n, Op op) {
  if (n < 16) {
    float acc = Op::init;
    for (int64_t i = 0; i < n; ++i) acc = op(acc, x[i]);
    return acc;
  }
  return n < 1024 ? fold_lanes<16>(x, n, op) : fold_lanes<64>(x, n, op);
}

template <class Op>
float fold_row(const float* x, int64_t n, Op op) {
  if constexpr (std::is_same_v<Op, SumOp>) {
    double total = 0;
    for (int64_t i = 0; i < n; i += kSumBlock) total += fold_row_block(x + i, std::min(kSumBlock, n - i), op);
    return static_cast<float>(total);
  } else {
    return fold_row_block(x, n, op);
  }
}

// out[j] = op(out[j], x[i * inner + j]) for i < n, j < width <= kColumnChunk: folds n rows into one,
// vectorised along the row. Sums again go block by block into double.
template <class Op>
void fold_columns(const float* x, int64_t n, int64_t inner, int64_t width, float* out, Op op) {
  auto fold_rows = [&](int64_t begin, int64_t end, float* acc) {
    for (int64_t i = begin; i < end; ++i) {
      const float* row = x + i * inner;
      for (int64_t j = 0; j < width; ++j) acc[j] = op(acc[j], row[j]);
    }
  };
  if constexpr (std::is_same_v<Op, SumOp>) {
    double total[kColumnChunk] = {};
    float block[kColumnChunk];
    const int64_t rows_per_block = std::max<int64_t>(1, kSumBlock / 64);
    for (int64_t i = 0; i < n; i += rows_per_block) {
      std::fill(block, block + width, 0.f);
      fold_rows(i, std::min(n, i + rows_per_block), block);
      for (int64_t j = 0; j < width; ++j) total[j] += block[j];
    }
    for (int64_t j = 0; j < width; ++j) out[j] += static_cast<float>(total[j]);
  } else {
    fold_rows(0, n, out);
  }
}

// x: [outer, n, inner] -> out: [outer, inner], combining over n with op.
template <class Op>
void reduce_3d(const float* x, float* out, int64_t outer, int64_t n, int64_t inner, Op op) {
  const int threads = outer * n * inner < kParallelMin ? 1 : available_threads();
  const bool parallel = threads > 1;
  if (inner == 1) {
    if (outer >= threads) {
      // Many rows: each thread takes whole rows.
      parallel_for(outer, parallel, [&](int64_t o) { out[o] = fold_row(x + o * n, n, op); });
    } else {
      // A few long rows (a full reduction): each thread folds a piece of the row, then the pieces combine.
      std::vector<float> part(threads);
      for (int64_t o = 0; o < outer; ++o) {
        const float* row = x + o * n;
        parallel_for(threads, true, [&](int64_t t) {
          int64_t begin = n * t / threads, end = n * (t + 1) / threads;
          part[t] = fold_row(row + begin, end - begin, op);
        });
        out[o] = fold_row(part.data(), threads, op);
      }
    }
    return;
  }
  // inner > 1: each (outer index, column chunk) is an independent piece of work.
  const int64_t chunks = (inner + kColumnChunk - 1) / kColumnChunk;
  if (outer * chunks >= threads || chunks > 1) {
    parallel_for(outer * chunks, parallel, [&](int64_t item) {
      int64_t o = item / chunks, j0 = item % chunks * kColumnChunk;
      int64_t width = std::min(kColumnChunk, inner - j0);
      float* dst = out + o * inner + j0;
      std::fill(dst, dst + width, Op::init);
      fold_columns(x + o * n * inner + j0, n, inner, width, dst, op);
    });
    return;
  }
  // Few columns (inner <= kColumnChunk) but many rows, e.g. [100000, 3] summed over axis 0: split the
  // rows between threads, each folding into its own partial row, then combine the partial rows.
  std::vector<float> part(static_cast<size_t>(threads) * inner);
  for (int64_t o = 0; o < outer; ++o) {
    const float* block = x + o * n * inner;
    parallel_for(threads, true, [&](int64_t t) {
      int64_t begin = n * t / threads, end = n * (t + 1) / threads;
      float* dst = part.data() + t * inner;
      std::fill(dst, dst + inner, Op::init);
      fold_columns(block + begin * inner, end - begin, inner, inner, dst, op);
    });
    float* dst = out + o * inner;
    std::fill(dst, dst + inner, Op::init);
    fold_columns(part.data(), threads, inner, inner, dst, op);
  }
}

// Which axes of an ndim tensor `axes` names (all of them when empty). Throws on repeats.
std::vector<bool> axes_mask(const Tensor& x, const Axes& axes, const char* op) {
  const int64_t nd = x.dim();
  std::vector<bool> mask(nd, axes.empty());
  for (int64_t a : axes) {
    int64_t d = normalize_axis(a, nd, op);
    if (nd == 0) continue;  // a scalar accepts axis 0 / -1 and has nothing to reduce
    if (mask[d])
      throw std::invalid_argument(fmt::format("{}: axis {} appears more than once in the axes of a tensor of shape {}",
                                              op, a, shape_str(x.shape())));
    mask[d] = true;
  }
  return mask;
}

Shape reduced_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// The axes as alternating blocks of kept and reduced sizes: adjacent axes with the same role merge,
// size-1 axes drop out. [2, 3, 4, 5] reducing {1, 2} -> {(2, kept), (12, reduced), (5, kept)}.
struct Block {
  int64_t size;
  bool reduced;
};

std::vector<Block> merge_blocks(const Shape& shape, const std::vector<bool>& mask) {
  std::vector<Block> blocks;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!blocks.empty() && blocks.back().reduced == mask[d]) blocks.back().size *= shape[d];
    else blocks.push_back({shape[d], static_cast<bool>(mask[d])});
  }
  return blocks;
}

// How many input elements fold into each output: the product of the reduced sizes.
int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  int64_t count = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) count *= x.shape()[d];
  return count;
}

// t /= divisor, elementwise (0 / 0 gives NaN: the mean of nothing, as in PyTorch).
void divide_by(Tensor& t, float divisor) {
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] /= divisor;
}

template <class Op>
Tensor reduce(const Tensor& x, const Axes& axes, bool keepdim, const char* op_name, Op op) {
  check_defined(x, op_name);
  std::vector<bool> mask = axes_mask(x, axes, op_name);
  Shape out_shape = reduced_shape(x.shape(), mask, keepdim);
  if (!std::is_same_v<Op, SumOp>)
    for (size_t d = 0; d < mask.size(); ++d)
      if (mask[d] && x.shape()[d] == 0)
        throw std::invalid_argument(fmt::format(
            "{}: cannot reduce axis {} of size 0 (shape {}): the result has no identity", op_name, d,
            shape_str(x.shape())));
  if (shape_numel(out_shape) == 0) return Tensor(out_shape);
  if (x.numel() == 0) return Tensor::full(out_shape, Op::init);  // a sum over an empty axis is 0

  // Reduce the innermost reduced block, then the next one out, ... Each pass is one [outer, n, inner] call.
  std::vector<Block> blocks = merge_blocks(x.shape(), mask);
  Tensor current = x;
  for (int b = static_cast<int>(blocks.size()) - 1; b >= 0; --b) {
    if (!blocks[b].reduced) continue;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < b; ++i) outer *= blocks[i].size;
    for (size_t i = b + 1; i < blocks.size(); ++i) inner *= blocks[i].size;
    Tensor next({outer * inner});
    reduce_3d(current.data(), next.data(), outer, blocks[b].size, inner, op);
    current = next;
    blocks.erase(blocks.begin() + b);
  }
  if (current.shares_storage(x)) return x.reshape(out_shape).clone();  // only size-1 axes were "reduced"
  return current.reshape(out_shape);
}

// --- softmax family ---

enum class SoftmaxKind { Softmax, LogSoftmax, LogSumExp };

// A max that is +-inf would make x - m NaN; using 0 instead keeps the right limits:
// a row of all -inf has logsumexp -inf (softmax NaN, as in PyTorch), a +inf gives +inf.
float finite_or_zero(float m) { return std::isinf(m) ? 0.f : m; }

// Sum of exp(x[j] - m) over a row, with 64 partial sums as in fold_row.
float sum_exp_row(const float* x, int64_t n, float m) {
  constexpr int kLanes = 64;
  if (n < kLanes) {
    float s = 0.f;
    for (int64_t i = 0; i < n; ++i) s += fast_exp(x[i] - m);
    return s;
  }
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += fast_exp(x[i + j] - m);
  for (int j = 0; i < n; ++i, ++j) acc[j] += fast_exp(x[i] - m);
  return fold_row(acc, kLanes, SumOp{});
}

// One row of n values: y (n values) or, for logsumexp, the single value *y.
void softmax_row(const float* x, float* y, int64_t n, SoftmaxKind kind) {
  float m = finite_or_zero(fold_row(x, n, PlainMaxOp{}));
  if (kind == SoftmaxKind::Softmax) {
    for (int64_t j = 0; j < n; ++j) y[j] = fast_exp(x[j] - m);
    float inv = 1.f / fold_row(y, n, SumOp{});
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
    return;
  }
  float log_s = fast_log(sum_exp_row(x, n, m));
  if (kind == SoftmaxKind::LogSumExp) {
    *y = m + log_s;
    return;
  }
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - log_s;
}

// Columns j0 .. j0+width of one [n, inner] block (the softmax axis is not the last one).
// y is [n, inner] for softmax / log_softmax, [inner] for logsumexp.
void softmax_columns(const float* x, float* y, int64_t n, int64_t inner, int64_t width, SoftmaxKind kind) {
  float m[kColumnChunk], s[kColumnChunk];
  std::fill(m, m + width, -kInf);
  fold_columns(x, n, inner, width, m, PlainMaxOp{});
  for (int64_t j = 0; j < width; ++j) m[j] = finite_or_zero(m[j]);
  std::fill(s, s + width, 0.f);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = x + i * inner;
    if (kind == SoftmaxKind::Softmax) {
      float* out = y + i * inner;
      for (int64_t j = 0; j < width; ++j) {
        out[j] = fast_exp(row[j] - m[j]);
        s[j] += out[j];
      }
    } else {
      for (int64_t j = 0; j < width; ++j) s[j] += fast_exp(row[j] - m[j]);
    }
  }
  if (kind == SoftmaxKind::Softmax) {
    for (int64_t j = 0; j < width; ++j) s[j] = 1.f / s[j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < width; ++j) y[i * inner + j] *= s[j];
    return;
  }
  for (int64_t j = 0; j < width; ++j) s[j] = fast_log(s[j]);
  if (kind == SoftmaxKind::LogSumExp) {
    for (int64_t j = 0; j < width; ++j) y[j] = m[j] + s[j];
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < width; ++j) y[i * inner + j] = (x[i * inner + j] - m[j]) - s[j];
}

// x: [outer, n, inner] -> y: [outer, n, inner] (softmax, log_softmax) or [outer, inner] (logsumexp).
void softmax_3d(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, SoftmaxKind kind) {
  const bool parallel = outer * n * inner >= kParallelMin / 4;  // exp is costly: parallelise sooner
  const int64_t y_n = kind == SoftmaxKind::LogSumExp ? 1 : n;
  if (inner == 1) {
    parallel_for(outer, parallel, [&](int64_t o) { softmax_row(x + o * n, y + o * y_n, n, kind); });
    return;
  }
  const int64_t chunks = (inner + kColumnChunk - 1) / kColumnChunk;
  parallel_for(outer * chunks, parallel, [&](int64_t item) {
    int64_t o = item / chunks, j0 = item % chunks * kColumnChunk;
    softmax_columns(x + o * n * inner + j0, y + o * y_n * inner + j0, n, inner, std::min(kColumnChunk, inner - j0),
                    kind);
  });
}

// The [outer, n, inner] view of x around one axis.
void split_at_axis(const Shape& shape, int64_t axis, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  n = shape.empty() ? 1 : shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
}

Tensor softmax_along(const Tensor& x, int64_t axis, SoftmaxKind kind, const char* op) {
  check_defined(x, op);
  axis = normalize_axis(axis, x.dim(), op);
  Tensor y(x.shape());
  int64_t outer, n, inner;
  split_at_axis(x.shape(), axis, outer, n, inner);
  if (y.numel() > 0) softmax_3d(x.data(), y.data(), outer, n, inner, kind);
  return y;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, "sum", SumOp{}); }
Tensor max(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, "max", MaxOp{}); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, "min", MinOp{}); }

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
  Tensor s = reduce(x, axes, keepdim, "mean", SumOp{});
  divide_by(s, static_cast<float>(reduced_count(x, axes_mask(x, axes, "mean"))));
  return s;
}

// var = sum((x - mean)^2) / (N - correction): two passes (mean first), which stays accurate when
// the mean is large next to the spread, unlike E[x^2] - E[x]^2.
Tensor var(const Tensor& x, const Axes& axes, int64_t correction, bool keepdim) {
  check_defined(x, "var");
  int64_t count = reduced_count(x, axes_mask(x, axes, "var"));
  Tensor centred = sub(x, mean(x, axes, true));
  Tensor ss = reduce(square(centred), axes, keepdim, "var", SumOp{});
  // N - correction <= 0 divides by zero (inf, or NaN for 0 / 0), as PyTorch does.
  divide_by(ss, static_cast<float>(std::max<int64_t>(0, count - correction)));
  return ss;
}

// Index of the largest value along `axis`; the first one on ties, and NaN counts as the largest.
// Indices are floats, exact up to 2^24.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  check_defined(x, "argmax");
  axis = normalize_axis(axis, x.dim(), "argmax");
  int64_t outer, n, inner;
  split_at_axis(x.shape(), axis, outer, n, inner);
  if (n == 0)
    throw std::invalid_argument(
        fmt::format("argmax: cannot take the argmax of axis {} of size 0 (shape {})", axis, shape_str(x.shape())));
  Shape out_shape = x.shape();
  if (!out_shape.empty()) {
    if (keepdim) out_shape[axis] = 1;
    else out_shape.erase(out_shape.begin() + axis);
  }
  Tensor out(out_shape);
  const float* xp = x.data();
  float* op = out.data();
  const bool parallel = x.numel() >= kParallelMin;
  if (inner == 1) {
    // Rows: the (vectorised) max first, then the first position holding it.
    parallel_for(outer, parallel, [&](int64_t o) {
      const float* row = xp + o * n;
      float m = fold_row(row, n, MaxOp{});
      int64_t i = 0;
      while (i < n - 1 && !(row[i] == m || (m != m && row[i] != row[i]))) ++i;
      op[o] = static_cast<float>(i);
    });
    return out;
  }
  // Columns: running best value and index per column, vectorised along the row.
  // (Bitwise | and & rather than || and &&: no branches, so the loop vectorises.)
  auto better = [](float v, float best) { return (v > best) | ((v != v) & (best == best)); };
  parallel_for(outer, parallel, [&](int64_t o) {
    const float* block = xp + o * n * inner;
    for (int64_t j0 = 0; j0 < inner; j0 += kColumnChunk) {
      int64_t width = std::min(kColumnChunk, inner - j0);
      float best[kColumnChunk];
      float index[kColumnChunk];
      for (int64_t j = 0; j < width; ++j) {
        best[j] = block[j0 + j];
        index[j] = 0.f;
      }
      for (int64_t i = 1; i < n; ++i) {
        const float fi = static_cast<float>(i);
        for (int64_t j = 0; j < width; ++j) {
          float v = block[i * inner + j0 + j];
          bool take = better(v, best[j]);
          best[j] = take ? v : best[j];
          index[j] = take ? fi : index[j];
        }
      }
      std::copy(index, index + width, op + o * inner + j0);
    }
  });
  return out;
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdim) {
  check_defined(x, "logsumexp");
  std::vector<bool> mask = axes_mask(x, axes, "logsumexp");
  Shape out_shape = reduced_shape(x.shape(), mask, keepdim);
  std::vector<Block> blocks = merge_blocks(x.shape(), mask);
  int reduced_blocks = 0, b = 0;
  for (int i = 0; i < static_cast<int>(blocks.size()); ++i)
    if (blocks[i].reduced) ++reduced_blocks, b = i;
  if (x.numel() == 0 || reduced_blocks == 0) {
    // Empty input: log(sum of nothing) = log 0 = -inf. No axis of size > 1 reduced: log(exp(x)) = x.
    Tensor out(out_shape);
    return x.numel() == 0 ? out.fill_(-kInf) : out.copy_(x.reshape(out_shape));
  }
  if (reduced_blocks == 1) {
    // The reduced axes are adjacent: one [outer, n, inner] pass.
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < b; ++i) outer *= blocks[i].size;
    for (size_t i = b + 1; i < blocks.size(); ++i) inner *= blocks[i].size;
    Tensor out(out_shape);
    softmax_3d(x.data(), out.data(), outer, blocks[b].size, inner, SoftmaxKind::LogSumExp);
    return out;
  }
  // Scattered axes: the same formula from whole-tensor ops, m + log(sum(exp(x - m))).
  Tensor m = max(x, axes, true);
  float* mp = m.data();
  for (int64_t i = 0; i < m.numel(); ++i) mp[i] = finite_or_zero(mp[i]);
  Tensor out = add(log(sum(exp(sub(x, m)), axes, true)), m);
  return out.reshape(out_shape);
}

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_along(x, axis, SoftmaxKind::Softmax, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return softmax_along(x, axis, SoftmaxKind::LogSoftmax, "log_softmax");
}

// --- broadcasting, materialised ---

namespace {

// Writes x (shape xs, right-aligned to `shape` and padded with 1s) repeated to `shape`, from axis d on.
// Where the remaining axes match, one memcpy copies the block; a broadcast axis writes its single
// slice once and then copies it along the axis.
void expand_from(const float* src, const Shape& xs, float* dst, const Shape& shape, size_t d) {
  if (std::equal(xs.begin() + d, xs.end(), shape.begin() + d)) {
    std::memcpy(dst, src, shape_numel(Shape(shape.begin() + d, shape.end())) * sizeof(float));
    return;
  }
  int64_t dst_inner = shape_numel(Shape(shape.begin() + d + 1, shape.end()));
  int64_t src_inner = shape_numel(Shape(xs.begin() + d + 1, xs.end()));
  if (xs[d] == 1) {
    expand_from(src, xs, dst, shape, d + 1);
    for (int64_t i = 1; i < shape[d]; ++i) std::memcpy(dst + i * dst_inner, dst, dst_inner * sizeof(float));
  } else {
    for (int64_t i = 0; i < shape[d]; ++i) expand_from(src + i * src_inner, xs, dst + i * dst_inner, shape, d + 1);
  }
}

}  // namespace

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined(x, "expand");
  check_shape(shape, "expand");
  auto fail = [&] {
    throw std::invalid_argument(
        fmt::format("expand: cannot expand shape {} to {}", shape_str(x.shape()), shape_str(shape)));
  };
  if (x.shape().size() > shape.size()) fail();
  Shape xs(shape.size() - x.shape().size(), 1);  // x's shape padded on the left to the target's length
  xs.insert(xs.end(), x.shape().begin(), x.shape().end());
  for (size_t d = 0; d < shape.size(); ++d)
    if (xs[d] != shape[d] && xs[d] != 1) fail();
  Tensor out(shape);
  if (out.numel() > 0) expand_from(x.data(), xs, out.data(), shape, 0);
  return out;
}

// Sums away what broadcasting added: the leading axes x has beyond `shape`, and the axes where
// `shape` has size 1. Returns x itself when the shapes already match (as PyTorch's sum_to does).
Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_defined(x, "sum_to");
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  auto fail = [&] {
    throw std::invalid_argument(fmt::format("sum_to: cannot sum shape {} down to {}: {} does not broadcast to {}",
                                            shape_str(x.shape()), shape_str(shape), shape_str(shape),
                                            shape_str(x.shape())));
  };
  if (lead < 0) fail();
  Axes axes;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      axes.push_back(d);
    } else if (shape[d - lead] != x.shape()[d]) {
      if (shape[d - lead] != 1) fail();
      axes.push_back(d);
    }
  }
  return sum(x, axes, true).reshape(shape);
}

}  // namespace hd
