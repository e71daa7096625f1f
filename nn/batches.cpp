#include "nn/batches.h"

#include <fmt/format.h>

#include <stdexcept>

namespace hd {

Tensor map_batches(Module& model, const Tensor& inputs, int64_t batch, const std::function<Tensor(const Tensor&)>& f) {
  if (!inputs.defined() || inputs.dim() == 0 || inputs.size(0) == 0)
    throw std::invalid_argument("map_batches: expected a non-empty batch of inputs [N, ...]");
  if (batch < 1) throw std::invalid_argument(fmt::format("map_batches: batch must be >= 1, got {}", batch));
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(model);
  const int64_t n = inputs.size(0);
  Tensor out;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(n, begin + batch);
    const Tensor part = f(inputs.narrow0(begin, end));
    if (!out.defined()) {
      Shape shape = part.shape();
      if (shape.empty() || shape[0] != end - begin)
        throw std::invalid_argument(fmt::format("map_batches: f must return one row per input, got {} for {} inputs",
                                                shape_str(shape), end - begin));
      shape[0] = n;
      out = Tensor(shape);
    }
    out.narrow0(begin, end).copy_(part);
  }
  return out;
}

}  // namespace hd
