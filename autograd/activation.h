// autograd/activation.h — the nonlinearities between layers, with their derivatives.
#pragma once

#include "autograd/variable.h"

namespace hd {

Variable relu(const Variable& x);                               // max(0, x); d/dx = [x > 0]
Variable leaky_relu(const Variable& x, float slope = 0.01f);    // x if x > 0 else slope * x
Variable sigmoid(const Variable& x);                            // 1/(1+e^-x); d/dx = s (1 - s)
Variable tanh(const Variable& x);                               // d/dx = 1 - tanh^2
Variable silu(const Variable& x);                               // x sigmoid(x) (swish); d/dx = s (1 + x (1 - s))
Variable gelu(const Variable& x);                               // x * Phi(x), Phi the normal CDF (exact, erf form)
Variable softplus(const Variable& x);                           // log(1 + e^x); d/dx = sigmoid(x)
Variable erf(const Variable& x);                                // d/dx = 2/sqrt(pi) e^(-x^2)

}  // namespace hd
