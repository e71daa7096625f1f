#include "autograd/matmul.h"

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "tensor/matmul.h"

namespace hd {

using Grads = std::vector<Variable>;

Variable matmul(const Variable& a, const Variable& b, bool ta, bool tb) {
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

Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  Variable y = matmul(x, weight, false, true);
  return bias.defined() ? y + bias : y;
}

}  // namespace hd
