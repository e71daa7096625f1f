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

}  // namespace hd
