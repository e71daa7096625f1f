// normalization.h — batch normalisation (Ioffe & Szegedy 2015) and group normalisation (Wu & He 2018) kernels,
// no gradients: the differentiable ops built on them are in autograd/normalization.h.
//
// x: [N, C] or [N, C, L] or [N, C, H, W] is read as N*C contiguous "planes" of S values
// (S = L, H*W, or 1); channel c owns planes c, C + c, 2C + c, ... and its statistics are taken over
// those N*S values. Every kernel works channel by channel, so channels are shared out among threads.
#pragma once

#include <cstdint>
#include <utility>

#include "tensor/tensor.h"

namespace hd {

// x: [N, C, *] -> {mean [C], biased variance [C]} (the variance divides by N*S, not N*S - 1).
std::pair<Tensor, Tensor> batch_norm_statistics(const Tensor& x);

// y = (x - mean[c]) * inv_std[c] * weight[c] + bias[c]. x: [N, C, *]; mean, inv_std: [C];
// weight, bias: [C] or undefined (then 1 and 0) -> [N, C, *].
Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& weight,
                          const Tensor& bias);

// 1 / sqrt(var + eps) per channel: var [C] (a batch's biased variance, or the running one) -> [C].
Tensor batch_norm_inv_std(const Tensor& var, float eps);

// The running estimates BatchNorm keeps for evaluation (PyTorch's running_mean and running_var buffers), moved
// towards one training batch's statistics, as torch.nn.functional.batch_norm moves them:
//   running_mean = (1 - momentum) * running_mean + momentum * batch_mean
//   running_var  = (1 - momentum) * running_var  + momentum * batch_var * n / (n - 1)
// batch_mean, batch_var: [C] from batch_norm_statistics, the variance biased (over n = `count` values per
// channel); the running variance takes the unbiased one (Bessel's correction n / (n - 1)), so count > 1.
// running_mean, running_var: [C], updated in place.
void update_running_stats_(Tensor& running_mean, Tensor& running_var, const Tensor& batch_mean,
                           const Tensor& batch_var, int64_t count, float momentum);

struct BatchNormGrads {
  Tensor dx;       // [N, C, *]
  Tensor dweight;  // [C]: sum of g * xhat
  Tensor dbias;    // [C]: sum of g
};

// The gradients of batch_norm_forward given g = dL/dy: [N, C, *]. With xhat = (x - mean) * inv_std,
// gw = g * weight and means over each channel's N*S values:
//   batch_statistics (training, mean and inv_std computed from this x):
//     dx = inv_std * (gw - mean(gw) - xhat * mean(gw * xhat))
//   otherwise (evaluation, running statistics are constants):
//     dx = inv_std * gw
//   dweight = sum(g * xhat), dbias = sum(g) in both cases.
BatchNormGrads batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& inv_std,
                                   const Tensor& weight, bool batch_statistics);

// --- group normalisation (Wu & He 2018) ---
//
// x: [N, C, *] is read as N*G contiguous groups: group (n, g) holds channels g*C/G .. (g+1)*C/G - 1 of sample n,
// M = (C/G) * S values side by side (S = the product of the axes after C). Each group has its own mean and
// biased variance; weight and bias are per channel, as torch.nn.functional.group_norm. Groups are shared out
// among threads; the sums within a group add up in double, as batch norm's do.

// x: [N, C, *] -> {mean [N, G], inv_std [N, G]}, inv_std = 1 / sqrt(var + eps), var the biased variance.
std::pair<Tensor, Tensor> group_norm_statistics(const Tensor& x, int64_t num_groups, float eps);

// y = (x - mean[n, g]) * inv_std[n, g] * weight[c] + bias[c], g = c / (C/G). x: [N, C, *]; mean, inv_std: [N, G];
// weight, bias: [C] or undefined (1 and 0) -> [N, C, *].
Tensor group_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& weight,
                          const Tensor& bias);

struct GroupNormGrads {
  Tensor dx;       // [N, C, *]
  Tensor dweight;  // [C]: sum over n and * of g * xhat
  Tensor dbias;    // [C]: sum over n and * of g
};

// The gradients of group_norm_forward given g = dL/dy: [N, C, *]. With xhat = (x - mean) * inv_std,
// gw = g * weight[c] and means over each group's M values:
//   dx = inv_std * (gw - mean(gw) - xhat * mean(gw * xhat))   (the last two terms: the paths through the
//                                                               group's mean and variance)
//   dweight = sum(g * xhat), dbias = sum(g).
GroupNormGrads group_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& inv_std,
                                   const Tensor& weight);

}  // namespace hd
