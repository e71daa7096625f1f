// op_cases.h — one entry per test case of a differentiable op, shared by the finite-difference
// gradchecks (test_gradcheck.cpp) and the PyTorch fixture tests (test_op_fixtures.cpp).
//
// Each case has the same name as in tests/reference/make_op_fixtures.py, which draws its inputs
// (x0, x1, ... differentiable; c0, ... constants) and stores them with PyTorch's outputs, gradients
// and second derivatives in tests/fixtures/ops.safetensors. `op` names the function of autograd/
// the case calls; test_op_coverage.cpp checks that every function declared in autograd/ has a case
// and that every name recorded with record_op is reached by one.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "autograd/activation.h"
#include "autograd/convolution.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/matmul.h"
#include "autograd/normalization.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"

namespace hd::test {

using Vars = std::vector<Variable>;
using Consts = std::vector<Tensor>;

struct OpCase {
  std::string name;
  std::string op;
  std::function<Variable(const Vars& x, const Consts& c)> fn;
  bool twice_differentiable = true;  // also check second derivatives (gradgradcheck, PyTorch's values)
  // False for a case at a point where the op is not differentiable (p = 0 in BCE): there a finite
  // difference means nothing, and the case is compared with PyTorch's values only.
  bool finite_differences = true;
};

// Shown by GoogleTest when a parameterised test fails.
inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name << " (" << c.op << ")"; }

