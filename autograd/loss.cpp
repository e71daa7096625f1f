// Losses, composed from differentiable ops where that is exact and stable, and written as one op
// with its own backward rule where composing would lose precision (BCE with logits, NLL).
#include "autograd/loss.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "tensor/elementwise.h"

namespace hd {

using Grads = std::vector<Variable>;

Variable reduce(const Variable& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(losses);
    case Reduction::Sum: return sum(losses);
    case Reduction::None: return losses;
  }
  throw std::invalid_argument("reduce: unknown reduction");
}

static void check_target(const char* op, const Variable& input, const Variable& target) {
  if (input.shape() != target.shape())
    throw std::invalid_argument(fmt::format("{}: input {} and target {} must have the same shape", op,
                                            shape_str(input.shape()), shape_str(target.shape())));
}

Variable mse_loss(const Variable& input, const Variable& target, Reduction reduction) {
  check_target("mse_loss", input, target);
  return reduce(square(input - target), reduction);
}

Variable l1_loss(const Variable& input, const Variable& target, Reduction reduction) {
  check_target("l1_loss", input, target);
  return reduce(abs(input - target), reduction);
}

// dL/dp of binary cross-entropy, PyTorch's binary_cross_entropy_backward:
//   dL/dp = g (p - y) / max(p (1 - p), 1e-12)
// The clamp keeps it finite where p is exactly 0 or 1 (a sigmoid that rounded to 1), where the clamped
// logs of the forward have no derivative. Its own derivatives are PyTorch's double backward, with the
// same 1e-12 added rather than clamped (as PyTorch does):
//   d/dg = (p - y) / max(p (1 - p), 1e-12)
//   d/dp = g (p^2 - 2 p y + y) / ((p + 1e-12)^2 (1 - p + 1e-12)^2)
//   d/dy = -g / max(p (1 - p), 1e-12)
static Variable binary_cross_entropy_grad(const Variable& g, const Variable& p, const Variable& y) {
  constexpr float eps = 1e-12f;
  const Tensor denominator = hd::clamp(hd::mul(p.data(), hd::rsub(1.f, p.data())), eps, INFINITY);
  const Tensor dp = hd::div(hd::mul(g.data(), hd::sub(p.data(), y.data())), denominator);
  return record_op("binary_cross_entropy_backward", dp, {g, p, y}, [g, p, y](const Variable& gg, const Variable&) {
    const Variable denominator = clamp(p * (1.f - p), eps, INFINITY);
    const Variable d_g = binary_cross_entropy_grad(gg, p, y);  // linear in g
    const Variable d_p = gg * g * (square(p) - 2.f * p * y + y) / (square(p + eps) * square(1.f - p + eps));
    const Variable d_y = neg(gg * g / denominator);
    return Grads{d_g, d_p, d_y};
  });
}

// loss = -(y log p + (1 - y) log(1 - p)), each log clamped at -100 as in PyTorch, so that p = 0 or 1
// gives a large finite loss rather than inf.
//   dL/dp: binary_cross_entropy_grad above
//   dL/dy = log(1 - p) - log(p) = -logit(p), unclamped as in PyTorch (infinite at p = 0 or 1)
Variable binary_cross_entropy(const Variable& p, const Variable& target, Reduction reduction) {
  check_target("binary_cross_entropy", p, target);
  const Tensor log_p = hd::clamp(hd::log(p.data()), -100.f, INFINITY);
  const Tensor log_1mp = hd::clamp(hd::log(hd::rsub(1.f, p.data())), -100.f, INFINITY);
  const Tensor& y = target.data();
  const Tensor losses = hd::neg(hd::add(hd::mul(y, log_p), hd::mul(hd::rsub(1.f, y), log_1mp)));
  const bool need_p = p.requires_grad(), need_y = target.requires_grad();
  Variable per_element = record_op("binary_cross_entropy", losses, {p, target},
                                   [p, target, need_p, need_y](const Variable& g, const Variable&) {
    Variable dp, dy;
    if (need_p) dp = binary_cross_entropy_grad(g, p, target);
    if (need_y) dy = g * (log(1.f - p) - log(p));
    return Grads{dp, dy};
  });
  return reduce(per_element, reduction);
}

Variable binary_cross_entropy_with_logits(const Variable& x, const Variable& y, Reduction reduction) {
  check_target("binary_cross_entropy_with_logits", x, y);
  const bool need_x = x.requires_grad(), need_y = y.requires_grad();
  Tensor losses = hd::binary_cross_entropy_with_logits(x.data(), y.data());
  Variable per_element = record_op("binary_cross_entropy_with_logits", losses, {x, y},
                                   [x, y, need_x, need_y](const Variable& g, const Variable&, const BackwardContext& ctx) {
    // d/dx = sigmoid(x) - y,  d/dy = -x
    Variable dx, dy;
    if (need_x)  // a plain backward takes the one-pass kernel; under create_graph the rule is recorded
      dx = ctx.create_graph ? g * (sigmoid(x) - y)
                          : Variable(hd::binary_cross_entropy_with_logits_backward(g.data(), x.data(), y.data()));
    if (need_y) dy = neg(g * x);
    return Grads{dx, dy};
  });
  return reduce(per_element, reduction);
}

Variable nll_loss(const Variable& log_probs, const Tensor& target, Reduction reduction) {
  if (log_probs.dim() != 2 || target.dim() != 1 || target.size(0) != log_probs.size(0))
    throw std::invalid_argument(fmt::format("nll_loss: expected log_probs [N, C] and target [N], got {} and {}",
                                            shape_str(log_probs.shape()), shape_str(target.shape())));
  const int64_t n = log_probs.size(0), c = log_probs.size(1);
  // pick[i, j] = 1 where j is sample i's class: the loss is -sum(pick * log_probs) per row.
  Tensor pick = Tensor::zeros({n, c});
  for (int64_t i = 0; i < n; ++i) {
    float t = target.data()[i];
    auto k = static_cast<int64_t>(t);
    if (t != static_cast<float>(k) || k < 0 || k >= c)
      throw std::invalid_argument(fmt::format("nll_loss: target {} of sample {} is not a class index in [0, {})", t, i, c));
    pick.data()[i * c + k] = 1.f;
  }
  Variable per_sample = neg(sum(log_probs * Variable(pick), {1}));
  return reduce(per_sample, reduction);
}

Variable cross_entropy(const Variable& logits, const Tensor& target, Reduction reduction) {
  if (logits.dim() != 2)
    throw std::invalid_argument(fmt::format("cross_entropy: expected logits [N, C], got {}", shape_str(logits.shape())));
  return nll_loss(log_softmax(logits, 1), target, reduction);
}

Variable gaussian_kl(const Variable& mu, const Variable& logvar, Reduction reduction) {
  check_target("gaussian_kl", mu, logvar);
  return reduce(mul(1.f + logvar - square(mu) - exp(logvar), -0.5f), reduction);
}

}  // namespace hd
