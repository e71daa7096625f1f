// batches.h — running a trained model over many images without a graph, a batch at a time (evaluation, pictures,
// the judge's features): memory stays that of one batch, and the model is in evaluation mode meanwhile.
#pragma once

#include <cstdint>
#include <functional>

#include "nn/module.h"

namespace hd {

// Switches a module to evaluation mode and back to its previous mode when the scope ends.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Module& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Module& model_;
  bool was_training_;
};

// Applies `f` to consecutive slices of at most `batch` rows of inputs [N, ...] — without a graph, with `model` in
// evaluation mode — and stacks the results [b, ...] into [N, ...].
Tensor map_batches(Module& model, const Tensor& inputs, int64_t batch, const std::function<Tensor(const Tensor&)>& f);

}  // namespace hd
