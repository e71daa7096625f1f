// normalization.h — batch normalisation kernels (Ioffe & Szegedy 2015), no gradients: the
// differentiable op built on them is autograd/normalization.h.
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

}  // namespace hd
