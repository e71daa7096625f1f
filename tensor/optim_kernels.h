// optim_kernels.h — Adam's fused update loop on raw float arrays, the one optimizer loop hot enough to need a
// kernel (nn/optim.cpp shows the rule itself; SGD's loop is short and stays there). It comes twice:
//   adam_update_reference  one element after another with the rule's branches as written: what tests trust;
//   adam_update            the same per-element function with the branches hoisted out of the loop, so the
//                          compiler vectorises it, split into blocks across threads.
// The two give the same floats bit for bit (tests/test_optim.cpp checks it), whatever the thread count,
// because every element is computed by the same expression in the same order.
#pragma once

#include <cstdint>

namespace hd {

// The scalars of one Adam/AdamW step on one parameter at its step t (counted from 1).
struct AdamScalars {
  float beta1, one_minus_beta1;  // 1 - beta1 computed in double, as PyTorch does
  float beta2, one_minus_beta2;
  float eps;
  float weight_decay;            // Adam (L2): g += weight_decay * p
  float shrink;                  // AdamW (decoupled): p *= 1 - lr * weight_decay
  bool decoupled;
  float step_size;               // lr / (1 - beta1^t)
  float bias_correction2_sqrt;   // sqrt(1 - beta2^t)
};

// For j in [0, n):
//   decoupled ? p *= shrink : g += weight_decay * p
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   p += -step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamScalars& s);
void adam_update_reference(float* p, const float* g, float* m, float* v, int64_t n, const AdamScalars& s);

}  // namespace hd
