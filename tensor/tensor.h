// tensor.h — hundun's n-dimensional float32 array.
//
// A Tensor is a shape plus a window onto shared storage. The storage is one
// contiguous, 64-byte aligned block of floats, and a tensor always sees its
// elements in row-major (C) order, so every kernel can treat its data as a plain
// `float*` of numel() elements. Copying a Tensor is cheap and shares storage
// (as in PyTorch); `clone()` makes an independent copy.
//
// Views that keep the data in place share storage too: reshape() and slicing along
// the first axis (narrow0, operator[]). Everything that would need strides
// (transpose, permute, general slices) copies instead: that keeps every kernel
// simple, and the copies are cheap next to the matrix products that follow.
//
// No gradients here: autograd/ builds on top of this.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace hd {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]", used in every error message about shapes.
std::string shape_str(const Shape& shape);

// The most elements a tensor may have: 2^60 floats (4 EiB), far beyond any machine's memory, yet small
// enough that its byte count (plus alignment) and every product of some of its sizes fit in int64_t.
// A shape is valid when no size is negative and the product of its sizes, a 0 counted as 1, is at most
// this: then numel, row sizes, strides and offsets computed from it can never overflow, even when
// another axis is empty ([0, 2^62, 2^62] is refused, not taken as 0 elements).
constexpr int64_t kMaxNumel = int64_t{1} << 60;
// Throws std::invalid_argument "op: ... shape [..] ..." unless `shape` is valid (see kMaxNumel).
void check_shape(const Shape& shape, const char* op);
// Product of the sizes; 1 for a scalar (empty shape). Checks the shape first (check_shape, naming `op`).
int64_t shape_numel(const Shape& shape, const char* op = "shape_numel");
// a * b and a + b for sizes (a, b >= 0), refused with std::invalid_argument naming `op` and `what` when
// the result would exceed kMaxNumel: the size arithmetic of an op (concat's sum, conv's output size)
// goes through these before a shape is built from it.
int64_t checked_size_mul(int64_t a, int64_t b, const char* op, const std::string& what);
int64_t checked_size_add(int64_t a, int64_t b, const char* op, const std::string& what);
// A negative axis counts from the end, as in PyTorch; throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

// Aligned, reference-counted float storage shared by tensors and their views.
struct Storage {
  // n <= kMaxNumel floats. When the memory is not there, throws std::runtime_error naming the size and
  // `shape` (a bare std::bad_alloc would name nothing).
  Storage(int64_t n, const Shape& shape);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data;
  int64_t size;
};

class Tensor {
 public:
  // An undefined tensor (no storage); defined() is false.
  Tensor() = default;
  // A new tensor of this shape. Its values are uninitialised: use zeros() for zeros.
  // An invalid shape (check_shape) throws std::invalid_argument naming "Tensor" and the shape.
  explicit Tensor(const Shape& shape);

  // --- creation (PyTorch names) ---
  static Tensor empty(const Shape& shape);
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value);  // 0-dimensional
  // Copies `values` (row-major); their count must match the shape.
  static Tensor from(const Shape& shape, const std::vector<float>& values);
  // [start, start + step, ...) up to but excluding end, as torch.arange.
  static Tensor arange(float start, float end, float step = 1.f);
  // `steps` evenly spaced values from start to end inclusive, as torch.linspace.
  static Tensor linspace(float start, float end, int64_t steps);

  // --- shape ---
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axis counts from the end
  int64_t numel() const { return numel_; }

  // --- data: contiguous row-major, numel() floats ---
  float* data() { return storage_ ? storage_->data + offset_ : nullptr; }
  const float* data() const { return storage_ ? storage_->data + offset_ : nullptr; }
  // The value of a one-element tensor.
  float item() const;
  // Element access by full index, bounds-checked (slow: for tests and small demos).
  float at(std::initializer_list<int64_t> index) const;
  float& at(std::initializer_list<int64_t> index);
  std::vector<float> tolist() const { return std::vector<float>(data(), data() + numel_); }

  // --- views sharing storage ---
  // Same elements, new shape; one size may be -1 (inferred).
  Tensor reshape(const Shape& shape) const;
  // Rows [begin, end) along the first axis.
  Tensor narrow0(int64_t begin, int64_t end) const;
  // Row i along the first axis, with that axis removed.
  Tensor operator[](int64_t i) const;
  bool shares_storage(const Tensor& other) const { return storage_ && storage_ == other.storage_; }
  // How many tensors (views included) share this storage.
  long storage_use_count() const { return storage_.use_count(); }

  // --- copies and in-place writes ---
  Tensor clone() const;
  Tensor& fill_(float value);
  Tensor& copy_(const Tensor& src);  // shapes must match

  // Multi-line text like PyTorch's repr ("tensor([[1., 2.], ...], shape=[2, 2])").
  std::string str() const;

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  Shape shape_;
};

// Throws std::invalid_argument "op: expected shape A, got B" unless the shapes are equal.
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);
// True when every element differs by at most atol + rtol * |b| (like torch.allclose).
bool allclose(const Tensor& a, const Tensor& b, float rtol = 1e-5f, float atol = 1e-8f);

}  // namespace hd