inline const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = {
      // elementwise
      {"add_broadcast", "add", [](const Vars& x, const Consts&) { return x[0] + x[1]; }},
      {"sub_broadcast", "sub", [](const Vars& x, const Consts&) { return x[0] - x[1]; }},
      {"mul_broadcast", "mul", [](const Vars& x, const Consts&) { return x[0] * x[1]; }},
      {"div_broadcast", "div", [](const Vars& x, const Consts&) { return x[0] / x[1]; }},
      {"maximum", "maximum", [](const Vars& x, const Consts&) { return maximum(x[0], x[1]); }},
      {"minimum", "minimum", [](const Vars& x, const Consts&) { return minimum(x[0], x[1]); }},
      {"where", "where", [](const Vars& x, const Consts& c) { return where(c[0], x[0], x[1]); }},
      {"add_scalar", "add", [](const Vars& x, const Consts&) { return x[0] + 1.5f; }},
      {"mul_scalar", "mul", [](const Vars& x, const Consts&) { return x[0] * -2.5f; }},
      {"pow", "pow", [](const Vars& x, const Consts&) { return pow(x[0], 2.5f); }},
      // pow's derivative p x^(p-1) at x = 0: 0 for p = 0 (not 0 * inf), and the second derivative of x^1 is 0
      {"pow_zero", "pow", [](const Vars& x, const Consts&) { return pow(x[0], 0.f); }},
      {"pow_one", "pow", [](const Vars& x, const Consts&) { return pow(x[0], 1.f); }},
      {"neg", "neg", [](const Vars& x, const Consts&) { return -x[0]; }},
      {"exp", "exp", [](const Vars& x, const Consts&) { return exp(x[0]); }},
      {"log", "log", [](const Vars& x, const Consts&) { return log(x[0]); }},
      {"log1p", "log1p", [](const Vars& x, const Consts&) { return log1p(x[0]); }},
      {"sqrt", "sqrt", [](const Vars& x, const Consts&) { return sqrt(x[0]); }},
      {"abs", "abs", [](const Vars& x, const Consts&) { return abs(x[0]); }},
      {"sin", "sin", [](const Vars& x, const Consts&) { return sin(x[0]); }},
      {"cos", "cos", [](const Vars& x, const Consts&) { return cos(x[0]); }},
      {"square", "square", [](const Vars& x, const Consts&) { return square(x[0]); }},
      {"clamp", "clamp", [](const Vars& x, const Consts&) { return clamp(x[0], -0.5f, 0.5f); }},
      {"erf", "erf", [](const Vars& x, const Consts&) { return erf(x[0]); }},
      // activation
      {"relu", "relu", [](const Vars& x, const Consts&) { return relu(x[0]); }},
      {"leaky_relu", "leaky_relu", [](const Vars& x, const Consts&) { return leaky_relu(x[0], 0.1f); }},
      {"sigmoid", "sigmoid", [](const Vars& x, const Consts&) { return sigmoid(x[0]); }},
      {"tanh", "tanh", [](const Vars& x, const Consts&) { return tanh(x[0]); }},
      {"silu", "silu", [](const Vars& x, const Consts&) { return silu(x[0]); }},
      {"gelu", "gelu", [](const Vars& x, const Consts&) { return gelu(x[0]); }},
      {"softplus", "softplus", [](const Vars& x, const Consts&) { return softplus(x[0]); }},
      // reduction
      {"sum_all", "sum", [](const Vars& x, const Consts&) { return sum(x[0]); }},
      {"sum_axes", "sum", [](const Vars& x, const Consts&) { return sum(x[0], {0, 2}); }},
      {"sum_keepdim", "sum", [](const Vars& x, const Consts&) { return sum(x[0], {-1}, true); }},
      {"mean", "mean", [](const Vars& x, const Consts&) { return mean(x[0], {1}); }},
      {"mean_empty", "mean", [](const Vars& x, const Consts&) { return mean(x[0], {0}); }},  // 0 / 0 = nan
      {"max", "max", [](const Vars& x, const Consts&) { return max(x[0], {1}); }},
      {"min", "min", [](const Vars& x, const Consts&) { return min(x[0], {0}, true); }},
      {"var", "var", [](const Vars& x, const Consts&) { return var(x[0], {1}); }},
      {"logsumexp", "logsumexp", [](const Vars& x, const Consts&) { return logsumexp(x[0], {1}); }},
      {"softmax", "softmax", [](const Vars& x, const Consts&) { return softmax(x[0], 1); }},
      {"log_softmax", "log_softmax", [](const Vars& x, const Consts&) { return log_softmax(x[0], 0); }},
      {"expand", "expand", [](const Vars& x, const Consts&) { return expand(x[0], {2, 3, 4}); }},
      {"sum_to", "sum_to", [](const Vars& x, const Consts&) { return sum_to(x[0], {3, 1}); }},
      // shape
      {"reshape", "reshape", [](const Vars& x, const Consts&) { return reshape(x[0], {3, 4}); }},
      {"flatten", "flatten", [](const Vars& x, const Consts&) { return flatten(x[0], 1); }},
      {"squeeze", "squeeze", [](const Vars& x, const Consts&) { return squeeze(x[0], 1); }},
      {"unsqueeze", "unsqueeze", [](const Vars& x, const Consts&) { return unsqueeze(x[0], 0); }},
      {"permute", "permute", [](const Vars& x, const Consts&) { return permute(x[0], {2, 0, 1}); }},
      {"transpose", "transpose", [](const Vars& x, const Consts&) { return transpose(x[0], 0, 1); }},
      {"concat", "concat", [](const Vars& x, const Consts&) { return concat({x[0], x[1]}, 0); }},
      {"stack", "stack", [](const Vars& x, const Consts&) { return stack({x[0], x[1]}, 1); }},
      {"slice", "slice", [](const Vars& x, const Consts&) { return slice(x[0], 0, 1, 5, 2); }},
      {"slice_scatter", "slice_scatter", [](const Vars& x, const Consts&) { return slice_scatter(x[0], {5, 4}, 0, 1, 5, 2); }},
      {"index_select0", "index_select0", [](const Vars& x, const Consts& c) { return index_select0(x[0], c[0]); }},
      {"index_add0", "index_add0", [](const Vars& x, const Consts& c) { return index_add0(x[0], c[0], 5); }},
      // matmul
      {"matmul_nn", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_nt", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1], false, true); }},
      {"matmul_tn", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1], true, false); }},
      {"matmul_tt", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1], true, true); }},
      {"matmul_batched", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_batched_both", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      // a vector operand, as PyTorch: [K] is a [1, K] row on the left, a [K, 1] column on the right
      {"matmul_vec_mat", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_mat_vec", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_vec_vec", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_batched_vec", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_vec_batched", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1]); }},
      {"matmul_tn_vec", "matmul", [](const Vars& x, const Consts&) { return matmul(x[0], x[1], true, false); }},
      {"linear", "linear", [](const Vars& x, const Consts&) { return linear(x[0], x[1], x[2]); }},
      {"linear_vector", "linear", [](const Vars& x, const Consts&) { return linear(x[0], x[1], x[2]); }},
      // convolution
      {"conv2d", "conv2d", [](const Vars& x, const Consts&) { return conv2d(x[0], x[1], x[2], 2, 1); }},
      {"conv2d_dilated", "conv2d", [](const Vars& x, const Consts&) { return conv2d(x[0], x[1], Variable(), 1, 2, 2); }},
      {"conv_transpose2d", "conv_transpose2d",
       [](const Vars& x, const Consts&) { return conv_transpose2d(x[0], x[1], x[2], 2, 1, 1); }},
      // output_padding 1 >= stride 1, allowed because it is below the dilation 2
      {"conv_transpose2d_output_padding_above_stride", "conv_transpose2d",
       [](const Vars& x, const Consts&) { return conv_transpose2d(x[0], x[1], x[2], 1, 0, 1, 2); }},
      {"conv_transpose2d_strided_output_padding", "conv_transpose2d",
       [](const Vars& x, const Consts&) { return conv_transpose2d(x[0], x[1], Variable(), 2, 1, 2, 3); }},
      {"conv2d_weight", "conv2d_weight", [](const Vars& x, const Consts&) { return conv2d_weight(x[0], x[1], {4, 3, 3, 3}, 2, 1); }},
      {"conv2d_input", "conv2d_input", [](const Vars& x, const Consts&) { return conv2d_input(x[0], x[1], {2, 3, 6, 5}, 2, 1); }},
      {"max_pool2d", "max_pool2d", [](const Vars& x, const Consts&) { return max_pool2d(x[0], 2, 2); }, false},
      {"max_pool2d_padded", "max_pool2d", [](const Vars& x, const Consts&) { return max_pool2d(x[0], 3, 2, 1); }, false},
      {"avg_pool2d", "avg_pool2d", [](const Vars& x, const Consts&) { return avg_pool2d(x[0], 3, 2, 1); }},
      {"avg_pool2d_backward", "avg_pool2d_grad",
       [](const Vars& x, const Consts&) { return avg_pool2d_grad(x[0], {2, 2, 5, 6}, 3, 2, 1); }},
      {"upsample_nearest2d", "upsample_nearest2d", [](const Vars& x, const Consts&) { return upsample_nearest2d(x[0], 2); }},
      {"upsample_nearest2d_backward", "upsample_nearest2d_grad",
       [](const Vars& x, const Consts&) { return upsample_nearest2d_grad(x[0], 2); }},
      // normalization
      {"batch_norm_train", "batch_norm",
       [](const Vars& x, const Consts&) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], /*training=*/true); }},
      {"batch_norm_train_1d_no_affine", "batch_norm",
       [](const Vars& x, const Consts&) { return batch_norm(x[0], Tensor(), Tensor(), Variable(), Variable(), true); }},
      {"batch_norm_eval", "batch_norm",
       [](const Vars& x, const Consts& c) { return batch_norm(x[0], c[0], c[1], x[1], x[2], /*training=*/false, 0.1f, 1e-3f); }},
      {"group_norm", "group_norm", [](const Vars& x, const Consts&) { return group_norm(x[0], 2, x[1], x[2]); }},
      // one group per channel (instance norm) on a sequence, no affine, another eps
      {"group_norm_per_channel_no_affine", "group_norm",
       [](const Vars& x, const Consts&) { return group_norm(x[0], 3, Variable(), Variable(), 1e-3f); }},
      // one group (layer norm over C, H, W), a single sample
      {"group_norm_one_group", "group_norm", [](const Vars& x, const Consts&) { return group_norm(x[0], 1, x[1], x[2]); }},
      // loss
      {"mse_loss", "mse_loss", [](const Vars& x, const Consts&) { return mse_loss(x[0], x[1]); }},
      {"l1_loss", "l1_loss", [](const Vars& x, const Consts&) { return l1_loss(x[0], x[1], Reduction::Sum); }},
      {"binary_cross_entropy", "binary_cross_entropy",
       [](const Vars& x, const Consts&) { return binary_cross_entropy(x[0], x[1], Reduction::None); }},
      // p exactly 0 or 1, and below 1e-12, where PyTorch clamps the derivative's denominator at 1e-12
      {"binary_cross_entropy_saturated", "binary_cross_entropy",
       [](const Vars& x, const Consts& c) { return binary_cross_entropy(x[0], c[0], Reduction::None); }, true,
       /*finite_differences=*/false},
      // a sigmoid that rounds to exactly 1 or 0 (x = 20, -110): finite gradients
      {"binary_cross_entropy_of_sigmoid", "binary_cross_entropy",
       [](const Vars& x, const Consts& c) { return binary_cross_entropy(sigmoid(x[0]), c[0], Reduction::Sum); }, true,
       /*finite_differences=*/false},
      {"binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits",
       [](const Vars& x, const Consts&) { return binary_cross_entropy_with_logits(x[0], x[1]); }},
      {"nll_loss", "nll_loss", [](const Vars& x, const Consts& c) { return nll_loss(x[0], c[0]); }},
      {"cross_entropy", "cross_entropy", [](const Vars& x, const Consts& c) { return cross_entropy(x[0], c[0], Reduction::Sum); }},
      {"gaussian_kl", "gaussian_kl", [](const Vars& x, const Consts&) { return gaussian_kl(x[0], x[1]); }},
  };
  return cases;
}

}  // namespace hd::test
