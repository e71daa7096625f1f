#include "tensor/tensor.h"

#include <fmt/format.h>

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace hd {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check_shape(const Shape& shape, const char* op) {
  int64_t product = 1;  // of the sizes, 0 counted as 1
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument(fmt::format("{}: negative size in shape {}", op, shape_str(shape)));
    if (d > kMaxNumel || (d > 0 && product > kMaxNumel / d))
      throw std::invalid_argument(fmt::format(
          "{}: shape {} is too large (more than 2^60 elements, counting an empty axis as 1)", op, shape_str(shape)));
    if (d > 0) product *= d;
  }
}

int64_t shape_numel(const Shape& shape, const char* op) {
  check_shape(shape, op);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t checked_size_mul(int64_t a, int64_t b, const char* op, const std::string& what) {
  int64_t out;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out) || out > kMaxNumel)
    throw std::invalid_argument(fmt::format("{}: {} = {} * {} is negative or too large (more than 2^60)", op, what,
                                            a, b));
  return out;
}

int64_t checked_size_add(int64_t a, int64_t b, const char* op, const std::string& what) {
  int64_t out;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &out) || out > kMaxNumel)
    throw std::invalid_argument(fmt::format("{}: {} = {} + {} is negative or too large (more than 2^60)", op, what,
                                            a, b));
  return out;
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  // A scalar still accepts axis 0 / -1, as PyTorch does for sum(dim=0) on a 0-d tensor.
  int64_t n = ndim == 0 ? 1 : ndim;
  if (axis < -n || axis >= n)
    throw std::invalid_argument(fmt::format("{}: axis {} is out of range for a tensor with {} dimensions", op,
                                            axis, ndim));
  return axis < 0 ? axis + n : axis;
}

// Training allocates and frees the same large activation buffers every step. By default glibc
// serves blocks over 128 KiB with mmap and returns them to the OS on free, so each step pays page
// faults again; keeping them in the heap (up to 256 MiB a block) lets a freed buffer be reused as is.
static const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  return true;
}();

// 64-byte alignment: one cache line, and the width of an AVX-512 register.
Storage::Storage(int64_t n, const Shape& shape) : data(nullptr), size(n) {
  (void)g_malloc_tuned;
  // n <= kMaxNumel = 2^60, so the byte count (at most 2^62 + 63) cannot overflow.
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  data = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
  if (!data)
    throw std::runtime_error(fmt::format("Tensor: out of memory: cannot allocate {:.3g} GB for shape {}",
                                         static_cast<double>(bytes) / 1e9, shape_str(shape)));
}

Storage::~Storage() { std::free(data); }

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  numel_ = shape_numel(shape, "Tensor");
  storage_ = std::make_shared<Storage>(numel_, shape);
}

Tensor Tensor::empty(const Shape& shape) { return Tensor(shape); }
Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.f); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.f); }
Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  const int64_t n = shape_numel(shape, "Tensor::from");
  if (n != static_cast<int64_t>(values.size()))
    throw std::invalid_argument(fmt::format("Tensor::from: shape {} needs {} values, got {}", shape_str(shape), n,
                                            values.size()));
  Tensor t(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::arange(float start, float end, float step) {
  if (step == 0.f || !std::isfinite(start) || !std::isfinite(end) || (end - start) * step < 0.f)
    throw std::invalid_argument(
        fmt::format("arange: cannot go from {} to {} in steps of {}", start, end, step));
  // PyTorch computes the length in double: ceil((end - start) / step). Checked as a double first: a
  // length beyond int64_t (arange(0, 1e30)) would make the conversion undefined.
  const double length = std::ceil((static_cast<double>(end) - start) / step);
  if (!(length <= static_cast<double>(kMaxNumel)))
    throw std::invalid_argument(fmt::format("arange: {} to {} in steps of {} gives {:.3g} elements, more than 2^60",
                                            start, end, step, length));
  auto n = static_cast<int64_t>(length);
  Tensor t({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(start + static_cast<double>(i) * step);
  return t;
}

Tensor Tensor::linspace(float start, float end, int64_t steps) {
  if (steps < 0) throw std::invalid_argument(fmt::format("linspace: steps must be >= 0, got {}", steps));
  check_shape({steps}, "linspace");
  Tensor t({steps});
  if (steps == 1) t.data()[0] = start;
  // Like PyTorch, fill the first half from the start and the second half from the end, so both ends are exact.
  double step = steps > 1 ? (static_cast<double>(end) - start) / (steps - 1) : 0.0;
  int64_t half = steps / 2;
  for (int64_t i = 0; i < steps && steps > 1; ++i)
    t.data()[i] = static_cast<float>(i < half ? start + step * i : end - step * (steps - 1 - i));
  return t;
}

int64_t Tensor::size(int64_t axis) const { return shape_[normalize_axis(axis, dim(), "size")]; }

float Tensor::item() const {
  if (numel_ != 1)
    throw std::invalid_argument(
        fmt::format("item: only a one-element tensor has a single value, got shape {}", shape_str(shape_)));
  return data()[0];
}

float& Tensor::at(std::initializer_list<int64_t> index) {
  if (static_cast<int64_t>(index.size()) != dim())
    throw std::invalid_argument(
        fmt::format("at: {} indices for a tensor of shape {}", index.size(), shape_str(shape_)));
  int64_t flat = 0, axis = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape_[axis])
      throw std::out_of_range(fmt::format("at: index {} out of range for axis {} of shape {}", i, axis,
                                          shape_str(shape_)));
    flat = flat * shape_[axis++] + i;
  }
  return data()[flat];
}

float Tensor::at(std::initializer_list<int64_t> index) const { return const_cast<Tensor*>(this)->at(index); }

Tensor Tensor::reshape(const Shape& shape) const {
  Shape out = shape;
  // `known`: the product of the given sizes, a 0 counted as 1 as check_shape counts it, so it cannot overflow.
  int64_t known = 1, infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) throw std::invalid_argument(fmt::format("reshape: only one size may be -1, got {}", shape_str(shape)));
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      throw std::invalid_argument(fmt::format("reshape: invalid size in {}", shape_str(shape)));
    } else {
      has_zero = has_zero || out[i] == 0;
      known = checked_size_mul(known, std::max<int64_t>(out[i], 1), "reshape",
                               fmt::format("the product of the sizes of {}", shape_str(shape)));
    }
  }
  if (infer >= 0) {
    if (has_zero || numel_ % known != 0)
      throw std::invalid_argument(fmt::format("reshape: cannot reshape {} ({} elements) into {}",
                                              shape_str(shape_), numel_, shape_str(shape)));
    out[infer] = numel_ / known;
  }
  if (shape_numel(out, "reshape") != numel_)
    throw std::invalid_argument(fmt::format("reshape: cannot reshape {} ({} elements) into {}", shape_str(shape_),
                                            numel_, shape_str(shape)));
  Tensor view = *this;
  view.shape_ = out;
  return view;
}

