// loop.h — the training loop every model in hundun shares: epochs of steps over a DataLoader, a progress line,
// a check for divergence after every step, and a hook at the end of each epoch (test loss, checkpoint, pictures).
//
//   for epoch in first_epoch .. epochs-1:            (resuming: the loader's finished epochs are drawn and dropped,
//     for (x, y) in loader:                           so the shuffling goes on exactly as in an unbroken run)
//       losses = step(x, y)                          the model's own step: zero_grad, loss, backward, optimizer
//       stop if a loss or a gradient is not finite   (TrainingDiverged, before anything else is written)
//     end_of_epoch(epoch, mean losses, seconds)
//
// What differs between models is all in `step`: one optimizer for a VAE, a discriminator step then a generator
// step for a GAN (two optimizers), a denoising step followed by an EMA update for a diffusion model. The loop
// never saves by itself: end_of_epoch does, with save_checkpoint(path, parts, info) naming every network,
// optimizer and EMA the step uses (nn/checkpoint.h's CheckpointParts); a resumed run loads the same parts and
// sets first_epoch and steps_done from the CheckpointInfo.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "data/loader.h"
#include "nn/module.h"

namespace hd {

// A step's losses by name, each per example (e.g. {{"loss", 243.1}}, or {{"D", 0.62}, {"G", 1.93}}); the progress
// line shows each by its name.
using StepLosses = std::vector<std::pair<std::string, double>>;

struct EpochResult {
  int64_t epoch = 0;        // from 1
  StepLosses mean_losses;   // each loss averaged over the epoch's examples
  double seconds = 0;       // training time of the epoch alone
};

// A loss or a gradient that is NaN or infinite: training cannot recover from it, and saving it would overwrite a
// good checkpoint with a broken one. The message names the step, the loss and the first parameter (by its
// state_dict name) whose gradient is not finite.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& message, int64_t step) : std::runtime_error(message), step(step) {}
  int64_t step;  // counted over the whole run, from 1
};

struct TrainLoop {
  std::string label = "train";   // the progress line's first word
  bool show_progress = true;     // the progress line on stdout (benchmarks, whose stdout is JSON, turn it off)
  int64_t first_epoch = 0;       // epochs already done (--resume)
  int64_t epochs = 1;            // the run's total
  int64_t steps_done = 0;        // steps already done (--resume), so TrainingDiverged counts the whole run
  // Modules whose parameters' gradients are checked after every step (the networks the step trains).
  std::vector<Module*> watched;
  // One step on a batch x [B, ...] with labels y [B]; returns its losses.
  std::function<StepLosses(const Tensor& x, const Tensor& y)> step;
  // Optional: after every step, its losses (for a loss curve).
  std::function<void(const StepLosses& losses)> after_step;
  // Optional: after every epoch.
  std::function<void(const EpochResult& result)> end_of_epoch;
};

// Runs loop.epochs - loop.first_epoch epochs over `loader`. The watched modules are put in training mode at the
// start of each epoch (end_of_epoch may switch them to evaluation). Throws TrainingDiverged as above.
void run_training(const TrainLoop& loop, DataLoader& loader);

// For end_of_epoch: a test loss (`what`, e.g. "test loss") that is NaN or infinite stops the run like a training
// step's would — TrainingDiverged, before the epoch's checkpoint is written. `step` is the run's step count.
void stop_if_not_finite(const std::string& what, double value, int64_t epoch, int64_t step);

// The first parameter of `model` whose gradient holds a NaN or an infinity ("" when all are finite).
std::string first_non_finite_gradient(const Module& model);

}  // namespace hd
