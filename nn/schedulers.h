// schedulers.h — learning-rate schedules: how the optimizer's lr changes over training
// (torch.optim.lr_scheduler names and semantics).
//
// As in PyTorch, a scheduler counts epochs in last_epoch: construction reads the optimizer's lr as the
// base lr and sets the lr for epoch 0 (last_epoch = 0); each step() moves to the next epoch and sets its
// lr. Call it after optimizer.step(), once per epoch or once per batch, whichever the schedule counts:
//
//   Adam opt(model.parameters(), 1e-3);
//   WarmupCosine schedule(opt, /*warmup=*/500, /*total=*/20000, /*min_lr=*/1e-5);
//   for (...) { loss.backward(); opt.step(); opt.zero_grad(); schedule.step(); }
//
// Each schedule is a closed form lr(epoch), so resuming is just set_last_epoch(epoch) (checkpoints
// store the step; see nn/checkpoint.h). Values are computed in double, then rounded to the float lr.
#pragma once

#include <cstdint>

#include "nn/optim.h"

namespace hd {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Next epoch: last_epoch += 1 and the optimizer's lr becomes lr_at(last_epoch).
  void step();
  // Jumps to `epoch` (for resuming) and sets the optimizer's lr for it.
  void set_last_epoch(int64_t epoch);
  int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  float get_last_lr() const { return optimizer_.lr(); }

  // The schedule itself: the lr at any epoch >= 0.
  virtual double lr_at(int64_t epoch) const = 0;

 protected:
  // Reads the base lr from the optimizer. Derived constructors end with set_last_epoch(0), as
  // PyTorch's constructors end with their initial step (lr_at is virtual, so the base cannot).
  explicit LRScheduler(Optimizer& optimizer);

  Optimizer& optimizer_;
  double base_lr_;
  int64_t last_epoch_ = -1;
};

// lr = base_lr * gamma^floor(epoch / step_size): divided by 1/gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

  int64_t step_size;
  double gamma;
};

// SGDR's cosine without restarts (Loshchilov & Hutter 2017):
//   lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2
// from base_lr at epoch 0 down to eta_min at epoch T_max (and, like PyTorch's, back up after it).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;

  int64_t T_max;
  double eta_min;
};

// Linear warmup, then constant:  lr = base_lr * (epoch + 1) / (warmup + 1) while epoch < warmup,
// then base_lr. Starting small keeps Adam's first, poorly estimated steps from throwing the weights
// far; the + 1 keeps the very first step from having lr 0.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, int64_t warmup);
  double lr_at(int64_t epoch) const override;

  int64_t warmup;
};

// Linear warmup, then a cosine decay to min_lr at `total`, then min_lr (as nanoGPT's get_lr,
// the usual schedule for transformers and diffusion models):
//   epoch < warmup:          lr = base_lr * (epoch + 1) / (warmup + 1)
//   warmup <= epoch <= total: lr = min_lr + (base_lr - min_lr) (1 + cos(pi r)) / 2,  r = (epoch - warmup) / (total - warmup)
//   epoch > total:           lr = min_lr
class WarmupCosine : public LRScheduler {
 public:
  WarmupCosine(Optimizer& optimizer, int64_t warmup, int64_t total, double min_lr = 0.0);
  double lr_at(int64_t epoch) const override;

  int64_t warmup, total;
  double min_lr;
};

}  // namespace hd
