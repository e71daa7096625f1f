// autograd/normalization.h — batch normalisation (Ioffe & Szegedy 2015) and group normalisation (Wu & He 2018),
// each one differentiable op with torch.nn.functional's arguments and semantics.
//
// batch_norm:
//   training:   y = (x - mean_B) / sqrt(var_B + eps) * weight + bias
//               mean_B, var_B: the batch's per-channel mean and biased variance (over every axis but 1).
//               The running statistics, when given, move towards the batch's (the variance unbiased,
//               var_B * n / (n - 1)):  running = (1 - momentum) * running + momentum * batch.
//   evaluation: the same map with running_mean and running_var in place of the batch's statistics,
//               an affine map per channel.
// group_norm:   y = (x - mean_g) / sqrt(var_g + eps) * weight + bias
//               mean_g, var_g: the mean and biased variance of one sample's group of C / num_groups channels
//               (over those channels and every spatial axis). The same in training and evaluation, and
//               independent of the batch: what a diffusion U-Net needs, whose batches mix every noise level.
#pragma once

#include "autograd/variable.h"

namespace hd {

// x: [N, C] or [N, C, L] or [N, C, H, W] (any [N, C, *]) -> same shape.
// running_mean, running_var: [C], updated in place when training; undefined to keep no running statistics
// (then training must be true). weight, bias: [C] or undefined (scale 1, shift 0).
Variable batch_norm(const Variable& x, const Tensor& running_mean, const Tensor& running_var,
                    const Variable& weight = Variable(), const Variable& bias = Variable(), bool training = false,
                    float momentum = 0.1f, float eps = 1e-5f);

// x: [N, C, *] -> same shape, C divisible by num_groups. weight, bias: [C] or undefined (scale 1, shift 0).
Variable group_norm(const Variable& x, int64_t num_groups, const Variable& weight = Variable(),
                    const Variable& bias = Variable(), float eps = 1e-5f);

}  // namespace hd
