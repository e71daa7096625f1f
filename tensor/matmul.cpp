// matmul.cpp — matrix products of tensors, on top of sgemm (gemm.h).
//
// op(a) @ op(b), where op swaps the last two axes when asked. No transposed copy is ever made:
// sgemm reads a transposed operand in place (its packing step just walks the matrix the other way).
//
// How a call is carried out:
//   [M, K] @ [K, N]              one sgemm.
//   [..., M, K] @ [K, N]         (a not transposed) the batch axes fold into M: the batch is one
//                                [B*M, K] matrix in memory, so a Linear layer on [B, T, C] is one big
//                                sgemm instead of B small ones.
//   [..., M, K] @ [..., K, N]    batch axes broadcast as in elementwise ops. Each output matrix gets its
//                                own sgemm, pointed at its operands' matrices in place: a 2-D or broadcast
//                                operand is shared, never copied per batch. Many small products run in
//                                parallel across the batch (each sgemm on one thread); big ones run one
//                                after another, each using all threads inside sgemm.
//   1-D operands, as torch.matmul: a vector a acts as [1, K] and b as [K, 1]; the 1 is dropped
//                                from the result.
#include "tensor/matmul.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "tensor/gemm.h"
#include "tensor/parallel.h"

namespace hd {

namespace {

// Below this many flops per product, sgemm runs on one thread anyway (the same threshold as in
// gemm.cpp), so the threads are better spent on different batch entries.
constexpr double kSmallProductFlops = 1.5e6;

// "[2, 3] @ [4, 5]^T": the operands as the user passed them, ^T marking a transposed one.
std::string operands_str(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  return shape_str(a.shape()) + (trans_a ? "^T" : "") + " @ " + shape_str(b.shape()) + (trans_b ? "^T" : "");
}

// For output batch index i (row-major over out_batch), the matrix index into an operand with batch
// shape `batch` (right-aligned, size-1 axes broadcast).
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& out_batch) {
  const auto nd = static_cast<int64_t>(out_batch.size());
  const int64_t lead = nd - static_cast<int64_t>(batch.size());
  // Matrix strides of the operand along each output batch axis; 0 where it broadcasts.
  std::vector<int64_t> stride(nd, 0);
  for (int64_t d = nd - 1, s = 1; d >= lead; --d) {
    int64_t size = batch[d - lead];
    stride[d] = size == 1 ? 0 : s;
    s *= size;
  }
  const int64_t count = shape_numel(out_batch);
  std::vector<int64_t> offsets(count);
  std::vector<int64_t> idx(nd, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    offsets[i] = offset;
    for (int64_t d = nd - 1; d >= 0; --d) {  // odometer step
      offset += stride[d];
      if (++idx[d] < out_batch[d]) break;
      offset -= stride[d] * out_batch[d];
      idx[d] = 0;
    }
  }
  return offsets;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  if (!a.defined() || !b.defined()) throw std::invalid_argument("matmul: got an undefined tensor");
  if (a.dim() == 0 || b.dim() == 0)
    throw std::invalid_argument(
        fmt::format("matmul: both operands need at least 1 dimension, got {}", operands_str(a, b, trans_a, trans_b)));
  if ((a.dim() == 1 && trans_a) || (b.dim() == 1 && trans_b))
    throw std::invalid_argument(
        fmt::format("matmul: a 1-dimensional operand cannot be transposed: {}", operands_str(a, b, trans_a, trans_b)));

  // Vectors become matrices: a [K] -> [1, K], b [K] -> [K, 1].
  const Tensor A = a.dim() == 1 ? a.reshape({1, a.numel()}) : a;
  const Tensor B = b.dim() == 1 ? b.reshape({b.numel(), 1}) : b;
  const int64_t a_rows = A.size(-2), a_cols = A.size(-1), b_rows = B.size(-2), b_cols = B.size(-1);
  const int64_t M = trans_a ? a_cols : a_rows, K = trans_a ? a_rows : a_cols;
  const int64_t N = trans_b ? b_rows : b_cols, K_b = trans_b ? b_cols : b_rows;
  if (K != K_b)
    throw std::invalid_argument(
        fmt::format("matmul: inner dimensions differ: {} (op(a) is [{}, {}], op(b) is [{}, {}])",
                    operands_str(a, b, trans_a, trans_b), M, K, K_b, N));

  // Batch axes broadcast against each other.
  const Shape a_batch(A.shape().begin(), A.shape().end() - 2), b_batch(B.shape().begin(), B.shape().end() - 2);
  const size_t nb = std::max(a_batch.size(), b_batch.size());
  Shape out_batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t x = i < nb - a_batch.size() ? 1 : a_batch[i - (nb - a_batch.size())];
    int64_t y = i < nb - b_batch.size() ? 1 : b_batch[i - (nb - b_batch.size())];
    if (x != y && x != 1 && y != 1)
      throw std::invalid_argument(fmt::format("matmul: batch dimensions {} and {} do not broadcast: {}",
                                              shape_str(a_batch), shape_str(b_batch),
                                              operands_str(a, b, trans_a, trans_b)));
    out_batch[i] = x == 1 ? y : x;
  }

