// Differentiable elementwise ops: each forward calls a tensor kernel and records, right below,
// its backward rule written with differentiable ops (so gradients can be differentiated again).
#include "autograd/elementwise.h"

#include "autograd/reduction.h"
#include "tensor/elementwise.h"

namespace hd {

using Grads = std::vector<Variable>;

// ---- binary, broadcasting: gradients are summed back to each input's shape ----

Variable add(const Variable& a, const Variable& b) {
  return record_op("add", hd::add(a.data(), b.data()), {a, b},
                   [sa = a.shape(), sb = b.shape()](const Variable& g, const Variable&) {
                     return Grads{sum_to(g, sa), sum_to(g, sb)};
                   });
}

Variable sub(const Variable& a, const Variable& b) {
  return record_op("sub", hd::sub(a.data(), b.data()), {a, b},
                   [sa = a.shape(), sb = b.shape()](const Variable& g, const Variable&) {
                     return Grads{sum_to(g, sa), sum_to(neg(g), sb)};
                   });
}

Variable mul(const Variable& a, const Variable& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record_op("mul", hd::mul(a.data(), b.data()), {a, b}, [a, b, need_a, need_b](const Variable& g, const Variable&) {
    return Grads{need_a ? sum_to(g * b, a.shape()) : Variable(), need_b ? sum_to(g * a, b.shape()) : Variable()};
  });
}

Variable div(const Variable& a, const Variable& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record_op("div", hd::div(a.data(), b.data()), {a, b}, [a, b, need_a, need_b](const Variable& g, const Variable&) {
    // d(a/b)/db = -a / b^2
    return Grads{need_a ? sum_to(g / b, a.shape()) : Variable(),
                 need_b ? sum_to(neg(g * a / square(b)), b.shape()) : Variable()};
  });
}

// max(a, b): the gradient goes to whichever is larger; on a tie each gets half, as in PyTorch.
static Variable extremum(const char* op, const Variable& a, const Variable& b, bool is_max) {
  Tensor out = is_max ? hd::maximum(a.data(), b.data()) : hd::minimum(a.data(), b.data());
  return record_op(op, out, {a, b}, [a, b, is_max](const Variable& g, const Variable&) {
    Tensor wins = is_max ? hd::gt(a.data(), b.data()) : hd::lt(a.data(), b.data());
    Tensor ties = hd::eq(a.data(), b.data());
    Tensor share_a = hd::add(wins, hd::mul(ties, 0.5f));  // 1 where a wins, 0.5 on ties, 0 where b wins
    Tensor share_b = hd::rsub(1.f, share_a);
    return Grads{sum_to(g * Variable(share_a), a.shape()), sum_to(g * Variable(share_b), b.shape())};
  });
}
Variable maximum(const Variable& a, const Variable& b) { return extremum("maximum", a, b, true); }
Variable minimum(const Variable& a, const Variable& b) { return extremum("minimum", a, b, false); }

Variable where(const Tensor& cond, const Variable& a, const Variable& b) {
  return record_op("where", hd::where(cond, a.data(), b.data()), {a, b}, [cond, a, b](const Variable& g, const Variable&) {
    Tensor zero = Tensor::zeros({});
    return Grads{sum_to(where(cond, g, Variable(zero)), a.shape()), sum_to(where(cond, Variable(zero), g), b.shape())};
  });
}

// ---- with a scalar ----

Variable add(const Variable& a, float s) {
  return record_op("add_scalar", hd::add(a.data(), s), {a}, [](const Variable& g, const Variable&) { return Grads{g}; });
}

Variable mul(const Variable& a, float s) {
  return record_op("mul_scalar", hd::mul(a.data(), s), {a},
                   [s](const Variable& g, const Variable&) { return Grads{mul(g, s)}; });
}

// d(a^p)/da = p a^(p-1). For p = 0 the derivative is 0 everywhere, also at a = 0 where the formula
// would read 0 * 0^-1 = 0 * inf = nan (PyTorch returns zeros there too). This also makes the second
// derivative of a^1 at 0 come out 0: it is the derivative of 1 * a^0.
Variable pow(const Variable& a, float p) {
  return record_op("pow", hd::pow(a.data(), p), {a}, [a, p](const Variable& g, const Variable&) {
    if (p == 0.f) return Grads{Variable(Tensor::zeros(a.shape()))};
    return Grads{g * mul(pow(a, p - 1.f), p)};
  });
}

// ---- unary ----

Variable neg(const Variable& a) {
  return record_op("neg", hd::neg(a.data()), {a}, [](const Variable& g, const Variable&) { return Grads{neg(g)}; });
}

Variable exp(const Variable& a) {
  return record_op(
      "exp", hd::exp(a.data()), {a}, [](const Variable& g, const Variable& out) { return Grads{g * out}; },
      /*save_output=*/true);
}

Variable log(const Variable& a) {
  return record_op("log", hd::log(a.data()), {a}, [a](const Variable& g, const Variable&) { return Grads{g / a}; });
}

Variable log1p(const Variable& a) {
  return record_op("log1p", hd::log1p(a.data()), {a},
                   [a](const Variable& g, const Variable&) { return Grads{g / add(a, 1.f)}; });
}

Variable sqrt(const Variable& a) {
  return record_op(
      "sqrt", hd::sqrt(a.data()), {a},
      [](const Variable& g, const Variable& out) { return Grads{g / mul(out, 2.f)}; }, /*save_output=*/true);
}

Variable abs(const Variable& a) {
  return record_op("abs", hd::abs(a.data()), {a},
                   [a](const Variable& g, const Variable&) { return Grads{g * Variable(hd::sign(a.data()))}; });
}

Variable sin(const Variable& a) {
  return record_op("sin", hd::sin(a.data()), {a}, [a](const Variable& g, const Variable&) { return Grads{g * cos(a)}; });
}

Variable cos(const Variable& a) {
  return record_op("cos", hd::cos(a.data()), {a},
                   [a](const Variable& g, const Variable&) { return Grads{neg(g * sin(a))}; });
}

Variable square(const Variable& a) {
  return record_op("square", hd::square(a.data()), {a},
                   [a](const Variable& g, const Variable&) { return Grads{g * mul(a, 2.f)}; });
}

Variable clamp(const Variable& a, float lo, float hi) {
  return record_op("clamp", hd::clamp(a.data(), lo, hi), {a}, [a, lo, hi](const Variable& g, const Variable&) {
    Tensor inside = hd::mul(hd::ge(a.data(), lo), hd::le(a.data(), hi));
    return Grads{g * Variable(inside)};
  });
}

}  // namespace hd
