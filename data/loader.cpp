#include "data/loader.h"

#include <fmt/format.h>

#include <cstring>
#include <numeric>
#include <stdexcept>

namespace hd {

namespace {

// Floats per example: the product of all sizes but the first.
int64_t row_size(const Tensor& t) { return t.size(0) == 0 ? 0 : t.numel() / t.size(0); }

// Shape of a batch of b rows of t.
Shape batch_shape(const Tensor& t, int64_t b) {
  Shape s = t.shape();
  s[0] = b;
  return s;
}

// out[i] = src[idx[i]] for i < out.size(0): one memcpy per row (784 floats for an image).
void copy_rows(const Tensor& src, const int64_t* idx, Tensor& out) {
  const int64_t row = row_size(src), b = out.size(0);
  const float* s = src.data();
  float* d = out.data();
  for (int64_t i = 0; i < b; ++i) std::memcpy(d + i * row, s + idx[i] * row, sizeof(float) * row);
}

}  // namespace

DataLoader::DataLoader(Tensor inputs, Tensor targets, int64_t batch_size, bool shuffle, uint64_t seed,
                       bool drop_last)
    : inputs_(inputs), targets_(targets), n_(0), batch_size_(batch_size), shuffle_(shuffle),
      drop_last_(drop_last), gen_(seed) {
  if (!inputs.defined() || inputs.dim() == 0)
    throw std::invalid_argument("DataLoader: inputs must be a tensor [N, ...] with at least one dimension");
  n_ = inputs.size(0);
  if (targets.defined() && (targets.dim() == 0 || targets.size(0) != n_))
    throw std::invalid_argument(fmt::format("DataLoader: inputs {} and targets {} disagree on the number of examples",
                                            shape_str(inputs.shape()), shape_str(targets.shape())));
  if (batch_size < 1) throw std::invalid_argument(fmt::format("DataLoader: batch_size must be >= 1, got {}", batch_size));
}

int64_t DataLoader::num_batches() const {
  return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
}

void DataLoader::start_epoch() {
  if (shuffle_) {
    order_ = gen_.permutation(n_);
  } else if (static_cast<int64_t>(order_.size()) != n_) {
    order_.resize(static_cast<size_t>(n_));
    std::iota(order_.begin(), order_.end(), int64_t{0});
  }
  pos_ = 0;
  ++epoch_;
}

bool DataLoader::next(Tensor& x, Tensor& y) {
  if (pos_ < 0) start_epoch();
  const int64_t b = std::min(batch_size_, n_ - pos_);
  if (b <= 0 || (drop_last_ && b < batch_size_)) {
    pos_ = -1;  // epoch over; the next call starts another
    return false;
  }
  const bool full = b == batch_size_;
  Tensor& xb = full ? x_full_ : x_tail_;
  Tensor& yb = full ? y_full_ : y_tail_;
  if (!xb.defined() || xb.size(0) != b) xb = Tensor(batch_shape(inputs_, b));
  copy_rows(inputs_, order_.data() + pos_, xb);
  if (targets_.defined()) {
    if (!yb.defined() || yb.size(0) != b) yb = Tensor(batch_shape(targets_, b));
    copy_rows(targets_, order_.data() + pos_, yb);
  }
  x = xb;
  y = yb;
  pos_ += b;
  return true;
}

Tensor gather_rows(const Tensor& rows, const std::vector<int64_t>& idx) {
  if (!rows.defined() || rows.dim() == 0)
    throw std::invalid_argument("gather_rows: expected a tensor [N, ...] with at least one dimension");
  for (int64_t i : idx)
    if (i < 0 || i >= rows.size(0))
      throw std::invalid_argument(fmt::format("gather_rows: index {} is out of range for {} rows", i, rows.size(0)));
  Tensor out(batch_shape(rows, static_cast<int64_t>(idx.size())));
  copy_rows(rows, idx.data(), out);
  return out;
}

Dataset subset(const Dataset& data, int64_t n, uint64_t seed) {
  const int64_t total = data.images.defined() && data.images.dim() > 0 ? data.images.size(0) : 0;
  if (n < 0 || n > total)
    throw std::invalid_argument(fmt::format("subset: cannot take {} examples from a data set of {}", n, total));
  std::vector<int64_t> idx;
  if (seed == 0) {
    idx.resize(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), int64_t{0});
  } else {
    Generator gen(seed);
    idx = gen.permutation(total);
    idx.resize(static_cast<size_t>(n));
  }
  Dataset out;
  out.images = gather_rows(data.images, idx);
  if (data.labels.defined()) out.labels = gather_rows(data.labels, idx);
  return out;
}

// The three pixel-range maps: one pass each, a new tensor (inputs stay untouched).
Tensor scale_to_unit(const Tensor& x, float max_value) {
  if (!(max_value > 0.f)) throw std::invalid_argument(fmt::format("scale_to_unit: max_value must be > 0, got {}", max_value));
  Tensor out(x.shape());
  const float* s = x.data();
  float* d = out.data();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = s[i] / max_value;
  return out;
}

Tensor to_minus_one_one(const Tensor& x) {
  Tensor out(x.shape());
  const float* s = x.data();
  float* d = out.data();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = 2.f * s[i] - 1.f;
  return out;
}

Tensor from_minus_one_one(const Tensor& x) {
  Tensor out(x.shape());
  const float* s = x.data();
  float* d = out.data();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = (s[i] + 1.f) * 0.5f;
  return out;
}

}  // namespace hd
