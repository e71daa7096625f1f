// Activations: forward kernel and backward rule side by side. Rules that reuse the output
// (sigmoid, tanh) save it instead of recomputing.
#include "autograd/activation.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "tensor/elementwise.h"

namespace hd {

using Grads = std::vector<Variable>;

// dy/dx = 1 where x > 0, else 0. Without create_graph the product with that mask is one fused pass.
Variable relu(const Variable& x) {
  return record_op("relu", hd::relu(x.data()), {x}, [x](const Variable& g, const Variable&, const BackwardContext& ctx) {
    if (!ctx.create_graph) return Grads{Variable(hd::relu_backward(g.data(), x.data()))};
    return Grads{g * Variable(hd::gt(x.data(), 0.f))};
  });
}

Variable leaky_relu(const Variable& x, float slope) {
  Tensor positive = hd::gt(x.data(), 0.f);
  // factor = 1 where x > 0, slope elsewhere; y = x * factor and dy/dx = factor.
  Tensor factor = hd::add(hd::mul(positive, 1.f - slope), slope);
  return record_op("leaky_relu", hd::mul(x.data(), factor), {x},
                   [factor](const Variable& g, const Variable&) { return Grads{g * Variable(factor)}; });
}

Variable sigmoid(const Variable& x) {
  return record_op(
      "sigmoid", hd::sigmoid(x.data()), {x},
      [](const Variable& g, const Variable& s) { return Grads{g * s * (1.f - s)}; }, /*save_output=*/true);
}

Variable tanh(const Variable& x) {
  return record_op(
      "tanh", hd::tanh(x.data()), {x},
      [](const Variable& g, const Variable& t) { return Grads{g * (1.f - square(t))}; }, /*save_output=*/true);
}

// y = x s, s = sigmoid(x); dy/dx = s (1 + x (1 - s)): one pass each way, or written with differentiable ops when
// the gradient is itself differentiated.
Variable silu(const Variable& x) {
  return record_op("silu", hd::silu(x.data()), {x}, [x](const Variable& g, const Variable&, const BackwardContext& ctx) {
    if (!ctx.create_graph) return Grads{Variable(hd::silu_backward(g.data(), x.data()))};
    const Variable s = sigmoid(x);
    return Grads{g * s * (1.f + x * (1.f - s))};
  });
}

Variable erf(const Variable& x) {
  return record_op("erf", hd::erf(x.data()), {x}, [x](const Variable& g, const Variable&) {
    return Grads{g * mul(exp(neg(square(x))), 2.f / std::sqrt(static_cast<float>(M_PI)))};
  });
}

// gelu(x) = x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2, composed so every derivative follows.
Variable gelu(const Variable& x) { return x * mul(add(erf(mul(x, static_cast<float>(M_SQRT1_2))), 1.f), 0.5f); }

Variable softplus(const Variable& x) {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows.
  Tensor out = hd::add(hd::relu(x.data()), hd::log1p(hd::exp(hd::neg(hd::abs(x.data())))));
  return record_op("softplus", out, {x}, [x](const Variable& g, const Variable&) { return Grads{g * sigmoid(x)}; });
}

}  // namespace hd
