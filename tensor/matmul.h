// matmul.h — matrix products of tensors, on top of the GEMM kernel in gemm.h.
#pragma once

#include "tensor/tensor.h"

namespace hd {

// op(a) @ op(b), where op transposes the last two axes when asked (without copying:
// the GEMM reads the operand transposed).
//   2-D:     a: [M, K], b: [K, N] -> [M, N]
//   batched: a: [..., M, K], b: [..., K, N] -> [..., M, N], batch axes broadcast;
//            a 2-D operand is shared by every batch.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// A fully connected layer's forward, torch.nn.functional.linear: x @ weight^T + bias.
//   x: [..., in], weight: [out, in], bias: [out] or undefined -> [..., out]
// One sgemm: the output starts as copies of the bias row and the product is added to it (beta = 1),
// so the bias costs no pass of its own.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace hd
