// ema.h — an exponential moving average of a model's weights (Polyak averaging).
//
// Diffusion models and GANs sample from the averaged weights rather than the latest ones: the average
// smooths out the noise of the last optimizer steps. After each optimizer step:
//   shadow = decay * shadow + (1 - decay) * param        (decay close to 1, e.g. 0.999)
// so the shadow weights average roughly the last 1 / (1 - decay) steps. Buffers (BatchNorm's running
// statistics) are not averaged: the shadow copies them as they are.
//
//   EMA ema(model, 0.999);
//   for (...) { ...; optimizer.step(); ema.update(model); }
//   ema.copy_to(sampling_model);   // a second instance of the same architecture
#pragma once

#include <map>
#include <set>
#include <string>

#include "nn/module.h"

namespace hd {

class EMA {
 public:
  // Starts the shadow as a copy of the model's parameters and buffers.
  EMA(const Module& model, float decay);

  // One averaging step, from a model with the same names and shapes (throws naming the first that differs).
  void update(const Module& model);
  // The same with another decay for this step alone (a warm-up: a small decay while the shadow is young).
  void update(const Module& model, float decay);
  // Writes the shadow weights into `model` (same names and shapes).
  void copy_to(Module& model) const;

  float decay() const { return decay_; }
  int64_t num_updates() const { return num_updates_; }

  // The shadow weights by the model's names (shared, not copied): what a checkpoint stores.
  std::map<std::string, Tensor> state_dict() const { return shadow_; }
  // Copies them in; the names and shapes must be exactly the shadow's (throws naming the first mismatch,
  // changing nothing).
  void load_state_dict(const std::map<std::string, Tensor>& state);
  // The same check alone.
  void check_state_dict(const std::map<std::string, Tensor>& state) const;

 private:
  // `model`'s state_dict, checked to have exactly the shadow's names and shapes; `op` names the caller.
  std::map<std::string, Tensor> matching_state(const Module& model, const char* op) const;

  float decay_;
  int64_t num_updates_ = 0;
  std::map<std::string, Tensor> shadow_;  // name -> averaged parameter, or copied buffer
  std::set<std::string> buffers_;         // which names are buffers
};

}  // namespace hd