Tensor Tensor::narrow0(int64_t begin, int64_t end) const {
  if (dim() == 0) throw std::invalid_argument("narrow0: cannot slice a 0-dimensional tensor");
  if (begin < 0 || end < begin || end > shape_[0])
    throw std::out_of_range(fmt::format("narrow0: rows [{}, {}) out of range for shape {}", begin, end,
                                        shape_str(shape_)));
  Tensor view = *this;
  int64_t row = shape_[0] ? numel_ / shape_[0] : 0;
  view.shape_[0] = end - begin;
  view.offset_ = offset_ + begin * row;
  view.numel_ = (end - begin) * row;
  return view;
}

Tensor Tensor::operator[](int64_t i) const {
  if (dim() == 0) throw std::invalid_argument("operator[]: cannot index a 0-dimensional tensor");
  if (i < 0) i += shape_[0];
  if (i < 0 || i >= shape_[0])
    throw std::out_of_range(fmt::format("operator[]: index {} out of range for shape {}", i, shape_str(shape_)));
  Tensor row = narrow0(i, i + 1);
  row.shape_.erase(row.shape_.begin());
  return row;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t(shape_);
  if (numel_) std::memcpy(t.data(), data(), numel_ * sizeof(float));
  return t;
}

Tensor& Tensor::fill_(float value) {
  float* p = data();
  for (int64_t i = 0; i < numel_; ++i) p[i] = value;
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_same_shape(src, *this, "copy_");
  if (numel_ && data() != src.data()) std::memmove(data(), src.data(), numel_ * sizeof(float));
  return *this;
}

// Prints like PyTorch: nested brackets, at most 6 items per axis shown (first 3, "...", last 3).
static void format_axis(std::string& out, const float* p, const Shape& shape, size_t axis, int indent) {
  int64_t n = shape[axis];
  int64_t inner = 1;
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  out += "[";
  for (int64_t i = 0; i < n; ++i) {
    if (n > 6 && i == 3) {
      out += axis + 1 == shape.size() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = n - 3;
    }
    if (axis + 1 == shape.size()) {
      out += fmt::format("{:.4g}", p[i]);
    } else {
      format_axis(out, p + i * inner, shape, axis + 1, indent + 1);
    }
    if (i + 1 < n) out += axis + 1 == shape.size() ? ", " : fmt::format(",\n{:{}}", "", indent + 1);
  }
  out += "]";
}

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::string out = "tensor(";
  if (dim() == 0) {
    out += fmt::format("{:.4g}", data()[0]);
  } else {
    format_axis(out, data(), shape_, 0, 7);
  }
  return out + fmt::format(", shape={})", shape_str(shape_));
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  if (a.shape() != b.shape())
    throw std::invalid_argument(
        fmt::format("{}: expected shape {}, got {}", op, shape_str(b.shape()), shape_str(a.shape())));
}

bool allclose(const Tensor& a, const Tensor& b, float rtol, float atol) {
  if (a.shape() != b.shape()) return false;
  const float* x = a.data();
  const float* y = b.data();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]))) return false;
  return true;
}

}  // namespace hd
