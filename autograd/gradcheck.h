// gradcheck.h — checking backward rules against finite differences.
//
// For a function f of some tensors, pick a fixed random "upstream gradient" R and look at the
// scalar L(x) = sum(f(x) * R). Backward gives dL/dx; the central difference
//     (L(x + h e_i) - L(x - h e_i)) / 2h
// estimates the same number for each element i. They must agree, up to the error of the estimate.
//
// Tolerances, for float32: with h = 1e-2 the truncation error is O(h^2) ~ 1e-4 of the third
// derivative and the rounding error of L (float32 sums, ~1e-7 relative) divided by 2h stays below
// ~1e-4 for the small inputs tests use; a wrong rule is off by O(1). So an element passes when
//     |analytic - numeric| <= atol + rtol * |numeric|,  atol = 1e-2, rtol = 1e-2.
// Keep inputs away from kinks (0 for relu/abs, ties for max): there a finite difference straddles
// two slopes and means nothing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace hd {

using DifferentiableFn = std::function<Variable(const std::vector<Variable>&)>;

struct GradcheckOptions {
  float eps = 1e-2f;
  float atol = 1e-2f;
  float rtol = 1e-2f;
  uint64_t seed = 0;  // for the random upstream gradient R
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0.0;  // the largest |analytic - numeric| seen
  std::string message;     // the first mismatch: input, element, both values
};

// First derivatives of f at `inputs`.
GradcheckResult gradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// Second derivatives: differentiates s(x) = sum(dL/dx * V) (for a random V) with create_graph and
// compares with central differences of s computed from first-order gradients.
GradcheckResult gradgradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace hd
