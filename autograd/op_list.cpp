#include "autograd/op_list.h"

#include <string_view>
#include <unordered_set>

namespace hd {

const std::vector<std::string>& differentiable_ops() {
  static const std::vector<std::string> ops = {
      // elementwise.h
      "add", "sub", "mul", "div", "maximum", "minimum", "where", "add_scalar", "mul_scalar", "pow", "neg", "exp",
      "log", "log1p", "sqrt", "abs", "sin", "cos", "square", "clamp",
      // activation.h
      "relu", "leaky_relu", "sigmoid", "tanh", "silu", "gelu", "softplus", "erf",
      // reduction.h
      "sum", "mean", "max", "min", "var", "logsumexp", "softmax", "log_softmax", "expand", "sum_to",
      // shape.h
      "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "concat", "stack", "slice",
      "slice_scatter", "index_select0", "index_add0",
      // matmul.h
      "matmul", "linear",
      // convolution.h
      "conv2d", "conv_transpose2d", "conv2d_weight", "conv2d_input", "max_pool2d", "avg_pool2d",
      "avg_pool2d_backward", "upsample_nearest2d", "upsample_nearest2d_backward",
      // normalization.h
      "batch_norm",
      // loss.h
      "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss",
      "cross_entropy", "gaussian_kl",
  };
  return ops;
}

bool is_differentiable_op(const char* name) {
  static const std::unordered_set<std::string_view> set(differentiable_ops().begin(), differentiable_ops().end());
  return set.count(name) > 0;
}

}  // namespace hd
