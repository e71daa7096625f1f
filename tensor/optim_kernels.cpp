// optim_kernels.cpp — see optim_kernels.h. Built with -fno-math-errno (Makefile), so the compiler turns
// std::sqrt into the vector square-root instruction (correctly rounded, as the scalar one); without that flag
// it must call libm once per element, in case it sets errno, and the loop runs 5x slower.
#include "tensor/optim_kernels.h"

#include <algorithm>
#include <cmath>

namespace hd {

// Below this many elements, starting threads costs more than the loop itself.
static constexpr int64_t kParallelThreshold = 1 << 15;
// Threads take whole blocks, so each element is in exactly one thread's loop.
static constexpr int64_t kBlock = 4096;

// One element of Adam, the whole rule. `decoupled` and `l2` are passed as constants by adam_range's loops
// (the branch then vanishes from each loop) and as runtime values by the reference.
static inline void adam_element(float* p, const float* g, float* m, float* v, int64_t j, const AdamScalars& s,
                                bool decoupled, bool l2) {
  float pj = p[j], gj = g[j];
  if (decoupled) pj = pj * s.shrink;          // AdamW: weight decay on the parameter itself
  if (l2) gj = gj + s.weight_decay * pj;      // Adam: weight decay as an L2 term in the gradient
  const float mj = m[j] * s.beta1 + s.one_minus_beta1 * gj;
  const float vj = v[j] * s.beta2 + s.one_minus_beta2 * gj * gj;
  const float denom = std::sqrt(vj) / s.bias_correction2_sqrt + s.eps;
  m[j] = mj;
  v[j] = vj;
  p[j] = pj + (-s.step_size * mj) / denom;
}

void adam_update_reference(float* p, const float* g, float* m, float* v, int64_t n, const AdamScalars& s) {
  for (int64_t j = 0; j < n; ++j)
    adam_element(p, g, m, v, j, s, s.decoupled, !s.decoupled && s.weight_decay != 0.f);
}

// Elements [begin, end), one branch-free loop per kind of weight decay.
// `s` by value: a copy the stores to p, m, v cannot alias, so its fields stay in registers.
static void adam_range(float* p, const float* g, float* m, float* v, int64_t begin, int64_t end,
                       const AdamScalars s) {
  if (s.decoupled) {
    for (int64_t j = begin; j < end; ++j) adam_element(p, g, m, v, j, s, true, false);
  } else if (s.weight_decay != 0.f) {
    for (int64_t j = begin; j < end; ++j) adam_element(p, g, m, v, j, s, false, true);
  } else {
    for (int64_t j = begin; j < end; ++j) adam_element(p, g, m, v, j, s, false, false);
  }
}

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamScalars& s) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (int64_t b = 0; b < blocks; ++b) adam_range(p, g, m, v, b * kBlock, std::min(n, (b + 1) * kBlock), s);
}

}  // namespace hd