  Shape out_shape = out_batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  check_shape(out_shape, "matmul");
  Tensor out(out_shape);
  // The result shape drops the 1 that a vector operand stood for.
  Shape final_shape = out_batch;
  if (a.dim() > 1) final_shape.push_back(M);
  if (b.dim() > 1) final_shape.push_back(N);
  if (out.numel() == 0) return out.reshape(final_shape);

  const int64_t batches = shape_numel(out_batch);
  const int64_t a_mats = shape_numel(a_batch), b_mats = shape_numel(b_batch);
  const float* ap = A.data();
  const float* bp = B.data();
  float* cp = out.data();

  if (!trans_a && b_mats == 1 && a_mats == batches) {
    // a's batch rows lie one after another: fold them into M for a single product.
    sgemm(false, trans_b, batches * M, N, K, 1.f, ap, a_cols, bp, b_cols, 0.f, cp, N);
    return out.reshape(final_shape);
  }

  const std::vector<int64_t> a_off = batch_offsets(a_batch, out_batch), b_off = batch_offsets(b_batch, out_batch);
  const int64_t a_size = a_rows * a_cols, b_size = b_rows * b_cols;
  const double flops = 2.0 * static_cast<double>(M) * N * K;
  const int threads = available_threads();
  // Across the batch when each product is too small for sgemm's own threads, or when the batch
  // splits evenly between threads; otherwise one product at a time with all threads in sgemm.
  const bool across_batch =
      threads > 1 && batches > 1 && flops * batches >= kSmallProductFlops &&
      (flops < kSmallProductFlops || batches % threads == 0);
  parallel_for(batches, across_batch, [&](int64_t i) {
    sgemm(trans_a, trans_b, M, N, K, 1.f, ap + a_off[i] * a_size, a_cols, bp + b_off[i] * b_size, b_cols, 0.f,
          cp + i * M * N, N);
  });
  return out.reshape(final_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !weight.defined()) throw std::invalid_argument("linear: got an undefined input or weight");
  if (x.dim() < 1 || weight.dim() != 2 || x.size(-1) != weight.size(1))
    throw std::invalid_argument(fmt::format("linear: expected input [..., in] and weight [out, in], got {} and {}",
                                            shape_str(x.shape()), shape_str(weight.shape())));
  const int64_t in = weight.size(1), out = weight.size(0);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    throw std::invalid_argument(fmt::format("linear: expected bias [{}] for weight {}, got {}", out,
                                            shape_str(weight.shape()), shape_str(bias.shape())));
  Shape out_shape = x.shape();
  out_shape.back() = out;
  check_shape(out_shape, "linear");
  Tensor y(out_shape);
  const int64_t rows = shape_numel(Shape(out_shape.begin(), out_shape.end() - 1));  // x's leading axes
  if (y.numel() == 0) return y;
  float* yp = y.data();
  if (bias.defined())
    for (int64_t r = 0; r < rows; ++r) std::copy_n(bias.data(), out, yp + r * out);
  sgemm(false, true, rows, out, in, 1.f, x.data(), in, weight.data(), in, bias.defined() ? 1.f : 0.f, yp, out);
  return y;
}

}  // namespace hd
