// autograd/matmul.h — differentiable matrix products.
#pragma once

#include "autograd/variable.h"

namespace hd {

// C = op(A) @ op(B), op = optional transpose of the last two axes (tensor/matmul.h for shapes).
// Backward, for C = A @ B:  dA = dC @ B^T,  dB = A^T @ dC — again matmuls, with the transposes
// folded into the flags so no transposed copy is ever made.
Variable matmul(const Variable& a, const Variable& b, bool trans_a = false, bool trans_b = false);

// A fully connected layer: x: [N, in], weight: [out, in], bias: [out] or undefined -> [N, out].
// y = x @ W^T + b, as torch.nn.functional.linear.
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = Variable());

}  // namespace hd
