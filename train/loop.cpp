#include "train/loop.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "report/progress.h"

namespace hd {

std::string first_non_finite_gradient(const Module& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    const Variable g = p.grad();
    if (!g.defined()) continue;
    const float* d = g.data().data();
    const int64_t n = g.numel();
    bool finite = true;
    for (int64_t i = 0; i < n; ++i) finite &= std::isfinite(d[i]);  // no early exit: vectorises
    if (!finite) return name;
  }
  return "";
}

// After step `step` of the run: stops it when a loss or a gradient is not finite.
static void check_finite(const TrainLoop& loop, const StepLosses& losses, int64_t step, int64_t epoch) {
  std::string bad_loss;
  for (const auto& [name, value] : losses)
    if (bad_loss.empty() && !std::isfinite(value))
      bad_loss = name == "loss" ? fmt::format("the loss is {}", value) : fmt::format("the loss '{}' is {}", name, value);
  std::string bad_gradient;
  for (const Module* m : loop.watched)
    if (bad_gradient.empty()) bad_gradient = first_non_finite_gradient(*m);
  if (bad_loss.empty() && bad_gradient.empty()) return;
  std::string what = bad_loss.empty() ? "the losses are finite" : bad_loss;
  what += bad_gradient.empty() ? ", every gradient finite" : ", the first non-finite gradient is " + bad_gradient + "'s";
  // Epochs are counted from 1 here, as the progress line shows them.
  const std::string kept = epoch > 1 ? fmt::format("; what epoch {} saved is kept", epoch - 1) : "";
  throw TrainingDiverged(fmt::format("training diverged at step {} (epoch {}): {}. Nothing of epoch {} was saved{}. "
                                     "A smaller learning rate usually helps",
                                     step, epoch, what, epoch, kept),
                         step);
}

void stop_if_not_finite(const std::string& what, double value, int64_t epoch, int64_t step) {
  if (std::isfinite(value)) return;
  const std::string kept = epoch > 1 ? fmt::format("; what epoch {} saved is kept", epoch - 1) : "";
  throw TrainingDiverged(
      fmt::format("training diverged: the {} after epoch {} is {}. Nothing of epoch {} was saved{}. A smaller "
                  "learning rate usually helps",
                  what, epoch, value, epoch, kept),
      step);
}

void run_training(const TrainLoop& loop, DataLoader& loader) {
  if (!loop.step) throw std::invalid_argument("run_training: the loop has no step function");
  for (int64_t e = 0; e < loop.first_epoch; ++e) loader.start_epoch();  // the finished epochs' orders
  int64_t step_of_run = loop.steps_done;
  for (int64_t epoch = loop.first_epoch; epoch < loop.epochs; ++epoch) {
    std::optional<Progress> progress;
    if (loop.show_progress) {
      progress.emplace(loop.label, loader.num_batches(), static_cast<int>(loop.epochs));
      progress->set_epoch(static_cast<int>(epoch));
    }
    const auto start = std::chrono::steady_clock::now();
    for (Module* m : loop.watched) m->train();
    loader.start_epoch();
    StepLosses sums;
    int64_t examples = 0;
    Tensor x, y;
    for (int64_t step = 0; loader.next(x, y); ++step) {
      const StepLosses losses = loop.step(x, y);
      ++step_of_run;
      check_finite(loop, losses, step_of_run, epoch + 1);
      if (sums.empty()) sums = StepLosses(losses.size(), {"", 0.0});
      for (size_t i = 0; i < losses.size() && i < sums.size(); ++i) {
        sums[i].first = losses[i].first;
        sums[i].second += losses[i].second * static_cast<double>(x.size(0));
      }
      examples += x.size(0);
      if (loop.after_step) loop.after_step(losses);
      if (progress) progress->update(step, losses, x.size(0));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) progress->finish();
    EpochResult result{epoch + 1, sums, seconds};
    for (auto& [name, sum] : result.mean_losses) sum /= static_cast<double>(examples > 0 ? examples : 1);
    if (loop.end_of_epoch) loop.end_of_epoch(result);
  }
}

}  // namespace hd
