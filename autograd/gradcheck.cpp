#include "autograd/gradcheck.h"

#include <fmt/format.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "tensor/random.h"

namespace hd {

static Tensor random_like(const Shape& shape, Generator& gen) {
  Tensor t(shape);
  gen.fill_normal(t.data(), t.numel());
  return t;
}

// Compares analytic against numeric gradients element by element; fills `result`.
static void compare(const std::vector<Tensor>& analytic, const std::vector<Tensor>& numeric,
                    const GradcheckOptions& options, GradcheckResult& result) {
  for (size_t k = 0; k < analytic.size(); ++k) {
    for (int64_t i = 0; i < numeric[k].numel(); ++i) {
      float a = analytic[k].defined() ? analytic[k].data()[i] : 0.f;
      float n = numeric[k].data()[i];
      double err = std::fabs(static_cast<double>(a) - n);
      result.max_error = std::max(result.max_error, err);
      if (result.ok && !(err <= options.atol + options.rtol * std::fabs(n))) {
        result.ok = false;
        result.message = fmt::format("input {} element {}: analytic {:.6g}, numeric {:.6g}", k, i, a, n);
      }
    }
  }
}

// Central differences of the scalar function `value` with respect to every element of every input.
static std::vector<Tensor> numeric_gradients(const std::function<double(const std::vector<Tensor>&)>& value,
                                             const std::vector<Tensor>& inputs, float eps) {
  std::vector<Tensor> work;
  for (const auto& x : inputs) work.push_back(x.clone());
  std::vector<Tensor> grads;
  for (size_t k = 0; k < work.size(); ++k) {
    Tensor g(work[k].shape());
    for (int64_t i = 0; i < work[k].numel(); ++i) {
      float saved = work[k].data()[i];
      work[k].data()[i] = saved + eps;
      double plus = value(work);
      work[k].data()[i] = saved - eps;
      double minus = value(work);
      work[k].data()[i] = saved;
      g.data()[i] = static_cast<float>((plus - minus) / (2.0 * eps));
    }
    grads.push_back(g);
  }
  return grads;
}

static std::vector<Variable> leaves(const std::vector<Tensor>& inputs) {
  std::vector<Variable> vars;
  for (const auto& x : inputs) vars.push_back(Variable(x.clone(), /*requires_grad=*/true));
  return vars;
}

static double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.data()[i]) * b.data()[i];
  return s;
}

GradcheckResult gradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  Generator gen(options.seed);
  Tensor upstream;
  {
    NoGradGuard no_grad;
    upstream = random_like(f(leaves(inputs)).shape(), gen);
  }
  std::vector<Variable> vars = leaves(inputs);
  f(vars).backward(Variable(upstream));
  std::vector<Tensor> analytic;
  for (const auto& v : vars) analytic.push_back(v.grad().defined() ? v.grad().data() : Tensor::zeros(v.shape()));

  auto loss = [&](const std::vector<Tensor>& xs) {
    NoGradGuard no_grad;
    std::vector<Variable> vs(xs.begin(), xs.end());
    return dot(f(vs).data(), upstream);
  };
  GradcheckResult result;
  compare(analytic, numeric_gradients(loss, inputs, options.eps), options, result);
  return result;
}

GradcheckResult gradgradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  Generator gen(options.seed);
  Tensor upstream;
  {
    NoGradGuard no_grad;
    upstream = random_like(f(leaves(inputs)).shape(), gen);
  }
  std::vector<Tensor> directions;
  for (const auto& x : inputs) directions.push_back(random_like(x.shape(), gen));

  // s(x) = sum_k <dL/dx_k, V_k>, with L = <f(x), R>.
  auto first_order = [&](const std::vector<Variable>& vars, bool create_graph) {
    return grad(f(vars), vars, Variable(upstream), {.retain_graph = false, .create_graph = create_graph});
  };

  auto value = [&](const std::vector<Tensor>& xs) {
    std::vector<Variable> g = first_order(leaves(xs), /*create_graph=*/false);
    double total = 0;
    for (size_t k = 0; k < g.size(); ++k)
      if (g[k].defined()) total += dot(g[k].data(), directions[k]);
    return total;
  };

  std::vector<Variable> vars = leaves(inputs);
  std::vector<Variable> grads = first_order(vars, /*create_graph=*/true);
  Variable s;
  for (size_t k = 0; k < grads.size(); ++k) {
    if (!grads[k].defined()) continue;
    Variable term = sum(grads[k] * Variable(directions[k]));
    s = s.defined() ? s + term : term;
  }
  // When no first derivative depends on x (a linear op), s has no graph and the second derivative is zero.
  std::vector<Tensor> analytic;
  std::vector<Variable> second;
  if (s.defined() && s.requires_grad()) second = grad(s, vars);
  for (size_t k = 0; k < inputs.size(); ++k)
    analytic.push_back(k < second.size() && second[k].defined() ? second[k].data() : Tensor::zeros(inputs[k].shape()));

  GradcheckResult result;
  compare(analytic, numeric_gradients(value, inputs, options.eps), options, result);
  return result;
}

}  // namespace hd
