#include "autograd/matmul.h"

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "tensor/matmul.h"

namespace hd {

using Grads = std::vector<Variable>;

Variable matmul(const Variable& a, const Variable& b, bool ta, bool tb) {
  // A vector operand, as in PyTorch: a [K] is the matrix [1, K], b [K] the matrix [K, 1], and the added
  // axis is removed from the result. The promotion is done here with differentiable reshapes, so the
  // rule below only ever sees matrices (it transposes its operands, which a vector cannot be).
  // (A vector asked to be transposed is refused by the kernel.)
  const bool a_vector = a.dim() == 1 && !ta, b_vector = b.dim() == 1 && !tb;
  if (a_vector || b_vector) {
    Variable c = matmul(a_vector ? reshape(a, {1, a.size(0)}) : a, b_vector ? reshape(b, {b.size(0), 1}) : b, ta, tb);
    Shape shape = c.shape();
    if (b_vector) shape.erase(shape.end() - 1);                    // the N = 1 column
    if (a_vector) shape.erase(shape.end() - (b_vector ? 1 : 2));   // the M = 1 row
    return reshape(c, shape);
  }
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record_op("matmul", hd::matmul(a.data(), b.data(), ta, tb), {a, b},
                   [a, b, ta, tb, need_a, need_b](const Variable& g, const Variable&) {
                     // The four cases of C = op(A) op(B), each gradient a matmul with flags:
                     //   C = A B      dA = g B^T     dB = A^T g
                     //   C = A B^T    dA = g B       dB = g^T A
                     //   C = A^T B    dA = B g^T     dB = A g
                     //   C = A^T B^T  dA = B^T g^T   dB = g^T A^T
                     Variable da, db;
                     if (need_a) da = ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
                     if (need_b) db = tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
                     // Batch axes that were broadcast are summed back.
                     return Grads{da.defined() ? sum_to(da, a.shape()) : da, db.defined() ? sum_to(db, b.shape()) : db};
                   });
}

// y = x W^T + b, with the rows of x (all its leading axes) as a batch of R samples:
//   dx = g W          dW = g^T x  (summed over the R rows)          db = sum of g over the R rows
// One op rather than matmul + add, so that the bias rides along in the GEMM (tensor/matmul.h) and its
// gradient is a single column sum.
Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  const Tensor no_bias;
  Tensor y = hd::linear(x.data(), weight.data(), bias.defined() ? bias.data() : no_bias);
  bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  const Shape lead(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = shape_numel(lead);
  return record_op("linear", y, {x, weight, bias},
                   [x, weight, rows, need_x, need_w, need_b](const Variable& g, const Variable&) {
                     Variable rows_g = reshape(g, {rows, weight.size(0)});
                     Variable dx, dw, db;
                     if (need_x) dx = matmul(g, weight);
                     if (need_w) dw = matmul(rows_g, reshape(x, {rows, weight.size(1)}), true, false);
                     if (need_b) db = sum(rows_g, {0});
                     return Grads{dx, dw, db};
                   });
}

}  // namespace hd
