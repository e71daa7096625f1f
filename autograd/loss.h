// autograd/loss.h — loss functions (torch.nn.functional names and semantics).
//
// `reduction` as in PyTorch: Mean averages over every element (over the batch for
// cross_entropy / nll_loss), Sum adds them, None returns the per-element losses.
#pragma once

#include "autograd/variable.h"

namespace hd {

enum class Reduction { Mean, Sum, None };

// (input - target)^2
Variable mse_loss(const Variable& input, const Variable& target, Reduction reduction = Reduction::Mean);
// |input - target|
Variable l1_loss(const Variable& input, const Variable& target, Reduction reduction = Reduction::Mean);
// -(y log p + (1 - y) log(1 - p)) for probabilities p; the logs are clamped at -100 as in PyTorch.
Variable binary_cross_entropy(const Variable& p, const Variable& target, Reduction reduction = Reduction::Mean);
// The same from logits x (p = sigmoid(x)), computed as max(x, 0) - x y + log(1 + e^-|x|), which
// never overflows; d/dx = sigmoid(x) - y.
Variable binary_cross_entropy_with_logits(const Variable& logits, const Variable& target,
                                          Reduction reduction = Reduction::Mean);
// -log_probs[i, target_i]: log_probs: [N, C], target: [N] class indices (integer-valued floats).
Variable nll_loss(const Variable& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
// nll_loss(log_softmax(logits)): logits: [N, C], target: [N].
Variable cross_entropy(const Variable& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
// KL( N(mu, e^logvar) || N(0, 1) ) = -1/2 (1 + logvar - mu^2 - e^logvar), per element before reduction.
// The VAE's regulariser; Mean averages over all elements, Sum adds them.
Variable gaussian_kl(const Variable& mu, const Variable& logvar, Reduction reduction = Reduction::Sum);

// Applies a Reduction to per-element losses.
Variable reduce(const Variable& losses, Reduction reduction);

}  // namespace hd
