// Normalisation family: batch_norm's and group_norm's forwards with the kernels of tensor/normalization.h, each
// backward rule right below its forward.
#include "autograd/normalization.h"

#include <fmt/format.h>

#include <stdexcept>
#include <tuple>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "tensor/normalization.h"

namespace hd {

using Grads = std::vector<Variable>;

namespace {

// A per-channel tensor: [C], or undefined when `optional`.
void check_per_channel(const Shape& shape, bool defined, const Shape& x, const char* what, bool optional) {
  if (!defined) {
    if (optional) return;
    throw std::invalid_argument(fmt::format("batch_norm: {} is undefined, expected shape [{}]", what, x[1]));
  }
  if (shape != Shape{x[1]})
    throw std::invalid_argument(fmt::format("batch_norm: {} must have shape [{}] (one value per channel of input {}), "
                                            "got {}",
                                            what, x[1], shape_str(x), shape_str(shape)));
}

// Every axis of x: [N, C, *] except the channel axis 1: the axes the statistics are taken over.
Axes statistics_axes(int64_t dim) {
  Axes axes;
  for (int64_t d = 0; d < dim; ++d)
    if (d != 1) axes.push_back(d);
  return axes;
}

// [1, C] or [1, C, 1] or [1, C, 1, 1]: a per-channel [C] viewed so that it broadcasts against x.
Shape channel_shape(const Shape& x) {
  Shape shape(x.size(), 1);
  shape[1] = x[1];
  return shape;
}

// batch_norm's gradients written with differentiable ops, for backward with create_graph (second
// derivatives). Same formulas as batch_norm_backward (tensor/normalization.h); in training the batch's
// mean and inv_std are computed again from x, so that their own dependence on x is part of the graph.
// `mean` and `inv_std` ([C], constants) are used only in evaluation.
Grads batch_norm_grads_differentiable(const Variable& g, const Variable& x, const Variable& weight,
                                      const Tensor& mean, const Tensor& inv_std, bool training, float eps) {
  const Axes axes = statistics_axes(x.dim());
  const Shape per_channel = channel_shape(x.shape());
  Variable centered, inv_sd;
  if (training) {
    centered = x - hd::mean(x, axes, /*keepdim=*/true);
    inv_sd = pow(hd::mean(square(centered), axes, /*keepdim=*/true) + eps, -0.5f);
  } else {
    centered = x - Variable(mean.reshape(per_channel));
    inv_sd = Variable(inv_std.reshape(per_channel));
  }
  Variable xhat = centered * inv_sd;
  Variable gw = weight.defined() ? g * reshape(weight, per_channel) : g;
  Variable dx = training ? inv_sd * (gw - hd::mean(gw, axes, true) - xhat * hd::mean(gw * xhat, axes, true))
                         : gw * inv_sd;
  return Grads{dx, sum(g * xhat, axes), sum(g, axes)};
}

// A normalisation's inputs: x, then weight and bias where given; and of its three gradients (dx, dweight, dbias)
// those of the inputs given, in the same order.
std::vector<Variable> inputs_given(const Variable& x, const Variable& weight, const Variable& bias) {
  std::vector<Variable> inputs{x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  return inputs;
}

Grads grads_of_inputs_given(const Grads& grads, const Variable& weight, const Variable& bias) {
  Grads out{grads[0]};
  if (weight.defined()) out.push_back(grads[1]);
  if (bias.defined()) out.push_back(grads[2]);
  return out;
}

}  // namespace

// Forward: y = (x - mean) * inv_std * weight + bias, inv_std = 1 / sqrt(var + eps), with the batch's
// statistics (training) or the running ones (evaluation).
// Backward (xhat = (x - mean) * inv_std, gw = g * weight, means per channel):
//   training:   dx = inv_std * (gw - mean(gw) - xhat * mean(gw * xhat))
//               (the last two terms are the paths through the batch mean and variance)
//   evaluation: dx = inv_std * gw
//   dweight = sum(g * xhat), dbias = sum(g)
Variable batch_norm(const Variable& x, const Tensor& running_mean, const Tensor& running_var, const Variable& weight,
                    const Variable& bias, bool training, float momentum, float eps) {
  if (!x.defined()) throw std::invalid_argument("batch_norm: input is undefined");
  if (x.dim() < 2)
    throw std::invalid_argument(fmt::format(
        "batch_norm: expected input [N, C] or [N, C, L] or [N, C, H, W], got {}", shape_str(x.shape())));
  const Shape& shape = x.shape();
  check_per_channel(running_mean.shape(), running_mean.defined(), shape, "running_mean", training);
  check_per_channel(running_var.shape(), running_var.defined(), shape, "running_var", training);
  if (running_mean.defined() != running_var.defined())
    throw std::invalid_argument("batch_norm: expected both running_mean and running_var, or neither");
  check_per_channel(weight.defined() ? weight.shape() : Shape{}, weight.defined(), shape, "weight", true);
  check_per_channel(bias.defined() ? bias.shape() : Shape{}, bias.defined(), shape, "bias", true);
  if (!(eps >= 0.f)) throw std::invalid_argument(fmt::format("batch_norm: eps must be >= 0, got {}", eps));

  const int64_t count = shape[1] > 0 ? x.numel() / shape[1] : 0;  // values per channel
  Tensor mean, inv_std;
  if (training) {
    if (count <= 1)
      throw std::invalid_argument(fmt::format(
          "batch_norm: expected more than 1 value per channel when training, got input {}", shape_str(shape)));
    Tensor var;
    std::tie(mean, var) = batch_norm_statistics(x.data());
    inv_std = batch_norm_inv_std(var, eps);
    // Bookkeeping, not part of what is differentiated: the running estimates see the unbiased variance.
    if (running_mean.defined()) {
      Tensor rm_buffer = running_mean, rv_buffer = running_var;  // copies share storage: the caller's buffers
      update_running_stats_(rm_buffer, rv_buffer, mean, var, count, momentum);
    }
  } else {
    mean = running_mean.clone();  // the values at this call, even if the buffers change before backward
    inv_std = batch_norm_inv_std(running_var, eps);
  }
  Tensor y = batch_norm_forward(x.data(), mean, inv_std, weight.defined() ? weight.data() : Tensor(),
                                bias.defined() ? bias.data() : Tensor());

  return record_op("batch_norm", y, inputs_given(x, weight, bias), [=](const Variable& g, const Variable&, const BackwardContext& ctx) {
    Grads grads;
    if (ctx.create_graph) {
      grads = batch_norm_grads_differentiable(g, x, weight, mean, inv_std, training, eps);
    } else {
      BatchNormGrads k = batch_norm_backward(g.data(), x.data(), mean, inv_std,
                                             weight.defined() ? weight.data() : Tensor(), training);
      grads = Grads{Variable(k.dx), Variable(k.dweight), Variable(k.dbias)};
    }
    return grads_of_inputs_given(grads, weight, bias);
  });
}

// group_norm's gradients written with differentiable ops (for create_graph): batch_norm's training formulas with
// the means taken over each sample's group, x viewed as [N, G, M]; the group statistics computed again from x so
// that their dependence on x is part of the graph.
static Grads group_norm_grads_differentiable(const Variable& g, const Variable& x, int64_t num_groups,
                                             const Variable& weight, float eps) {
  const Shape& shape = x.shape();
  const Shape grouped{shape[0], num_groups, -1};
  const Variable xg = reshape(x, grouped);
  const Variable centered = xg - mean(xg, {2}, /*keepdim=*/true);
  const Variable inv_sd = pow(mean(square(centered), {2}, /*keepdim=*/true) + eps, -0.5f);
  const Variable xhat = centered * inv_sd;                                        // [N, G, M]
  const Variable gw = reshape(weight.defined() ? g * reshape(weight, channel_shape(shape)) : g, grouped);
  const Variable dx = inv_sd * (gw - mean(gw, {2}, true) - xhat * mean(gw * xhat, {2}, true));
  const Axes axes = statistics_axes(x.dim());
  return Grads{reshape(dx, shape), sum(g * reshape(xhat, shape), axes), sum(g, axes)};
}

// Forward: y = (x - mean_g) * inv_std_g * weight + bias, inv_std_g = 1 / sqrt(var_g + eps), per sample and group.
// Backward (xhat = (x - mean_g) * inv_std_g, gw = g * weight, means over each group's values):
//   dx = inv_std_g * (gw - mean(gw) - xhat * mean(gw * xhat))
//   dweight = sum(g * xhat), dbias = sum(g)   (over every axis but the channels)
Variable group_norm(const Variable& x, int64_t num_groups, const Variable& weight, const Variable& bias, float eps) {
  if (!x.defined()) throw std::invalid_argument("group_norm: input is undefined");
  if (x.dim() < 2)
    throw std::invalid_argument(fmt::format("group_norm: expected input [N, C, *], got {}", shape_str(x.shape())));
  const Shape& shape = x.shape();
  if (num_groups <= 0 || shape[1] % num_groups != 0)
    throw std::invalid_argument(fmt::format("group_norm: expected the {} channels of input {} to split into "
                                            "num_groups = {} equal groups",
                                            shape[1], shape_str(shape), num_groups));
  const auto check = [&](const Variable& v, const char* what) {
    if (v.defined() && v.shape() != Shape{shape[1]})
      throw std::invalid_argument(fmt::format("group_norm: {} must have shape [{}] (one value per channel of input "
                                              "{}), got {}",
                                              what, shape[1], shape_str(shape), shape_str(v.shape())));
  };
  check(weight, "weight");
  check(bias, "bias");
  Tensor mean, inv_std;  // [N, G]; not a structured binding: the rule's lambda captures them (clang 14)
  std::tie(mean, inv_std) = group_norm_statistics(x.data(), num_groups, eps);
  Tensor y = group_norm_forward(x.data(), mean, inv_std, weight.defined() ? weight.data() : Tensor(),
                                bias.defined() ? bias.data() : Tensor());

  return record_op("group_norm", y, inputs_given(x, weight, bias), [=](const Variable& g, const Variable&, const BackwardContext& ctx) {
    Grads grads;
    if (ctx.create_graph) {
      grads = group_norm_grads_differentiable(g, x, num_groups, weight, eps);
    } else {
      GroupNormGrads k = group_norm_backward(g.data(), x.data(), mean, inv_std,
                                             weight.defined() ? weight.data() : Tensor());
      grads = Grads{Variable(k.dx), Variable(k.dweight), Variable(k.dbias)};
    }
    return grads_of_inputs_given(grads, weight, bias);
  });
}

}  // namespace hd
